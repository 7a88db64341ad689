# Small files that are replaced whole or not at all, on littlefs, FAT and POSIX alike.
#
# A replace writes path.tmp, flushes it and renames it over path. A power cut can still leave
# a .tmp torn at any byte (or empty: cut after it was created), or, on FAT (whose rename unlinks
# the target first), a .tmp and no target. So the small state files check themselves: an int is
# written "123 884863d2\n", its decimal text, the CRC32 of that text in hex and a newline, and a
# reader that finds a torn, empty or garbled one falls back to the default and says it did,
# rather than refusing to start. The old "123\n" is read too.
import os
from binascii import crc32


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def ensure_dir(path):
    """mkdir -p, on both interpreters (MicroPython's os has no makedirs)."""
    here = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if part and part != ".":
            here = here + part if here in ("", "/") else here + "/" + part
            try:
                os.mkdir(here)
            except OSError:
                pass
    if not exists(path):
        raise OSError("cannot create directory %s" % path)


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


def read_bytes(path):
    """The file's bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def sync(f):
    """Push what was written to f down to the storage, before a rename makes it current (POSIX
    has fsync; MicroPython's littlefs and FAT commit on flush and close)."""
    f.flush()
    if hasattr(os, "fsync"):
        os.fsync(f.fileno())


def recover(path, check=None):
    """Finish or undo a replace that a power cut interrupted; True if content was lost: a torn
    or garbled file (check(data) false) was thrown away and nothing complete took its place,
    so the caller goes on from its default. Without check (the content checks itself, as the
    spool's records do) a .tmp with no target is taken as it is."""

    def ok(p):
        return check is None or check(read_bytes(p))

    tmp = path + ".tmp"
    lost = False
    if exists(path) and not ok(path):
        remove(path)  # torn in place (an older firmware renamed a torn .tmp) or corrupted
        lost = True
    if exists(tmp):
        if exists(path):
            remove(tmp)  # cut before the rename: the old content stands
        elif ok(tmp):
            os.rename(tmp, path)  # cut between FAT's unlink and rename: .tmp is complete
            lost = False
        else:
            remove(tmp)  # cut while writing the .tmp, and no old content to fall back on
            lost = True
    return lost


def replace(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        sync(f)  # renamed only once the data is down
    os.rename(tmp, path)


def _crc_hex(text):
    return "%08x" % (crc32(text.encode()) & 0xFFFFFFFF)


def parse_int(data):
    """The int in a complete state file ("123 884863d2\\n", or the old "123\\n"), else None."""
    if not data or data[-1:] != b"\n":
        return None  # no terminator: torn, empty or not ours
    try:
        parts = data[:-1].decode().split(" ")
    except (UnicodeError, ValueError):
        return None
    text = parts[0]
    digits = text[1:] if text[:1] == "-" else text
    if not digits.isdigit() or len(parts) > 2 or (len(parts) == 2 and parts[1] != _crc_hex(text)):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _is_int(data):
    return parse_int(data) is not None


def load_int(path, default=0):
    """(value, lost): the int kept in path, or default when there is none; lost is True when a
    torn or garbled file was found (and thrown away) instead: the caller says so. Never raises
    on content."""
    lost = recover(path, _is_int)
    value = parse_int(read_bytes(path))
    return (default if value is None else value), lost


def read_int(path, default=0):
    return load_int(path, default)[0]


def _int_bytes(value):
    """What a state file holds for value (as _crc_hex makes it): formatted as bytes, where text
    formatted then encoded would take twice the allocations (write_rising writes one per batch)."""
    text = b"%d" % value
    return b"%s %08x\n" % (text, crc32(text))


def write_int(path, value):
    replace(path, _int_bytes(value))


def load_rising(path, default=0):
    """(value, lost, turn) of an int that only grows, kept by write_rising in path and path.1 in
    turn: the larger of the two that read whole. A write torn by a power cut spoils only its own
    file, so the other still holds the value before it; lost is True only when neither reads
    and one was torn. turn: the file the next write goes to, the one not holding the value."""
    lost = recover(path, _is_int)
    lost = recover(path + ".1", _is_int) or lost
    a, b = parse_int(read_bytes(path)), parse_int(read_bytes(path + ".1"))
    if b is None or (a is not None and a >= b):
        return (default, lost, 0) if a is None else (a, False, 1)
    return b, False, 0


def write_rising(path, value, turn):
    """Write value in place into path (turn 0) or path.1 (turn 1). In place, not replaced: on
    littlefs a small file's new content is one metadata commit (no erase), where a replace adds
    a new file and a rename; on POSIX and FAT the other file stands if this write is torn.
    The path is interned (written at every batch: see interned)."""
    with open(interned(path + ".1" if turn else path), "wb") as f:
        f.write(_int_bytes(value))
        sync(f)
