# Nothing lost: a short chaos run (faults, SIGKILLs, a clock two hours off) and a server outage.
import os
import re
import subprocess
import time

import pytest

import unixport
from lab import membudget
from lab.chaos import chaos
from local.chaosproxy import BROKEN, ChaosProxy
from local.localddb import LocalDynamoDB


@pytest.mark.parametrize("code", ["source", "image"])  # the image: 32-bit, single floats, as a board runs it
def test_short_chaos_run_loses_and_duplicates_nothing(tmp_path, code):
    lines = []
    r = chaos(400, 0.3, 4, 7200, str(tmp_path / "chaos"), seed=7, code=code, out=lines.append)
    report = "\n".join(lines)
    assert r["exit_code"] == 0 and r["code"] == code, report
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["missing"] == [], report
    assert r["delivered"] == 400 and r["kills"] == 4, report
    assert r["faults"]["clock_refusal"] >= 1, report  # the clock was off and got corrected
    assert sum(r["faults"].values()) - r["faults"]["clock_refusal"] >= 10, report


@pytest.mark.parametrize("code", ["source", "image"])
def test_broken_answers_never_lose_a_reading(tmp_path, code):
    # the image in its budget heap, as a board runs it; the source in the port's default heap
    heap = membudget.BUDGETS["image"] if code == "image" else None
    lines = []
    # readings 40 ms apart: batches of one and small batches, dozens of answers to break
    r = chaos(250, 0.5, 0, 0, str(tmp_path / "broken"), 3, 0.04, code=code, out=lines.append, kinds=BROKEN, heap=heap)
    report = "\n".join(lines)
    assert r["exit_code"] == 0 and r["runs"] == 1, report  # no crash, no restart
    assert r["lost"] == 0 and r["missing"] == [] and r["dead_lettered"] == 0, report
    assert r["delivered"] == 250, report
    made_up = ("ok_bad_unprocessed", "ok_error_body", "ok_html", "ok_empty", "conflicting_length", "junk_after")
    assert sum(r["faults"][k] for k in made_up) >= 3 and sum(r["faults"].values()) >= 10, report
    assert r["seconds"] < 240, report


@pytest.fixture
def outage_setup(tmp_path):
    ddb = LocalDynamoDB(str(tmp_path / "ddb")).start().provision()
    pki = os.path.join(ddb.workdir, "pki")
    proxy = ChaosProxy(
        ddb.port,
        ddb.ca_pem,
        os.path.join(pki, "server.pem"),
        os.path.join(pki, "server.key"),
        credentials=ddb.device_key,
    ).start()
    yield ddb, proxy
    proxy.stop()
    ddb.stop()


def test_readings_taken_while_the_server_is_down_for_a_minute_all_arrive(outage_setup, tmp_path):
    ddb, proxy = outage_setup
    folder = str(tmp_path / "device")
    ddb.write_config(
        folder,
        device_id="outage-1",
        readings=70,
        interval_s=1,
        host="localhost:%d" % proxy.port,
        extra="HTTP_TIMEOUT_S = 2\nDELIVERY_TIMEOUT_S = 120\n",
    )
    proc = unixport.start_firmware(folder, subprocess.PIPE)
    time.sleep(5)
    proxy.down()
    before = len(ddb.readings("outage-1"))
    time.sleep(60)
    during = len(ddb.readings("outage-1"))
    proxy.up()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert during <= before + 1, out  # nothing got through while it was down
    assert re.search(r"retry: cannot connect to localhost:%d: connection refused" % proxy.port, out), out
    seqs = sorted(int(i["seq"]["N"]) for i in ddb.readings("outage-1"))
    assert seqs == list(range(1, 71)), out
    # the readings kept their schedule (one a second) while the sends failed
    ts = sorted(int(i["ts"]["N"]) for i in ddb.readings("outage-1"))
    assert ts[-1] - ts[0] <= 75, ts
