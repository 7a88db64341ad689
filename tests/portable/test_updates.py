# The device's half of updates without a network, on both interpreters: iotsv_versions.py's switch
# point (torn, rolled back, failed list), the supervisor's judgement of a version on trial (cannot
# start, crash loop, probation good or timed out), and the ESP32 board layer's OTA partition
# (written a block at a time, set to boot, confirmed, reverted) against a fake esp32.Partition.
import os
import sys

import fake_esp32
import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload
import iotsv_supervisor as supervisor
import iotsv_updates as updates
import iotsv_versions as versions
from portable import capture, fresh, scratch


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
        if atomicload.exists(root + sub):
            for entry in os.listdir(root + sub):
                versions.remove_tree(root + sub + "/" + entry)
    os.chdir(fresh(name))
    return here


def test_the_switch_point_and_a_torn_one():
    here = in_root("versions-a")
    try:
        assert versions.state().version == versions.BASE and versions.boot([]).folder() is None
        atomicload.ensure_dir("ota/v2")
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
        assert versions.state().version == "v2" and not atomicload.exists("ota/current.tmp")
    finally:
        os.chdir(here)


def test_a_version_that_cannot_start_is_rolled_back_and_recorded():
    here = in_root("versions-b")
    try:
        atomicload.ensure_dir("ota/v3")
        versions.write(versions.State("v3", "trial", "v2", 100, "files"))
        board = Board()
        e = supervisor.CannotStart("cannot start: ImportError: no module named 'x'")
        code = supervisor.supervise(lambda: (_ for _ in ()).throw(e), board, "crash.log", "crash.count", trial=True)
        assert code == 4 and board.restarts == [4]
        s = versions.state()
        assert (s.version, s.trial) == ("v2", False) and versions.failed() == ["v3"]
        assert not atomicload.exists("ota/v3") and supervisor.crashes("crash.count") == 0
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

        codes = [supervisor.supervise(boom, board, "crash.log", "crash.count", trial=True) for _ in range(3)]
        assert codes == [3, 3, 4] and board.reverted == 1  # an image: the other partition boots again
        assert versions.state().version == "base" and versions.failed() == ["v4"]
    finally:
        os.chdir(here)


def test_a_version_judged_good_after_it_booted_is_not_rolled_back_for_a_crash():
    here = in_root("versions-f")
    try:
        versions.write(versions.State("v8", "trial", "base", 100, "files"))
        atomicload.ensure_dir("ota/v8")
        board = Board()

        def boom():
            raise RuntimeError("sensor bus stuck")

        assert [supervisor.supervise(boom, board, "crash.log", "crash.count", trial=True) for _ in range(2)] == [3, 3]
        versions.mark_good(versions.state())  # probation passed in the run that booted on trial
        assert supervisor.supervise(boom, board, "crash.log", "crash.count", trial=True) == 3  # the 3rd in a row
        assert versions.state().version == "v8" and versions.failed() == [] and board.restarts == [3, 3, 3]
    finally:
        os.chdir(here)


def test_a_version_on_trial_whose_crash_code_cannot_load_is_still_rolled_back():
    here = in_root("versions-e")
    saved = sys.modules.pop("iotsv_crash", None)
    try:
        atomicload.ensure_dir("ota/v7")
        with open("ota/v7/iotsv_crash.py", "w") as f:  # the release's crash module is broken
            f.write('raise SyntaxError("broken release")\n')
        versions.write(versions.State("v7", "trial", "base", 100, "files"))
        sys.path.insert(0, "ota/v7")
        board = Board()

        def boom():
            raise RuntimeError("sensor bus stuck")

        try:
            code = supervisor.supervise(boom, board, "crash.log", "crash.count", trial=True)
        finally:
            sys.path.remove("ota/v7")
        assert code == 4 and board.restarts == [4]  # at once, no backoff: the previous version boots
        assert versions.state().version == "base" and versions.failed() == ["v7"]
        with open("ota/report") as f:
            assert f.read().startswith("v7 crash not logged: SyntaxError: broken release")
    finally:
        sys.modules.pop("iotsv_crash", None)
        if saved is not None:
            sys.modules["iotsv_crash"] = saved
        os.chdir(here)


def test_probation_marks_good_or_rolls_back_in_time():
    here = in_root("versions-d")
    try:
        versions.write(versions.State("v5", "trial", "v4", 1000, "image"))
        board = Board()
        board.now = 1010
        u = updates.Updates(Settings, board, versions.state(), None, None)
        assert u.turn(2) is None and u.version.trial
        assert u.turn(3) is None and not u.version.trial and board.confirmed == 1
        assert versions.state().status == "good" and versions.state().previous == "v5"
        versions.write(versions.State("v6", "trial", "v5", 1000, "files"))
        u = updates.Updates(Settings, board, versions.state(), None, None)
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


