# Small files that are replaced whole or not at all, on littlefs, FAT and POSIX alike: written
# here, read back and recovered after a power cut by iotsv_atomicload (the start's and the rare
# paths' work, so a running device's heap holds only this writing half).
#
# A replace writes path.tmp, flushes it and renames it over path. A power cut can still leave
# a .tmp torn at any byte (or empty: cut after it was created), or, on FAT (whose rename unlinks
# the target first), a .tmp and no target. So the small state files check themselves: an int is
# written "123 884863d2\n", its decimal text, the CRC32 of that text in hex and a newline, and a
# reader that finds a torn, empty or garbled one falls back to the default and says it did,
# rather than refusing to start. The old "123\n" is read too.
import os
from binascii import crc32


def interned(path):
    """path, its text interned (MicroPython: as a qstr, the way an attribute's name is): open()
    copies the path it is given into a new string unless that text is interned, so a path opened
    at every reading is interned once and then opened with no copy, and a path made again by
    joining the same pieces is the interned one (the joined copy freed at once). Called again on
    text already interned it allocates nothing, so it may be called at each open. CPython: as is."""
    getattr(None, path, None)
    return path


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def sync(f):
    """Push what was written to f down to the storage, before a rename makes it current (POSIX
    has fsync; MicroPython's littlefs and FAT commit on flush and close)."""
    f.flush()
    if hasattr(os, "fsync"):
        os.fsync(f.fileno())


def replace(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        sync(f)  # renamed only once the data is down
    os.rename(tmp, path)


def _int_bytes(value):
    """What a state file holds for value (atomicload.parse_int reads it): formatted as bytes, where text
    formatted then encoded would take twice the allocations (write_rising writes one per batch)."""
    text = b"%d" % value
    return b"%s %08x\n" % (text, crc32(text))


def write_int(path, value):
    replace(path, _int_bytes(value))


def write_rising(path, value, turn):
    """Write value in place into path (turn 0) or path.1 (turn 1). In place, not replaced: on
    littlefs a small file's new content is one metadata commit (no erase), where a replace adds
    a new file and a rename; on POSIX and FAT the other file stands if this write is torn.
    The path is interned (written at every batch: see interned)."""
    with open(interned(path + ".1" if turn else path), "wb") as f:
        f.write(_int_bytes(value))
        sync(f)
