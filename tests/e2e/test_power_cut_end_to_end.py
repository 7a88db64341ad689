# A power cut during the first acknowledgement write must not brick the device: the firmware on
# the unix port, killed (SIGKILL) after spool.ack was opened and before its first byte (or, as an
# older firmware left it, with a torn spool.ack.tmp), starts again, says so in one line and
# delivers every reading to the local DynamoDB.
import os
import re
import shutil
import subprocess

import pytest

import unixport
from local.localddb import LocalDynamoDB, free_port

RECOVERED = (
    "spool: spool.ack was torn (a write cut by power loss): treating nothing as acknowledged; "
    "already-sent readings may be sent again (harmless: same key)"
)


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("localddb"))).start().provision()
    yield server
    server.stop()


def configure(ddb, folder, device_id, **config):
    config.setdefault("extra", "DELIVERY_TIMEOUT_S = 3\n")
    ddb.write_config(str(folder), device_id=device_id, readings=3, interval_s=0, **config)
    return os.path.realpath(os.path.join(str(folder), "state"))


def seqs(ddb, device_id):
    return sorted(int(item["seq"]["N"]) for item in ddb.readings(device_id))


def assert_recovers(ddb, folder, device_id):
    """The next start says so once, delivers everything and exits 0; the one after is clean."""
    result = unixport.run_firmware(str(folder), timeout=120)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count(RECOVERED) == 1, result.stdout
    assert "state error" not in result.stdout
    assert seqs(ddb, device_id) == [1, 2, 3]
    result = unixport.run_firmware(str(folder), timeout=120)
    assert result.returncode == 0 and RECOVERED not in result.stdout, result.stdout
    assert "all 3 readings were delivered before" in result.stdout


@pytest.mark.parametrize(
    "ack_tmp, ack",
    [
        (b"", None),  # cut after spool.ack.tmp was created, before its first byte: the reported brick
        (b"3", None),  # cut in the middle of the write
        (None, b""),  # what an older firmware's start left: the empty .tmp renamed into place
    ],
    ids=["empty-tmp", "half-tmp", "empty-ack"],
)
def test_torn_first_ack_does_not_strand_the_readings(ddb, tmp_path, ack_tmp, ack):
    device_id = "e2e-cut-%s-%s" % ("tmp" if ack is None else "ack", len(ack_tmp or b""))
    state = configure(ddb, tmp_path, device_id, host="127.0.0.1:%d" % free_port())
    result = unixport.run_firmware(str(tmp_path), timeout=120)  # nowhere to send: all 3 stay spooled
    assert result.returncode == 1 and "3 reading(s) kept in the spool" in result.stdout, result.stdout
    assert not os.path.exists(os.path.join(state, "spool.ack"))
    for name, data in (("spool.ack.tmp", ack_tmp), ("spool.ack", ack)):
        if data is not None:
            with open(os.path.join(state, name), "wb") as f:
                f.write(data)
    configure(ddb, tmp_path, device_id)
    assert_recovers(ddb, tmp_path, device_id)


def test_sigkill_at_the_first_ack_write(ddb, tmp_path):
    """The real thing: strace kills the firmware on its first write to spool.ack (written in place)."""
    strace = shutil.which("strace")
    if not strace or subprocess.run([strace, "-qq", "-o", os.devnull, "true"]).returncode != 0:
        pytest.skip("strace (with ptrace allowed) is needed to kill at a chosen write")
    device_id = "e2e-cut-sigkill"
    state = configure(ddb, tmp_path, device_id)
    ack = os.path.join(state, "spool.ack")
    argv, env, cwd = unixport.firmware(str(tmp_path))
    kill = "write:error=EIO:signal=SIGKILL:when=1"  # the write never happens, the process dies
    trace = [strace, "-f", "-qq", "-o", str(tmp_path / "strace.log"), "-P", ack, "-e", "trace=write"]
    result = subprocess.run(
        trace + ["-e", "inject=" + kill] + argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert result.returncode in (-9, 137), result.stdout
    assert re.search(r"^delivered seq=1 ", result.stdout, re.M), result.stdout
    assert os.path.getsize(ack) == 0 and not os.path.exists(os.path.join(state, "spool.ack.1"))
    assert_recovers(ddb, tmp_path, device_id)
