# The ticks counter wraps (at 2**30 ms on a 32-bit build: after 12.4 days of a board's uptime):
# readings keep their schedule and deliveries their backoff across the wrap. The unix board starts
# its ticks just before the wrap (UNIX_TICKS_WRAP_IN_MS); the firmware runs on the 32-bit image,
# where a plain `due + interval` past the wrap became a big int that ticks_diff misread (every
# reading due at once), and on the 64-bit port.
import time

import pytest

import unixport
from local.localddb import LocalDynamoDB


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("wrap"))).start().provision()
    yield server
    server.stop()


@pytest.mark.parametrize("code", ["image", "source"])
def test_readings_keep_their_schedule_across_the_ticks_wrap(ddb, tmp_path, code):
    device = "wrap-" + code
    ddb.write_config(str(tmp_path), device_id=device, readings=8, interval_s=0.5)
    t0 = time.monotonic()
    r = unixport.run_firmware(str(tmp_path), code, env={"UNIX_TICKS_WRAP_IN_MS": "1200"}, timeout=60)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout
    assert sorted(int(i["seq"]["N"]) for i in ddb.readings(device)) == list(range(1, 9)), r.stdout
    assert 3.3 < took < 20, (took, r.stdout)  # 8 readings 0.5 s apart, not a burst after the wrap
