# One DNS question (an A record) over UDP with a timeout: the ESP32 port's socket.getaddrinfo
# waits in lwIP's resolver for as long as lwIP retries, which the app cannot bound or feed the
# watchdog through. RFC 1035's message: a 12-byte header, the question, the answers.
import struct

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


_ID = const(0x1D05)  # our queries' id: an answer must carry it
_HEADER = const(12)  # bytes: id, flags, then the question, answer, authority and extra counts
_RD = const(0x0100)  # flags: recursion desired
_QR = const(0x8000)  # flags: this is an answer
_RCODE = const(0x000F)  # flags: the error code (0: none)
_A = const(1)  # type A (an IPv4 address), and class IN: both 1


def literal(host):
    """host itself when it is a dotted IPv4 address (nothing to look up), else None."""
    parts = host.split(".")
    if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        return host
    return None


def question(host):
    """The query: recursion desired, one question, host's A record of class IN."""
    out = bytearray(struct.pack(">HHHHHH", _ID, _RD, 1, 0, 0, 0))
    for label in host.split("."):
        if not 0 < len(label) < 64:
            raise ValueError("not a host name: %r" % host)
        out.append(len(label))
        out += label.encode()
    out += b"\x00\x00\x01\x00\x01"
    return bytes(out)


def _skip_name(msg, pos):
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:  # a pointer ends the name
            return pos + 2
        pos += 1 + n
        if n == 0:
            return pos


def answer(msg):
    """The first IPv4 address of an answer to question(), or None (an error code, no A record,
    not our answer)."""
    if len(msg) < _HEADER:
        return None
    ident, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if ident != _ID or not flags & _QR or flags & _RCODE:
        return None
    pos = _HEADER
    try:
        for _ in range(qd):
            pos = _skip_name(msg, pos) + 4
        for _ in range(an):
            pos = _skip_name(msg, pos)
            kind, _, _, size = struct.unpack(">HHIH", msg[pos : pos + 10])
            pos += 10
            if kind == _A and size == 4:
                return "%d.%d.%d.%d" % tuple(msg[pos : pos + 4])
            pos += size
    except (IndexError, ValueError):  # truncated: no answer (struct raises ValueError on MicroPython)
        return None
    return None


def query(socket, server, host, timeout_ms, feed=None, tries=2):
    """host's IPv4 address from the DNS server (an IPv4 address), each try waiting at most
    timeout_ms; OSError when none answers. feed: called between tries (the watchdog's)."""
    if not server or server == "0.0.0.0":
        raise OSError("no DNS server (is the network up?)")
    ask = question(host)
    where = socket.getaddrinfo(server, 53, 0, socket.SOCK_DGRAM)[0][-1]  # a literal address: no lookup
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout_ms / 1000)
            s.sendto(ask, where)
            got = answer(s.recv(512))
            if got is not None:
                return got
        except OSError:
            pass  # a timeout: ask once more
        finally:
            s.close()
            if feed is not None:
                feed()
    raise OSError("no answer from %s within %d ms, %d tries" % (server, timeout_ms, tries))
