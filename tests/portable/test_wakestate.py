# What a deep-sleeping board keeps between wakes (iotsv_wakestate): the RTC memory line, the key of
# config.py and the validated settings a reading wake takes instead of validating the config.
import os
from binascii import hexlify

import iotsv_atomicfile as atomicfile
import iotsv_settings as settings
import iotsv_versions as versions
import iotsv_wakestate as wakestate
from portable import _good, fresh, reading, scratch


class Board:
    """RTC memory as a board keeps it across deep sleep."""

    def __init__(self, data=b""):
        self.data = data

    def rtc_memory(self):
        return self.data

    def set_rtc_memory(self, data):
        self.data = bytes(data)


KEPT = "790 13 2 5 632 3 4,5,0,0,0,0,0,0 98,97,0,0,0,0,0,0"  # a Spool.kept() line


def _fields(line):
    return (line.wake, line.key, line.due, line.misses, line.retry_at, line.kept, line.synced)


NONE = (0, None, None, 0, 0, None, None)


def test_the_rtc_line_round_trips_and_anything_torn_or_garbled_is_no_state():
    board = Board()
    assert _fields(wakestate.load(board)) == NONE
    key = "1a2b3c4d:498:" + "v" * 40
    wakestate.save(board, wakestate.Line(12, key, 1795412461250, 2, 17, KEPT, 1795400000125))
    line = board.data
    assert _fields(wakestate.load(board)) == (12, key, 1795412461250, 2, 17, KEPT, 1795400000125)
    assert len(line) < 300  # the ESP32's RTC user memory is 2 KB
    for cut in range(len(line)):  # torn at any byte: no state, so the wake validates and scans
        assert _fields(wakestate.load(Board(line[:cut]))) == NONE, cut
    for i in range(len(line)):  # any byte garbled: the CRC says so
        bad = bytearray(line)
        bad[i] ^= 0x04
        assert _fields(wakestate.load(Board(bytes(bad)))) == NONE, i
    for old in (b"7\n1 2 3", b"7", b"\xff\xfe"):  # an earlier firmware's line, or none of ours
        assert _fields(wakestate.load(Board(old))) == NONE
    wakestate.save(board, wakestate.Line(3))  # no spool state, no key: the next wake scans and validates
    assert _fields(wakestate.load(board)) == (3, None, None, 0, 0, None, None)


def test_the_spool_takes_its_state_back_from_the_line_instead_of_a_scan():
    import iotsv_spoolrare as spoolrare
    from iotsv_spool import Spool
    from iotsv_spoolrecord import MIN_BUDGET

    d = fresh("wake-spool")
    spool = Spool(d, MIN_BUDGET)
    for _ in range(11):  # into spool.dat and its small files
        spool.append(reading)
    board = Board()
    wakestate.save(board, wakestate.Line(4, "k", kept=spool.kept()))
    kept = wakestate.load(board).kept
    assert kept == spool.kept()
    assert spoolrare.adopt(Spool(d, MIN_BUDGET), kept)  # taken as it is: no scan at the next wake


def test_each_wake_with_no_network_puts_the_next_try_off_longer():
    line = wakestate.Line(5)
    tries = []
    for wake in (5, 15, 35, 75, 155, 315):
        line.backoff(wake, 5)
        tries.append(line.retry_at - wake)
    assert tries == [10, 20, 40, 80, 80, 80]  # 2, 4, 8, 16 sending wakes of SEND_EVERY 5, then 16
    assert line.misses == 6


def test_a_reading_wake_is_neither_the_first_nor_a_sending_one():
    assert [w for w in range(1, 10) if wakestate.reads_only(w, 3)] == [2, 4, 5, 7, 8]
    assert not any(wakestate.reads_only(w, 1) for w in range(1, 10))  # SEND_EVERY 1: every wake sends


def _config_folder(name, text):
    folder = fresh(name)
    with open(folder + "/config.py", "w") as f:
        f.write(text)
    return folder


def test_the_config_key_is_config_py_s_bytes_and_the_version_booted():
    folder = _config_folder("wake-key", "DEVICE_ID = 'a'\n")
    empty = fresh("wake-key-none")
    key = versions.config_key(versions.State("base"), [empty, folder])  # the first folder that has one, as import
    assert key is not None and key.endswith(":16:base")
    assert versions.config_key(versions.State("base"), [empty, folder]) == key
    assert versions.config_key(versions.State("1.2.0"), [folder]) != key  # another version booted
    with open(folder + "/config.py", "w") as f:
        f.write("DEVICE_ID = 'b'\n")  # one byte changed
    assert versions.config_key(versions.State("base"), [folder]) != key
    assert versions.config_key(versions.State("base"), [empty]) is None  # a frozen config: validated every wake
    os.remove(folder + "/config.py")
    with open(folder + "/config.mpy", "wb") as f:
        f.write(b"M\x06")
    assert versions.config_key(versions.State("base"), [folder]) is not None