# Release numbers and the signed latest: manifests and pointers signed on the host (iotsig
# release's signed_manifest and signed_pointer, a fixed test key) of one file, iotsv_x.py =
# "x = 1\n"; manifest "v9" is signed as releases were before they had numbers.
TEST_KEY = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
X_FILE = "file iotsv_x.py 6 9e26bf369911c45c243c684147b23fc9e1dcfcf257d299a1c632016a6fcd33f4\n"
SIGNED = {
    "v2": ("release 2\n", "c75e460e6fcb8fc5fbb1ad1943cbadd68160ca9e871e8cbbae91d5ed51b567fa"
           "5744e828763f5b308bd7739f46368611b9dfc305373806cb9de039dd4690be04"),
    "v3": ("release 3\n", "5393d2c065901c77ccd1c811f54b194606584702567ea4c3d70123279f37564d"
           "d66b7b58749af9277604460679392b08de8bae686cfe80b9e2f61952243fbc0b"),
    "v9": ("", "ea60841cc3f996f2c59a07cd111753269d05c64dd690461b70bfa402da25a804"
           "9ace1cc6b8acfcccb7b4ec4c72e5973767588abaed370cf46d8a8b8e4a78b80d"),
}  # fmt: skip
T1, T2 = 1795400000, 1795410000  # when the pointers were signed
POINTERS = {
    ("v2", 2, T1): "53890a3fd930a4a66669693f30773bccab249e32b919c8e0c3d8449f304b9642"
        "07b998ffb8264bd060a23256c0742df58f614cabe432ac17ed1ffd0fb4004708",
    ("v3", 3, T2): "fbbcd7643b8f29d7cad9086dbc3752d7260c29cb4c47076b26741caf7919b6f8"
        "ca77c0144effbe3f464a72f959ddde4e1d38b034087fdc361a37b434d798eb09",
    ("v3", 3, T1): "c1b4b32d8b179ea94905a608bea75b99cac4d76c9ba54589a4972519f274d6c4"
        "d0202f54de500a1d262a851b8de7e7fbc2fd3c59ea0348d5062657e99a950a00",
    ("v2", 4, T2): "a5911e8df7063c3095e24bfddd5b44db9961555f8aa72865346e10fd578ea8e9"
        "54ea8b797c7d5faad9ac9cd91ff6c87d1b8399f57872227cefff7b40aaafdb09",
    ("v9", 9, T2): "8a784bdebb33fe4b0d290e1d10546f29573a4244284b9d122b3a42efdc4c568f"
        "188a1423bc41e7f861a6cb4458ebfc7ef41d6a9a277d387fce21af3a8dd93b06",
}  # fmt: skip
V2, V3 = ("v2", 2, T1), ("v3", 3, T2)


def manifest(version, number=None):
    line, sig = SIGNED[version]
    if number is not None:  # changed after signing
        line = "release %d\n" % number
    return ("iot-sigv4 release 1\nversion %s\n%skind files\n%sed25519 %s\n" % (version, line, X_FILE, sig)).encode()


def pointer(which):
    version, number, signed = which
    body = "iot-sigv4 latest 1\nversion %s\nrelease %d\nsigned %d\n" % which
    return (body + "ed25519 %s\n" % POINTERS[which]).encode()


class Clock:
    def __init__(self, now):
        self.t = now

    def now(self):
        return self.t


class Bucket:
    """An updater.Check stand-in over a dict of objects (what S3 holds under UPDATE_PREFIX)."""

    def __init__(self, version, max_age=None, now=T2 + 60):
        from binascii import unhexlify

        self.objects = {"v2/iotsv_x.py": b"x = 1\n", "v3/iotsv_x.py": b"x = 1\n"}
        self.objects.update((v + "/manifest", manifest(v)) for v in SIGNED)

        class S(Settings):
            update_key = unhexlify(TEST_KEY)
            UPDATE_MAX_AGE_S = max_age

        class B(Board):
            def update_kind(self):
                return "files"

        self.s = S
        self.u = updates.Updates(S, B(), version, Clock(now), None)
        self.conn = self

    def close(self):
        pass

    def key(self, *parts):
        return "/".join(parts)

    def get(self, key, path):
        from hashlib import sha256

        data = self.objects[key]
        with open(path, "wb") as f:
            f.write(data)
        return len(data), "".join("%02x" % b for b in sha256(data).digest())

    def small(self, key, path, limit):
        self.get(key, path)
        return path

    def check(self, latest):
        """One check with latest as given (a pointer's (version, release, signed), or bytes): what
        it printed and returned."""
        import iotsv_updater as updater

        self.objects["latest"] = latest if isinstance(latest, bytes) else pointer(latest)

        def one():
            try:
                return updater._check(self)
            except (updater.Refused, OSError) as e:  # as updater.check says them
                print("update: %s" % updater.describe(e))

        code, out = capture(one)
        return (out + "\n" if out else ""), code


