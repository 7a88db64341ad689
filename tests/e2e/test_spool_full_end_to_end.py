# A full flash on the unix port: the spool's files (spool.dat and the small files in new/) are
# links to /dev/full, where every write fails with ENOSPC (errno 28, which MicroPython's errno
# cannot name). The firmware says the storage is full, in words, and once space is freed every
# reading it took arrives, with its seq.
import os

import pytest

import unixport
from iotsv_spoolrecord import PARTS, SLOTS
from local.localddb import LocalDynamoDB


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("localddb"))).start().provision()
    yield server
    server.stop()


def run(ddb, folder, readings):
    ddb.write_config(folder, device_id="e2e-full", readings=readings, interval_s=0, extra="DELIVERY_TIMEOUT_S = 5\n")
    result = unixport.run_firmware(folder, timeout=60)
    return result.returncode, result.stdout


def test_full_flash_is_named_and_no_taken_reading_is_lost(ddb, tmp_path):
    folder = str(tmp_path)
    state = os.path.join(folder, "state")
    code, out = run(ddb, folder, 2)  # seq 1-2 delivered, acknowledged
    assert code == 0, out
    spool = [os.path.join(state, "spool.dat")]
    spool += [os.path.join(state, "new", "%d.%d" % (i, p)) for i in range(SLOTS) for p in range(PARTS)]
    for path in spool:  # the flash fills up
        if os.path.lexists(path):
            os.remove(path)
        os.symlink("/dev/full", path)
    code, out = run(ddb, folder, 4)
    assert code == 1, out
    last = out.strip().splitlines()[-1]
    assert last == "error: STATE_DIR %s: cannot write the spool: no space left on the device (ENOSPC)" % state, out
    for path in spool:  # space freed
        os.remove(path)
    code, out = run(ddb, folder, 4)
    assert code == 0, out
    items = ddb.readings("e2e-full")
    assert sorted(int(i["seq"]["N"]) for i in items) == [1, 2, 3, 4], out