def _sleeper(**over):
    fields = dict(POWER_MODE="deep_sleep", SEND_EVERY=3, INTERVAL_S=0.5, ALERT_TOPIC_ARN=None)
    fields.update(
        UPDATE_BUCKET="releases-bucket",
        UPDATE_PUBLIC_KEY="d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    )
    fields.update(over)
    return settings.load(_good(**fields), "state")


def test_validated_settings_are_kept_and_taken_back_attribute_for_attribute():
    s = _sleeper()
    path = scratch("wake.settings")
    wakestate.save_settings(s, "k1", path)
    kept = wakestate.load_settings("k1", path)
    assert kept is not None
    for name in s.__dict__:
        assert getattr(kept, name) == getattr(s, name), name
    assert kept.ca_der == s.ca_der and isinstance(kept.update_key, bytes) and len(kept.update_key) == 32
    with open(path, "rb") as f:
        text = f.read()
    assert hexlify(s.ca_der) not in text  # the DER bytes are read again from CA_FILE, not copied
    assert wakestate.load_settings("k2", path) is None  # another config's
    assert wakestate.load_settings(None, path) is None


def test_the_settings_file_is_written_only_when_the_settings_change():
    path = scratch("wake.settings")
    writes = []
    replace = atomicfile.replace

    def counted(p, data):
        writes.append(p)
        replace(p, data)

    atomicfile.replace = counted
    try:
        wakestate.save_settings(_sleeper(), "k1", path)
        wakestate.save_settings(_sleeper(), "k1", path)  # the next wake that validates: same bytes
        assert writes == [path]
        wakestate.save_settings(_sleeper(SEND_EVERY=4), "k2", path)
        assert writes == [path, path]
    finally:
        atomicfile.replace = replace
    assert wakestate.load_settings("k2", path).SEND_EVERY == 4


def test_a_torn_or_garbled_settings_file_is_validated_again():
    path = scratch("wake.settings")
    wakestate.save_settings(_sleeper(), "k1", path)
    with open(path, "rb") as f:
        data = f.read()
    for cut in (0, 5, len(data) // 2, len(data) - 1):
        with open(path, "wb") as f:
            f.write(data[:cut])
        assert wakestate.load_settings("k1", path) is None, cut
    for i in (3, len(data) // 3, len(data) - 2):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with open(path, "wb") as f:
            f.write(bad)
        assert wakestate.load_settings("k1", path) is None, i


def test_alert_rules_and_pairs_come_back_as_the_config_s_tuples():
    rules = (("temp_c", ">", -15, 1, 900), ("hum_pct", "<=", 20.5))
    s = _sleeper(ALERT_TOPIC_ARN="arn:aws:sns:eu-west-1:123456789012:alerts", ALERT_RULES=rules)
    path = scratch("wake.settings")
    wakestate.save_settings(s, "k1", path)
    assert wakestate.load_settings("k1", path).ALERT_RULES == rules


def test_a_reading_wake_takes_the_settings_only_when_both_keys_are_config_py_s_now():
    folder = _config_folder("wake-reading", "DEVICE_ID = 'dev-1'\n")
    path = folder + "/wake.settings"
    key = versions.config_key(versions.State("base"), [folder])
    wakestate.save_settings(_sleeper(), key, path)
    board = Board()

    def taken(version="base"):
        return wakestate.reading_settings(board, versions.config_key(versions.State(version), [folder]), path)

    wakestate.save(board, wakestate.Line(1, key, kept=KEPT))  # the first wake validated: the second only reads
    kept = taken()
    assert kept is not None and kept.DEVICE_ID == "dev-1" and kept.wake_key == key
    wakestate.save(board, wakestate.Line(2, key, kept=KEPT))
    assert taken() is None  # wake 3 sends (SEND_EVERY 3): validated in full
    wakestate.save(board, wakestate.Line(3, key, kept=KEPT))
    assert taken() is not None
    assert taken("2.0.0") is None  # an update booted
    wakestate.save(board, wakestate.Line(3, kept=KEPT))  # the last wake kept no key (a restart followed)
    assert taken() is None
    wakestate.save(board, wakestate.Line(3, key, kept=KEPT))
    with open(folder + "/config.py", "a") as f:
        f.write("# edited\n")
    assert taken() is None  # config.py changed since: validated in full
    wakestate.save_settings(
        _sleeper(POWER_MODE="always_on"), versions.config_key(versions.State("base"), [folder]), path
    )
    wakestate.save(board, wakestate.Line(3, versions.config_key(versions.State("base"), [folder]), kept=KEPT))
    assert taken() is None  # not a deep sleeper's settings