def raise_(e):
    raise e


def floor():
    return atomicload.read_int("ota/release", -1)


def on_v2():
    atomicload.ensure_dir("ota/v2")
    versions.write(versions.State("v2", "good", "v2", 100, "files"))
    atomicfile.write_int("ota/release", 2)


def test_an_older_signed_release_is_refused_and_the_floor_never_falls():
    here = in_root("releases-a")
    try:
        c = Bucket(versions.state())
        out, code = c.check(V3)
        assert code == 4 and "update: v3 installed" in out and floor() == 3
        versions.mark_good(versions.state())
        c = Bucket(versions.state())
        out, code = c.check(V2)  # latest put back to what it said when v2 was published
        assert code is None and versions.state().version == "v3" and floor() == 3
        line = "v2 refused: release 2 is older than release 3 already installed"
        assert out == "update: %s\n" % line, out
        with open("ota/report") as f:
            assert f.read() == line + "\n"  # goes up with the next log upload
        assert c.check(V2) == ("", None)  # said once a run
        c = Bucket(versions.state())  # a restart: said again, reported once
        assert c.check(V2)[0] == "update: %s\n" % line
        with open("ota/report") as f:
            assert f.read() == line + "\n"
        c = Bucket(versions.state())
        out = c.check(b"v2\n")[0]  # an unsigned pointer, as releases had before
        assert out == "update: latest refused: latest is not signed (no ed25519 line at its end)\n", out
        signed_v3 = pointer(V3)
        out = c.check(signed_v3.replace(b"release 3", b"release 5"))[0]
        assert out == "update: latest refused: latest's signature does not verify with UPDATE_PUBLIC_KEY\n", out
        c.objects["v2/manifest"] = manifest("v2", 4)  # the number changed after signing
        out = c.check(("v2", 4, T2))[0]
        assert out == "update: v2 refused: the manifest's signature does not verify with UPDATE_PUBLIC_KEY\n", out
        c.objects["v2/manifest"] = manifest("v2")  # v2's own manifest under a pointer saying 4: mix and match
        assert c.check(("v2", 4, T2))[0] == "update: v2 refused: its manifest is release 2, latest says 4\n"
        out = c.check(("v9", 9, T2))[0]  # signed before releases had numbers: nothing orders it
        assert out == "update: v9 refused: the manifest carries no release number\n", out
        c.objects["v9/manifest"] = manifest("v3")  # v3's manifest replayed under another name
        assert c.check(("v9", 9, T2))[0] == "update: v9 refused: its signed manifest is for v3\n"
        assert versions.state().version == "v3" and floor() == 3
    finally:
        os.chdir(here)


def test_a_pointer_not_renewed_is_said_once():
    """UPDATE_MAX_AGE_S: the newest signed latest seen is judged, once per signing; an older
    signing of the same pointer played back does not make it fresh."""
    here = in_root("releases-c")
    try:
        assert Bucket(versions.state(), 3600, T2 + 60).check(V3)[1] == 4  # fresh: nothing said
        versions.mark_good(versions.state())
        c = Bucket(versions.state(), 3600, T2 + 7200)
        out = c.check(V3)[0]
        line = "latest is stale: signed 7200 s ago, more than UPDATE_MAX_AGE_S=3600 (held back?)"
        assert out == "update: %s\n" % line, out
        assert c.check(V3)[0] == "" and Bucket(versions.state(), 3600, T2 + 9000).check(V3)[0] == ""
        assert c.check(("v3", 3, T1))[0] == ""  # v3 signed earlier: the newest seen is still T2's
        with open("ota/report") as f:
            assert f.read() == line + "\n"
        assert Bucket(versions.state(), None, T2 + 9000).check(V3) == ("", None)  # off by default
    finally:
        os.chdir(here)
    here = in_root("releases-d")
    try:
        on_v2()
        assert Bucket(versions.state(), 3600).check(V3)[1] == 4
        versions.mark_good(versions.state())
        c = Bucket(versions.state(), 3600, T2 + 99999)
        c.get = lambda key, path: raise_(OSError(113, "EHOSTUNREACH"))  # latest withheld: judged all the same
        out = c.check(V3)[0].split("\n")
        assert out[0].startswith("update: latest is stale: signed 99999 s ago") and "EHOSTUNREACH" in out[1], out
    finally:
        os.chdir(here)


def test_a_release_rolled_back_on_probation_keeps_the_floor():
    here = in_root("releases-b")
    try:
        on_v2()
        assert Bucket(versions.state()).check(V3)[1] == 4 and floor() == 3
        back = versions.rollback(versions.state(), "crashed three times")
        assert back.version == "v2" and floor() == 3
        c = Bucket(versions.state())
        assert c.check(V2) == ("", None)  # what runs: nothing to do, nothing to say
        assert "rolled back before" in c.check(V3)[0]
        assert floor() == 3
    finally:
        os.chdir(here)


