# Deep-sleep wakes on the unix port against the local DynamoDB: a wake that only takes a reading
# loads neither config.py nor its validation (the settings an earlier wake validated are taken, by
# iotsv_wakestate, when they are provably config.py's as it is now), and nothing is lost.
import json
import os
import re

import pytest

import unixport
from local.localddb import LocalDynamoDB

PROBE = os.path.join(unixport.PROBES, "imports_mp.py")
SLEEPY = 'POWER_MODE = "deep_sleep"\nSEND_EVERY = 3\nDELIVERY_TIMEOUT_S = 10\n'


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("localddb"))).start().provision()
    yield server
    server.stop()


def wake(folder):
    """One wake under the imports probe: (exit code, output, the modules it imported, its
    "wake N (kind)" and awake ms, or None)."""
    r = unixport.run_firmware(str(folder), timeout=60, extra_path=[unixport.PROBES], entry=(PROBE,))
    lines = r.stdout.strip().splitlines()
    imported = json.loads(lines[-1])["imported"]
    found = re.search(r"^wake (\d+) \((\w+)\): .* awake (\d+) ms$", r.stdout, re.M)
    seen = (int(found.group(1)), found.group(2), int(found.group(3))) if found else None
    return r.returncode, "\n".join(lines[:-1]), imported, seen


def validated(imported):
    return "config" in imported and "iotsv_settings" in imported


def seqs(ddb, device_id):
    return sorted(int(item["seq"]["N"]) for item in ddb.readings(device_id))


def test_a_reading_wake_loads_neither_config_nor_its_validation_and_nothing_is_lost(ddb, tmp_path):
    ddb.write_config(str(tmp_path), device_id="e2e-wakes", readings=7, interval_s=60, extra=SLEEPY)
    kinds = []
    for n in range(1, 8):
        code, out, imported, seen = wake(tmp_path)
        assert code == 0 and seen and seen[0] == n, out
        kinds.append((seen[1], validated(imported)))
        if n < 7:  # the next wake on its slot: the interval less the time this one was awake
            slept = int(re.search(r"^deep sleep for (\d+) ms", out, re.M).group(1))
            assert 0 <= 60000 - seen[2] - slept <= 100, out  # awake a little longer by the sleep
    # validated: the first wake (a power-on) and each SEND_EVERY-th; the last (seq 7) sends with the
    # settings wake 6 validated, config.py unchanged since
    assert kinds == [
        ("reading", True),
        ("reading", False),
        ("sending", True),
        ("reading", False),
        ("reading", False),
        ("sending", True),
        ("sending", False),
    ]
    assert "done: all 7 readings delivered" in out
    assert seqs(ddb, "e2e-wakes") == list(range(1, 8))


def test_a_changed_config_is_validated_at_the_next_wake(ddb, tmp_path):
    ddb.write_config(str(tmp_path), device_id="e2e-wakes-edit", readings=5, interval_s=60, extra=SLEEPY)
    path = os.path.join(str(tmp_path), "config.py")
    with open(path) as f:
        good = f.read()
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen == (1, "reading", seen[2]) and validated(imported), out
    with open(path, "a") as f:
        f.write("WATCHDOG_S = 1\n")  # below the floor: only a validation refuses it
    code, out, imported, seen = wake(tmp_path)
    assert code == 2 and out.startswith("config error: WATCHDOG_S: must be 0 (off) or at least"), out
    with open(path, "w") as f:
        f.write(good + "# edited on the bench\n")  # valid again, but not the bytes validated before
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (2, "reading") and validated(imported), out
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (3, "sending") and validated(imported), out
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (4, "reading") and not validated(imported), out  # kept again
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and "done: all 5 readings delivered" in out, out
    assert seqs(ddb, "e2e-wakes-edit") == [1, 2, 3, 4, 5]


def test_torn_wake_state_or_settings_are_validated_and_scanned_again(ddb, tmp_path):
    ddb.write_config(str(tmp_path), device_id="e2e-wakes-torn", readings=8, interval_s=60, extra=SLEEPY)
    for _ in range(2):
        wake(tmp_path)
    rtc = os.path.join(str(tmp_path), "wake.count")  # the unix port's RTC memory
    with open(rtc, "rb") as f:
        line = bytearray(f.read())
    line[4] ^= 0x01  # garbled: as a brown-out may leave RTC memory
    with open(rtc, "wb") as f:
        f.write(line)
    code, out, imported, seen = wake(tmp_path)  # counts from 1 again: a first wake checks everything
    assert code == 0 and seen[:2] == (1, "reading") and validated(imported), out
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (2, "reading") and not validated(imported), out
    kept = os.path.join(str(tmp_path), "wake.settings")
    with open(kept, "rb") as f:
        data = f.read()
    with open(kept, "wb") as f:
        f.write(data[: len(data) // 2])  # torn
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (3, "sending") and validated(imported), out
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (4, "reading") and not validated(imported), out  # whole again
    with open(kept, "wb") as f:
        f.write(data[: len(data) // 2])
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (5, "reading") and validated(imported), out
    code, out, imported, seen = wake(tmp_path)
    assert code == 0 and seen[:2] == (6, "sending") and "done: all 8 readings delivered" in out, out
    assert seqs(ddb, "e2e-wakes-torn") == list(range(1, 9))  # the wake count started over, the seqs did not
