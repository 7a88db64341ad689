# The boot stage (main.py, iotsv_boot.py, iotsv_versions.py) and the start's code leave the heap
# before the app's loop: between readings, on the unix port against the local DynamoDB, none of
# their modules is loaded and main.py's globals hold plain values, its start() and the
# supervisor's supervise alone (a function keeps its module's whole globals alive).
import json

import pytest

import unixport
from local.localddb import LocalDynamoDB

PROBE = """
import json, sys
import iotsv_board_unix

seen = []
sleep = iotsv_board_unix.Board.sleep_ms


def noted(self, ms):
    if not seen:
        main = sys.modules["main"].__dict__
        code = [name for name in main if type(main[name]).__name__ in ("function", "closure", "bound_method", "type")]
        seen.append({"modules": sorted(sys.modules), "code": sorted(code)})
    return sleep(self, ms)


iotsv_board_unix.Board.sleep_ms = noted
code = 0
try:
    import main
except SystemExit as e:
    code = e.args[0] if e.args else 0
print(json.dumps(seen[0] if seen else None))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("localddb"))).start().provision()
    yield server
    server.stop()


def test_nothing_of_the_boot_stage_stays_while_the_app_runs(ddb, tmp_path):
    folder = tmp_path / "device"
    ddb.write_config(str(folder), device_id="boot-stage", readings=3, interval_s=0.2)
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "running_mp.py").write_text(PROBE)
    r = unixport.run_firmware(str(folder), timeout=60, extra_path=[str(probe)], entry=(str(probe / "running_mp.py"),))
    assert r.returncode == 0 and "done: 3 readings delivered" in r.stdout, r.stdout[-3000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen is not None, r.stdout[-3000:]
    gone = {"iotsv_boot", "iotsv_versions", "iotsv_settings", "iotsv_appstart", "iotsv_wakestate"}
    assert gone.isdisjoint(seen["modules"]), seen["modules"]
    assert seen["code"] == ["start", "supervise"], seen["code"]
