# The host tools against the local DynamoDB: provisioning a device folder (and a table), putting
# JSON lines into a table with a report of what was refused, and plotting a device's readings.
import json
import os
import subprocess
import sys

import pytest

import certs
import unixport
from localddb import ROOT, LocalDynamoDB
from settings import load

TOOLS = os.path.join(ROOT, "tools")


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("hosttools"))).start().provision()
    yield server
    server.stop()


def tool(name, args, key, stdin=None):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run(
        [sys.executable, os.path.join(TOOLS, name)] + args,
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def conn_args(ddb):
    return ["--endpoint", ddb.endpoint, "--ca", ddb.ca_pem, "--region", ddb.region]


def test_provision_writes_a_folder_the_firmware_runs_from(ddb, tmp_path):
    folder = str(tmp_path / "d1")
    device = [folder, "--device-id", "prov-1", "--table", "made-by-provision", "--host", "localhost:%d" % ddb.port]
    device += ["--ca", ddb.ca_pem]
    r = tool("provision.py", device + ["--readings", "3", "--interval", "0", "--create-table"] + conn_args(ddb),
             ddb.admin_key)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "table made-by-provision created" in r.stdout and ddb.admin_key[1] not in r.stdout
    assert sorted(os.listdir(folder)) == ["ca.der", "config.py"]
    assert oct(os.stat(os.path.join(folder, "config.py")).st_mode & 0o777) == "0o600"
    with open(os.path.join(folder, "ca.der"), "rb") as f:
        assert f.read(1) == b"\x30"
    # the device writes with the admin key here (the table is new); the firmware runs as is
    out = unixport.run_firmware(folder, timeout=60).stdout
    assert "done: 3 readings delivered" in out, out
    again = tool("provision.py", device + ["--create-table"] + conn_args(ddb), ddb.admin_key)
    assert "exists already" in again.stdout


def test_provision_for_iot_copies_the_device_certificate_in_der(ddb, tmp_path):
    pki = os.path.join(ddb.workdir, "pki")
    cert_pem, _, key_pem, _ = certs.make_client_cert(pki, ddb.ca_pem, os.path.join(pki, "ca.key"), "prov", "thing-9")
    folder = str(tmp_path / "d2")
    r = tool(
        "provision.py",
        [
            folder,
            "--device-id",
            "thing-9",
            "--table",
            "readings",
            "--region",
            "eu-west-1",
            "--ca",
            ddb.ca_pem,
            "--iot",
            "--iot-host",
            "c1.credentials.iot.eu-west-1.amazonaws.com",
            "--role-alias",
            "sensors",
            "--cert",
            cert_pem,
            "--key",
            key_pem,
        ],
        ("", ""),
    )
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(folder)) == ["ca.der", "config.py", "device.der", "device.key.der"]
    config = {}
    exec(open(os.path.join(folder, "config.py")).read(), config)
    assert config["CREDENTIALS"] == "iot" and "AWS_SECRET_KEY" not in config
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        s = load(type("Cfg", (), config))
    finally:
        os.chdir(cwd)
    assert s.IOT_THING_NAME == "thing-9" and s.device_cert[0] == 0x30 and s.device_key[0] == 0x30


def test_json_lines_are_put_and_refusals_reported(ddb, tmp_path):
    lines = [
        json.dumps({"deviceId": "import-1", "seq": i, "ts": 1795412461 + i, "t": 20 + i / 10}) for i in range(1, 61)
    ]
    lines[9] = '{"deviceId": "import-1", "ts": 1}'  # no seq: DynamoDB refuses the key
    lines[19] = "not json"
    lines[29] = '{"deviceId": "import-1", "seq": 30, "t": NaN}'
    lines[39] = "[1, 2]"
    r = tool("json2ddb.py", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin="\n".join(lines) + "\n")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout.splitlines()
    assert out[-1] == "56 written, 4 refused"
    assert any(line.startswith("line 10: refused: ValidationException (HTTP 400): ") for line in out), out
    assert "line 20: refused: not JSON" in r.stdout and "line 40: refused: not a JSON object" in r.stdout
    assert "line 30: refused: t: nan cannot be stored as a DynamoDB number" in r.stdout
    seqs = sorted(int(i["seq"]["N"]) for i in ddb.readings("import-1"))
    assert seqs == [i for i in range(1, 61) if i not in (10, 20, 30, 40)]


def test_plot_draws_every_value_of_a_device(ddb, tmp_path):
    ddb.write_config(str(tmp_path / "dev"), device_id="plot-1", readings=12, interval_s=0)
    assert "done: 12 readings delivered" in unixport.run_firmware(str(tmp_path / "dev"), timeout=60).stdout
    png = str(tmp_path / "plot.png")
    r = tool(
        "plot_readings.py",
        ["--table", "readings", "--device", "plot-1", "--first-seq", "3", "--out", png] + conn_args(ddb),
        ddb.reader_key,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plot-1: 10 readings (seq 3..12)" in r.stdout and "plotted to" in r.stdout
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 10000
    none = tool(
        "plot_readings.py", ["--table", "readings", "--device", "nobody", "--out", png] + conn_args(ddb), ddb.reader_key
    )
    assert none.returncode == 1 and "no readings" in none.stdout
