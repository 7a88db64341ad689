# Reading back what iotsv_atomicfile writes, and finishing or undoing a replace that a power cut
# interrupted (the format is described there). Needed at a start and on rare paths (a crash
# count, an update's state), not while readings are taken and delivered: a running device loads
# it for the call (iotsv_transient) and the boot stage drops it.
import os
from binascii import crc32

from iotsv_atomicfile import remove


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


def read_bytes(path):
    """The file's bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


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
