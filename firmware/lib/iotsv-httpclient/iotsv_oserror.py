# The one place that names the errno values a board meets, for every message that prints an
# OSError: MicroPython's errno module names only some (not ENOSPC, EROFS, EPIPE, ENOTDIR) and its
# OSError prints a bare number ("28") for the rest.
import errno

# "NAME number words" a line. The number is used only where this interpreter's errno lacks the
# name: it is Linux's, which MicroPython's own MP_E* values (py/mperrno.h) copy; a port built on its
# system's errno (ESP32: newlib and lwIP) agrees below 35 and differs for the network ones
# (newlib's ETIMEDOUT is 116), so a name errno has is always looked up there first. One string, not
# a table of tuples: loaded from a .mpy that is one object instead of sixty (and no interned names).
_TABLE = """ENOENT 2 no such file or directory
EIO 5 input/output error: the storage or bus failed
EBADF 9 bad file descriptor
EAGAIN 11 try again: the operation would block
ENOMEM 12 out of memory
EACCES 13 permission denied
EEXIST 17 already exists
ENODEV 19 no such device
ENOTDIR 20 not a directory
EISDIR 21 is a directory
EINVAL 22 invalid argument
ENOSPC 28 no space left on the device
EROFS 30 read-only file system
EPIPE 32 broken pipe
ECONNABORTED 103 connection aborted
ECONNRESET 104 connection reset
ENOTCONN 107 not connected
ETIMEDOUT 110 timed out
ECONNREFUSED 111 connection refused
EHOSTUNREACH 113 host unreachable
EINPROGRESS 115 operation in progress"""


def _entries():
    """(name, number on this interpreter, words) of each line of _TABLE (parsed when an error is
    described: nothing of it is held in between)."""
    for line in _TABLE.split("\n"):
        name, default, words = line.split(" ", 2)
        yield name, getattr(errno, name, int(default)), words


def number(name):
    """The errno value of a name in _TABLE on this interpreter."""
    for n, value, _ in _entries():
        if n == name:
            return value
    raise KeyError(name)


def code(exc):
    """The errno of an OSError (either interpreter), or None."""
    value = getattr(exc, "errno", None)
    if value is None and getattr(exc, "args", None) and isinstance(exc.args[0], int):
        value = exc.args[0]
    return value if isinstance(value, int) else None


def describe(exc):
    """One short line for an exception: 'no space left on the device (ENOSPC)' for an OSError
    carrying an errno; for one this table and errno do not know, its text, or 'errno 140' when
    that is a bare number; for any other exception, its text."""
    value = code(exc)
    if value is not None:
        for n, number_here, words in _entries():
            if number_here == value:
                return "%s (%s)" % (words, n)
        name = getattr(errno, "errorcode", {}).get(value)
        if name:
            return name
    text = str(exc).strip()
    if value is not None and text in ("", str(value)):  # MicroPython's bare number
        return "errno %d" % value
    return text or type(exc).__name__


def is_timeout(exc):
    """Whether a socket error is a timeout, on either interpreter."""
    return code(exc) == number("ETIMEDOUT") or type(exc).__name__ in ("timeout", "TimeoutError")


def reason(exc):
    """A socket error in a few stable words: "timed out", or what describe says."""
    return "timed out" if is_timeout(exc) else describe(exc)
