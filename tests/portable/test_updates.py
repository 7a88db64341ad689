# The device's half of updates without a network, on both interpreters: iotsv_versions.py's switch
# point (torn, rolled back, failed list), the supervisor's judgement of a version on trial (cannot
# start, crash loop, probation good or timed out), and the ESP32 board layer's OTA partition
# (written a block at a time, set to boot, confirmed, reverted) against a fake esp32.Partition.
import os
import sys

import fake_esp32
import iotsv_atomicfile as atomicfile
import iotsv_supervisor as supervisor
import iotsv_versions as versions
from portable import fresh, scratch


class Board:
    def __init__(self):
        self.now = 1795412461
        self.restarts = []
        self.confirmed = self.reverted = 0

    def time(self):
        return self.now

    def sleep_ms(self, ms):
        pass

    def restart(self, code=3):
        self.restarts.append(code)
        return code

    def ota_confirm(self):
        self.confirmed += 1

    def ota_revert(self):
        self.reverted += 1


class Settings:
    UPDATE_BUCKET = None
    UPDATE_PROBATION_READINGS = 3
    UPDATE_PROBATION_S = 60


def in_root(name):
    """A fresh board root (the ota/ folder is relative to it); the old cwd to return to."""
    here = os.getcwd()
    root = scratch(name)
    for sub in ("/ota", ""):  # an earlier run's (the other interpreter's) folders first: fresh() removes files
        if atomicfile.exists(root + sub):
            for entry in os.listdir(root + sub):
                versions.remove_tree(root + sub + "/" + entry)
    os.chdir(fresh(name))
    return here


def test_the_switch_point_and_a_torn_one():
    here = in_root("versions-a")
    try:
        assert versions.state().version == versions.BASE and versions.boot([]).folder() is None
        atomicfile.ensure_dir("ota/v2")
        versions.write(versions.State("v2", "trial", "base", 100, "files"))
        path = []
        s = versions.boot(path)
        assert (s.version, s.trial, s.previous, s.since) == ("v2", True, "base", 100) and path == ["ota/v2"]
        with open("ota/current", "rb") as f:
            good = f.read()
        for cut in (0, 5, len(good) - 1):  # a torn current (an older firmware renamed a torn .tmp): the base
            with open("ota/current", "wb") as f:
                f.write(good[:cut])
            assert versions.state().version == "base"
        with open("ota/current", "wb") as f:
            f.write(good)
        with open("ota/current.tmp", "wb") as f:
            f.write(b"v3 tri")  # cut while writing the next switch: the old one stands
        assert versions.state().version == "v2" and not atomicfile.exists("ota/current.tmp")
    finally:
        os.chdir(here)


def test_a_version_that_cannot_start_is_rolled_back_and_recorded():
    here = in_root("versions-b")
    try:
        atomicfile.ensure_dir("ota/v3")
        versions.write(versions.State("v3", "trial", "v2", 100, "files"))
        board = Board()
        e = supervisor.CannotStart("cannot start: ImportError: no module named 'x'")
        code = supervisor.supervise(
            lambda: (_ for _ in ()).throw(e), board, "crash.log", "crash.count", versions.state()
        )
        assert code == 4 and board.restarts == [4]
        s = versions.state()
        assert (s.version, s.trial) == ("v2", False) and versions.failed() == ["v3"]
        assert not atomicfile.exists("ota/v3") and supervisor.crashes("crash.count") == 0
        with open("ota/report") as f:
            assert f.read() == "v3 cannot start: ImportError: no module named 'x'\n"
    finally:
        os.chdir(here)


def test_a_crash_loop_on_trial_is_rolled_back_after_three():
    here = in_root("versions-c")
    try:
        versions.write(versions.State("v4", "trial", "base", 100, "image"))
        board = Board()

        def boom():
            raise RuntimeError("sensor bus stuck")

        codes = [supervisor.supervise(boom, board, "crash.log", "crash.count", versions.state()) for _ in range(3)]
        assert codes == [3, 3, 4] and board.reverted == 1  # an image: the other partition boots again
        assert versions.state().version == "base" and versions.failed() == ["v4"]
    finally:
        os.chdir(here)


def test_probation_marks_good_or_rolls_back_in_time():
    here = in_root("versions-d")
    try:
        versions.write(versions.State("v5", "trial", "v4", 1000, "image"))
        board = Board()
        board.now = 1010
        u = supervisor.Updates(Settings, board, versions.state(), None, None)
        assert u.turn(2) is None and u.version.trial
        assert u.turn(3) is None and not u.version.trial and board.confirmed == 1
        assert versions.state().status == "good" and versions.state().previous == "v5"
        versions.write(versions.State("v6", "trial", "v5", 1000, "files"))
        u = supervisor.Updates(Settings, board, versions.state(), None, None)
        assert u.turn(1) is None
        board.now = 1061
        assert u.turn(1) == 4
        assert versions.state().version == "v5" and versions.failed() == ["v6"]
        with open("ota/failed") as f:
            assert "delivered 1 of UPDATE_PROBATION_READINGS=3 within UPDATE_PROBATION_S=60" in f.read()
    finally:
        os.chdir(here)


def test_esp32_image_goes_to_the_next_ota_partition():
    fake_esp32.install()
    sys.modules.pop("iotsv_board_esp32", None)
    import iotsv_board_esp32 as board_esp32

    class Config:
        WIFI_SSID = "lab"

    b = board_esp32.Board(Config)
    image = bytes((i * 31) & 0xFF for i in range(10000))
    w = b.ota_writer(len(image))
    for i in range(0, len(image), 1000):
        w.write(image[i : i + 1000])
    P = fake_esp32.Partition
    assert P.boot == "ota_0"  # nothing boots before finish
    w.finish()
    assert P.boot == "ota_1" and bytes(P.slots["ota_1"][: len(image)]) == image
    assert bytes(P.slots["ota_1"][len(image) : 3 * 4096]) == b"\xff" * (3 * 4096 - len(image))  # padded
    P.running = "ota_1"  # the reset: the new image runs, on probation
    b.ota_confirm()
    assert P.confirmed == ["ota_1"]
    b.ota_revert()  # a bad one: the other partition boots again
    assert P.boot == "ota_0"
    try:
        b.ota_writer(len(P.slots["ota_0"]) + 1)
        raise AssertionError("an image larger than the partition was taken")
    except ValueError as e:
        assert "does not fit the OTA partition" in str(e)
    assert b.update_kind() == "files"  # supervisor is a file here (a frozen image's is not)
