# Which version of the app the board boots, and its probation: the boot path's half of updates
# (iotsv_updater.py downloads and installs; iotsv_updates.py judges a new version). Part of the boot stage
# with main.py: an update never replaces these two, so a broken release cannot break its own
# rollback. Everything sits in ROOT beside config.py (the board's root):
#   ota/current      the one switch point, replaced whole (written aside, synced, renamed), checking
#                    itself: "<version> <good|trial> <previous good> <since> <kind> <crc32>\n";
#                    absent: the code the board was flashed with ("base")
#   ota/<version>/   an installed version's modules (kind "files"); put first on the import path
#   ota/failed       versions rolled back, one "<version> <why>" a line: never installed again
#   ota/report       the same lines, waiting to be uploaded with the crash log (then removed)
#   ota/probation    readings delivered by a version on trial (an int state file)
# A power cut anywhere leaves the old current or the new one; a folder not named by current is
# never on the import path, so a half-copied version is never run.
import os
import sys
from binascii import crc32

import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload

ROOT = "ota"
BASE = "base"  # the code flashed onto the board (its files or its frozen image)
CURRENT = ROOT + "/current"
FAILED = ROOT + "/failed"
REPORT = ROOT + "/report"
PROBATION = ROOT + "/probation"
MAX_FAILED = 2048  # bytes kept of ota/failed and ota/report: the newest lines
RESTART = 4  # the restart after a switch or a rollback (unix: the exit code; a board resets)


def _crc(text):
    return "%08x" % (crc32(text.encode()) & 0xFFFFFFFF)


def _parse(data):
    """The fields of a complete current file, else None (torn, garbled)."""
    if not data or data[-1:] != b"\n":
        return None
    try:
        parts = data[:-1].decode().split(" ")
    except (UnicodeError, ValueError):
        return None
    if len(parts) != 6 or parts[5] != _crc(" ".join(parts[:5])) or parts[1] not in ("good", "trial"):
        return None
    try:
        parts[3] = int(parts[3])
    except ValueError:
        return None
    return parts[:5]


class State:
    """What ota/current says: version, status ("good" or "trial"), the previous good version,
    since (Unix seconds of the switch), kind ("files" or "image")."""

    def __init__(self, version=BASE, status="good", previous=BASE, since=0, kind="files"):
        self.version, self.status, self.previous, self.since, self.kind = version, status, previous, since, kind

    @property
    def trial(self):
        return self.status == "trial"

    def folder(self):
        return None if self.version == BASE or self.kind != "files" else ROOT + "/" + self.version


def state():
    """The State of ota/current; the base's when there is none (or a torn one: a switch is
    written aside and renamed, so a torn file is never the only copy of a decision)."""
    atomicload.recover(CURRENT, lambda data: _parse(data) is not None)
    fields = _parse(atomicload.read_bytes(CURRENT))
    return State(*fields) if fields else State()


def write(s):
    atomicload.ensure_dir(ROOT)
    text = "%s %s %s %d %s" % (s.version, s.status, s.previous, s.since, s.kind)
    atomicfile.replace(CURRENT, ("%s %s\n" % (text, _crc(text))).encode())


def boot(path=None):
    """Put the current version's folder first on the import path (sys.path); its State."""
    path = sys.path if path is None else path
    s = state()
    folder = s.folder()
    if folder is not None:
        if atomicload.exists(folder):
            path.insert(0, folder)
        else:  # named but gone (a person removed it): the base runs, said once
            print("update: %s is current but %s is missing: running the base" % (s.version, folder))
            s = State()
    return s


def config_key(s, path=None):
    """The key of what this boot runs (iotsv_wakestate.py keeps a deep sleeper's validated config
    under it): the CRC32 and length of config.py's bytes (or config.mpy's) where the import finds
    it first on path (sys.path), and the version booted (State s); None when no file is found (a
    frozen config: validated at every wake)."""
    buf = bytearray(128)  # read in pieces: the whole file would leave a hole in the young heap
    view = memoryview(buf)
    for folder in sys.path if path is None else path:
        for name in ("config.py", "config.mpy"):  # the import's order
            try:
                f = open(folder + "/" + name if folder else name, "rb")
            except OSError:
                continue
            crc = size = 0
            with f:
                n = f.readinto(buf)
                while n:
                    crc, size = crc32(view[:n], crc), size + n
                    n = f.readinto(buf)
            return "%08x:%d:%s" % (crc & 0xFFFFFFFF, size, s.version)
    return None


def failed():
    """The versions rolled back, never to be installed again."""
    data = atomicload.read_bytes(FAILED) or b""
    return [line.split(" ", 1)[0] for line in data.decode().split("\n") if line]


def _append(path, line):
    old = atomicload.read_bytes(path) or b""
    atomicfile.replace(path, (old + line.encode() + b"\n")[-MAX_FAILED:])


def rollback(s, why):
    """Record s.version as failed (and why, for the report), and make the previous good version
    current again; the State now current. The board's restart loads it."""
    line = "%s %s" % (s.version, " ".join(str(why).split())[:200])
    atomicload.ensure_dir(ROOT)
    _append(FAILED, line)
    _append(REPORT, line)
    back = State(s.previous, "good", s.previous, s.since, "files" if s.previous == BASE else s.kind)
    write(back)
    atomicfile.remove(PROBATION)
    return back


def mark_good(s):
    s.status = "good"
    s.previous = s.version
    write(s)
    atomicfile.remove(PROBATION)


def remove_tree(path):
    """rm -r of a folder of files (a version's: no subfolders)."""
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        atomicfile.remove(path + "/" + name)
    try:
        os.rmdir(path)
    except OSError:
        pass


def cannot_start(e):
    return "cannot start: %s: %s" % (type(e).__name__, e)


def rolled_back_line(s, why):
    return "update: %s rolled back to %s: %s" % (s.version, s.previous, why)