def test_a_power_cut_at_any_write_of_an_install_keeps_old_or_new():
    """v2 (release 2) takes v3 with the power cut at each write, rename and remove in turn: after
    each cut the floor is 2 or 3 (never none), current is v2 or v3 (never older), and the next check
    ends at v3 with the floor at 3."""
    import cutpower

    cut = 1
    while True:
        for variant in ("none", "half", "before", "fat"):
            here = in_root("releases-cut")
            try:
                on_v2()
                cutter = cutpower.Cutter(cut, variant)
                went = cutpower.run(cutter, Bucket(versions.state()).check, V3)[1]
                version = versions.state().version
                assert floor() in (2, 3) and version in ("v2", "v3"), (cut, variant, cutter.ops)
                assert floor() == 3 or version == "v2", (cut, variant)
                if version == "v2":
                    assert Bucket(versions.state()).check(V3)[1] == 4
                assert versions.state().version == "v3" and floor() == 3
            finally:
                os.chdir(here)
        if not went:
            assert cut > 5  # the floor, current, and the staging folder's renames were each cut
            return
        cut += 1


# v3 handing over to the key NEXT (signed with TEST_KEY): what a key change starts from
NEXT = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
V3_HANDOVER = (
    "iot-sigv4 release 1\nversion v3\nrelease 3\nkind files\nnext-key %s\n%sed25519 "
    "73f4a2234180fedf6540de90e816df92cf68690c0d07dd458c4b64c417b8a65d"
    "e8a9975a4711a12690997bbf90e0f0cb2b901a8ba6ec89025d62572088ea8705\n" % (NEXT, X_FILE)
).encode()


def handover():
    """v2 takes v3, which hands over to NEXT: the Bucket after the install."""
    c = Bucket(versions.state())
    c.objects["v3/manifest"] = V3_HANDOVER
    assert c.check(V3)[1] == 4
    return c


def test_a_key_change_waits_for_probation_and_is_dropped_with_its_release():
    here = in_root("releases-key")
    try:
        on_v2()
        handover()
        with open("ota/nextkey") as f:
            assert f.read() == "v3 %s\n" % NEXT and not atomicload.exists("ota/key")
        versions.rollback(versions.state(), "crashed three times")
        assert Bucket(versions.state()).check(V2) == ("", None)
        assert not atomicload.exists("ota/nextkey") and not atomicload.exists("ota/key")
    finally:
        os.chdir(here)


def test_a_key_change_once_good_and_the_old_key_refused_after():
    here = in_root("releases-key")
    try:
        on_v2()
        handover()
        versions.mark_good(versions.state())
        c = Bucket(versions.state())
        out = c.check(V3)[0]  # the pointer it verified before: no signature needed again
        assert (
            out
            == "update: v3 passed probation: its release key %s... is the only one accepted from now on\n" % (NEXT[:16])
        )
        with open("ota/key") as f:
            assert f.read() == NEXT + "\n" and not atomicload.exists("ota/nextkey")
        out = Bucket(versions.state()).check(("v9", 9, T2))[0]  # signed with the old key
        assert out == (
            "update: latest refused: latest's signature does not verify with the release key adopted in ota/key\n"
        ), out
        with open("ota/key", "wb") as f:
            f.write(NEXT[:20].encode())  # garbled (no firmware writes it so): the config's key again, said by refusals
        assert (
            Bucket(versions.state()).check(("v9", 9, T2))[0]
            == "update: v9 refused: the manifest carries no release number\n"
        )
    finally:
        os.chdir(here)


def test_a_power_cut_at_any_write_of_a_key_change():
    """Cut at each write of the check that takes the key: ota/key is absent (the key still waits
    in ota/nextkey) or whole, and the next check finishes the change."""
    import cutpower

    cut = 1
    while True:
        for variant in ("half", "fat"):
            here = in_root("releases-keycut")
            try:
                on_v2()
                handover()
                versions.mark_good(versions.state())
                cutter = cutpower.Cutter(cut, variant)
                went = cutpower.run(cutter, Bucket(versions.state()).check, V3)[1]
                key = atomicload.read_bytes("ota/key")
                assert key in (None, (NEXT + "\n").encode()), (cut, variant, key)
                assert key is not None or atomicload.exists("ota/nextkey"), (cut, variant)
                Bucket(versions.state()).check(V3)
                with open("ota/key") as f:
                    assert f.read() == NEXT + "\n" and not atomicload.exists("ota/nextkey")
            finally:
                os.chdir(here)
        if not went:
            assert cut > 2
            return
        cut += 1
