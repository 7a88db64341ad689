# A small HTTP/1.1 client over socket + ssl for MicroPython and CPython: TLS verified against a
# DER CA with SNI, one connection kept alive across requests, Content-Length and chunked bodies,
# socket timeouts, an overall deadline per request, and a bound on what a response may make us
# hold in memory. This module is the path of a request on an open connection; connecting
# (iotsv_httpconnect) and what is rare (iotsv_httprare: odd framings, streamed bodies, most
# errors' messages) are loaded only for the call that needs them and dropped after it.
import select  # after connecting, MicroPython's sockets are non-blocking and each wait is a poll
import socket
import sys

from iotsv_ticks import diff as ticks_diff
from iotsv_ticks import ms as ticks_ms

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


try:
    import ssl
except ImportError:  # a build without TLS can still speak plain HTTP
    ssl = None

MICROPYTHON = sys.implementation.name == "micropython"
MAX_LINE = const(4096)  # status and header lines
LINE_PIECE = const(256)  # MicroPython's read(n) allocates n bytes up front: read lines in small pieces
BODY_PIECE = const(1024)
MAX_HEADERS = const(64)
MAX_HEAD = const(8192)  # all header lines of one response together
REMEMBERED = const(4)  # successful answers whose id a new answer must not repeat
MAX_DIGITS = const(12)  # of a Content-Length: far past any body this client takes
WRITE_BUFFER = const(1024)  # a body given in parts goes out in records of up to this size


class HttpError(Exception):
    """The request did not get a complete HTTP response; the message names the cause."""

    retryable = True


class ConnectError(HttpError):
    pass


class TlsError(HttpError):
    retryable = False  # a certificate problem does not go away by trying again


class HttpTimeout(HttpError):
    pass


class ProtocolError(HttpError):
    pass


class ResponseTooLarge(ProtocolError):
    retryable = False


class _Stale(Exception):
    """A kept-alive connection the server had already closed: nothing of a response came."""


class _SinkFailed(Exception):
    """The caller's sink raised (args[0]): passed on as it is, not taken for a network failure."""


TCHAR = b"!#$%&'*+-.^_`|~"  # with digits and letters, what a header name is made of (RFC 9110)


def _is_token(name):
    for c in name:
        if not (0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c in TCHAR):
            return False
    return True


def _text(raw):
    """Bytes from the wire as text, byte for character (Latin-1): ASCII decodes as it is, and
    obs-text never raises, as a UTF-8 decode would."""
    if max(raw, default=0) < 0x80:
        return raw.decode()
    return "".join(chr(c) for c in raw)


def _joined(headers, name):
    """Every value of a header, joined as RFC 9110 joins repeated fields."""
    values = [v for n, v in headers if n == name]
    return ", ".join(values) if values else ""


def _is_stream(body):
    """A body read from a file (anything with readinto), not held in memory."""
    return hasattr(body, "readinto")


class Pieces:
    """A request body made afresh, piece by piece (bytes), each time it is iterated, and its
    length in bytes, counted beforehand (as its hash was, see dynamodb.Client.call_body): sent
    piece by piece, so it is never in RAM whole, however large."""

    def __init__(self, make, length):
        self.make = make  # () -> an iterator of the pieces
        self.length = length

    def __iter__(self):
        return self.make()


class Answered:
    """The ids of the last few successful answers (x-amzn-RequestId, SNS's MessageId): a new
    answer naming one of them is a replay, or bytes left from an earlier answer, and proves
    nothing about the request it came after."""

    def __init__(self):
        self.ids = []

    def repeats(self, answer_id):
        return answer_id in self.ids

    def add(self, answer_id):
        self.ids = self.ids[1 - REMEMBERED :] + [answer_id]


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lowercased name, value)
        self.body = body  # type: bytes | bytearray

    def header(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return default


def _call(module, name, *args):
    """module.name(*args), the module loaded for the call: it and every module it loaded leave
    sys.modules after it (unless loaded before), so their code is in the heap only while it runs."""
    before = list(sys.modules)
    try:
        return getattr(__import__(module), name)(*args)
    finally:
        for loaded in [m for m in sys.modules if m not in before]:
            sys.modules.pop(loaded, None)


def _length(body):
    if _is_stream(body):
        raise ValueError("a body read from a file needs its Content-Length header")
    if isinstance(body, Pieces):
        return body.length
    if isinstance(body, list):
        n = 0
        for part in body:
            n += len(part)
        return n
    return len(body)


class Connection:
    def __init__(
        self,
        host,
        port=None,
        tls=True,
        ca_der=None,
        timeout_s=10,
        max_response=16384,
        client_cert_der=None,
        client_key_der=None,
        request_timeout_s=None,
        resolve=None,
    ):
        if tls and ssl is None:
            raise ValueError("this build has no ssl module: TLS is not available")
        if tls and not ca_der:
            raise ValueError("TLS needs a CA certificate (DER) to verify the server")
        self.host = host
        self.port = port or (443 if tls else 80)
        self.tls = tls
        self.ca_der = ca_der
        self.timeout_s = timeout_s  # each connect, handshake, read and write
        # the whole request: a server trickling bytes keeps every read under timeout_s, not this
        self.request_timeout_s = request_timeout_s or 3 * timeout_s
        self.max_response = max_response
        self.client_cert = (client_cert_der, client_key_der) if client_cert_der else None  # mutual TLS
        self.mutual = self.client_cert is not None
        # getaddrinfo's stand-in: a board's bounded lookup (the ESP32 port's blocks in lwIP)
        self.resolve = resolve or socket.getaddrinfo
        self.connects = 0  # connections opened (TLS handshakes when tls)
        # None while closed; reads and writes run only on an open connection (their pyright ignores say so)
        self._sock = None
        self._poller = None
        self._ctx = None
        # made with the connection object, at start, while the heap is young: asked for at the
        # first request, a KB in one piece may no longer be there
        self._wbuf = bytearray(WRITE_BUFFER)
        self._rbuf = b""  # received and not yet parsed: self._rbuf[self._rpos:]
        self._rpos = 0
        self._started = 0  # ticks_ms when the request began

    def address(self):
        return "%s:%d" % (self.host, self.port)

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = self._poller = None
        self._rbuf = b""
        self._rpos = 0

    # -- time: every wait is at most min(timeout_s, what is left of request_timeout_s) --------
    def _rare(self, name, *args):
        """iotsv_httprare.name(self, *args): a rare path's code, loaded for the call."""
        return _call("iotsv_httprare", name, self, *args)

    def _left_ms(self):
        return int(self.request_timeout_s * 1000) - ticks_diff(ticks_ms(), self._started)

    def _wait_ms(self):
        """How long the next socket operation may wait; the deadline error once it has passed."""
        left = self._left_ms()
        if left <= 0:
            raise self._rare("deadline")
        return min(int(self.timeout_s * 1000), left)

    def _poll(self, event, wait_ms):
        self._poller.modify(self._sock, event)  # pyright: ignore[reportOptionalMemberAccess]
        return self._poller.poll(wait_ms)  # pyright: ignore[reportOptionalMemberAccess]

    def _recv_into(self, n):
        """Up to n bytes (n <= WRITE_BUFFER), whatever came first, received into the write buffer
        (a request goes whole before its response is read); their count, 0 at the end of the
        stream. One wait of at most _wait_ms(): a trickling server cannot stretch a read, and the
        deadline is checked between reads. Not read(n): MicroPython's allocates n + 1 bytes at
        every call, which a fragmented heap may not have in one piece."""
        buf = self._wbuf
        while True:
            wait = self._wait_ms()
            if MICROPYTHON:  # non-blocking: what is there, None when nothing is
                got = self._sock.readinto(buf, n)  # pyright: ignore[reportOptionalMemberAccess]
                if got is not None:
                    return got
                if not self._poll(select.POLLIN, wait):
                    raise self._rare("timed_out", wait)
                continue
            self._sock.settimeout(wait / 1000)  # pyright: ignore[reportOptionalMemberAccess, reportAttributeAccessIssue]  # CPython
            try:
                return self._sock.recv_into(buf, n)  # pyright: ignore[reportOptionalMemberAccess, reportAttributeAccessIssue]
            except OSError as e:
                raise self._rare("timed_out", wait, e)

    def _piece(self, n):
        """Up to n bytes as _recv_into receives them, a view of the write buffer: for a sink,
        which takes them before the next read."""
        return memoryview(self._wbuf)[: self._recv_into(min(n, WRITE_BUFFER))]

    def _recv(self, n):
        """Up to n bytes as _recv_into receives them (b"" at the end), in bytes of their own."""
        return bytes(self._piece(n))

    def _write(self, data):
        """All of data, each wait at most _wait_ms()."""
        if not MICROPYTHON:
            wait = self._wait_ms()
            self._sock.settimeout(wait / 1000)  # pyright: ignore[reportOptionalMemberAccess, reportAttributeAccessIssue]  # CPython
            try:
                self._sock.sendall(data)  # pyright: ignore[reportOptionalMemberAccess]
            except OSError as e:
                raise self._rare("timed_out", wait, e)
            return
        view = memoryview(data)
        done = 0
        while done < len(view):
            wait = self._wait_ms()
            n = self._sock.write(view[done:])  # pyright: ignore[reportOptionalMemberAccess]
            if n:
                done += n
            elif not self._poll(select.POLLOUT, wait):
                raise self._rare("timed_out", wait)

    def _connect(self):
        _call("iotsv_httpconnect", "connect", self)

    def tls_context(self):
        """The SSL context, made once per connection object and reused for every handshake: the
        CA is parsed once, and its few KB of heap are taken while the heap is young (the app asks
        for it at start) rather than looked for again in a fragmented heap at each reconnect."""
        if self._ctx is None:
            _call("iotsv_httpconnect", "tls_context", self)
        return self._ctx

    def request(self, method, target, headers, body=b"", sink=None):
        """Send one request (headers as given, plus Content-Length when the body needs one) and return
        its Response. body: bytes, or a list of bytes parts, sent without joining them (no
        allocation the size of the body), or Pieces (made afresh for each sending, and refused as a
        ProtocolError should they not make the length they declared), or a file opened "rb"
        (anything with readinto and seek: sent from where it stands to its end through the write
        buffer, with the Content-Length header the caller gives). sink: a function that takes the
        body of a 2xx response piece by piece (up to BODY_PIECE bytes each, bytes or a memoryview of
        the connection's buffer, valid only during the call: copy what is kept) instead of its being
        gathered (resp.body is then b"" and max_response does not bound it; other statuses are read
        as usual); what the sink raises ends the request as it is. A kept-alive connection the
        server had closed is reopened once (a file body sent again from where it stood). All of it,
        reopening included, ends within request_timeout_s, or raises HttpTimeout saying so."""
        self._started = ticks_ms()
        head = self._head(method, target, headers, body)
        start = body.tell() if _is_stream(body) else None  # pyright: ignore[reportAttributeAccessIssue]  # a file
        for attempt in (0, 1):
            if self._sock is not None and not self._idle():
                self.close()
            reused = self._sock is not None
            if not reused:
                self._connect()
            try:
                if attempt and start is not None:
                    body.seek(start)  # pyright: ignore[reportAttributeAccessIssue]  # a file
                self._send(head, body)
                return self._read_response(method, sink)
            except _SinkFailed as e:
                self.close()  # the rest of the body is still on its way
                raise e.args[0]
            except _Stale:
                self.close()
                if not reused or attempt:
                    raise self._rare("closed")
            except HttpError:
                self.close()
                raise
            except (MemoryError, OSError) as e:  # MemoryError: an answer within the bounds, not this heap's
                self.close()
                raise self._rare("failed", e)

    def _idle(self):
        """True when the kept-alive connection has nothing to read: bytes that came unasked since
        the last response (junk, or a response to nothing) would otherwise be read as the next
        request's answer, and an end of stream means the server closed it."""
        buf = self._wbuf
        if MICROPYTHON:  # non-blocking already: None when nothing is there
            try:
                return self._sock.readinto(buf, 1) is None  # pyright: ignore[reportOptionalMemberAccess]
            except OSError:
                return False
        sock = self._sock
        sock.setblocking(False)  # pyright: ignore[reportOptionalMemberAccess]  # CPython
        try:
            sock.recv_into(buf, 1)  # pyright: ignore[reportOptionalMemberAccess, reportAttributeAccessIssue]
            return False  # bytes, or the end of the stream
        except OSError as e:  # BlockingIOError, or ssl's SSLWantReadError: nothing there
            return type(e).__name__ in ("BlockingIOError", "SSLWantReadError")
        finally:
            sock.setblocking(True)  # pyright: ignore[reportOptionalMemberAccess]

    def _head(self, method, target, headers, body):
        """The request line and headers as a list of small bytes lines, never joined: they go
        into the write buffer one by one, so no allocation is the size of the whole head."""
        lines = [("%s %s HTTP/1.1\r\n" % (method, target)).encode()]
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                has_length = True
            lines.append(("%s: %s\r\n" % (name, value)).encode())
        if not has_length and (body or method in ("POST", "PUT", "PATCH")):
            lines.append(b"Content-Length: %d\r\n" % _length(body))
        lines.append(b"\r\n")
        return lines

    def _send(self, head, body):
        write = self._write
        try:
            if _is_stream(body):
                self._send_parts(write, head, ())
                self._rare("send_stream", write, body)
            else:  # a small request goes as one TLS record
                sent = self._send_parts(write, head, body if isinstance(body, (list, Pieces)) else (body,))
                if isinstance(body, Pieces) and sent != body.length:  # made otherwise than it was counted
                    raise self._fail(
                        "request body to %s was %d bytes, not the %d its Content-Length said", sent, body.length
                    )
        except OSError as e:
            raise self._rare("send_failed", e)

    def _send_parts(self, write, head, parts):
        """The head's lines and the body's parts gathered into one small buffer, written each
        time it fills: few TLS records, and no allocation the size of the head or the body.
        Returns the body's length as sent."""
        buf = self._wbuf
        n = sent = 0
        for pieces in (head, parts):
            sent = 0
            for part in pieces:
                size = len(part)
                sent += size
                if n + size > WRITE_BUFFER:
                    if n:
                        write(memoryview(buf)[:n])
                        n = 0
                    if size > WRITE_BUFFER:
                        write(part)
                        part = None
                        continue
                buf[n : n + size] = part
                n += size
                part = None  # not held while the next is made (it may be read from flash)
        if n:
            write(memoryview(buf)[:n])
        return sent

    def _readline(self, first=False):
        while True:
            buf, pos = self._rbuf, self._rpos
            end = buf.find(b"\n", pos)
            if end >= 0:
                self._rpos = end + 1
                return buf[pos : end + 1]
            if len(buf) - pos >= MAX_LINE:
                raise self._fail("response line from %s longer than %d bytes", MAX_LINE)
            try:
                more = self._recv(LINE_PIECE)
            except OSError:
                if first and pos == len(buf):
                    raise _Stale()
                raise
            if not more:
                if first and pos == len(buf):
                    raise _Stale()
                raise self._fail("response from %s truncated")
            self._rbuf = buf[pos:] + more if pos < len(buf) else more
            self._rpos = 0

    def _buffered(self, n):
        """Up to n bytes already received, taken out of the buffer."""
        pos = self._rpos
        data = self._rbuf[pos : pos + n]
        self._rpos = pos + len(data)
        return data

    def _read_exact(self, n):
        """The next n bytes, in one bytearray of exactly that size: no pieces joined, so a body
        takes its own size of heap and no more."""
        body = bytearray(n)
        part = self._buffered(n)
        got = len(part)
        body[:got] = part
        while got < n:
            part = self._piece(min(n - got, BODY_PIECE))
            if not part:
                raise self._fail("response body from %s truncated (%d of %d bytes)", got, n)
            body[got : got + len(part)] = part
            got += len(part)
        return body

    def _fail(self, what, *args):
        """A ProtocolError: `what` with the server's address and then args for its other %s."""
        return ProtocolError(what % ((self.address(),) + args))

    def _read_response(self, method, sink=None):
        """One response, framed as RFC 9112 says; anything it forbids or leaves ambiguous is a
        ProtocolError (the connection is then closed), never a guess at where the body ends."""
        status, reason, version = self._status_line(self._readline(first=True))
        if status < 200:  # interim responses, then the final one
            status, reason, version = self._rare("interim", status)
        headers = self._headers()
        resp = Response(status, reason, headers, b"")
        conn = _joined(headers, "connection").lower()
        keep_alive = "close" not in conn and (version == b"HTTP/1.1" or "keep-alive" in conn)
        coding = _joined(headers, "transfer-encoding")
        length = self._content_length(headers)
        if not 200 <= status < 300:
            sink = None  # an error's body is read whole (and bounded): the caller parses it
        if method == "HEAD" or status in (204, 304):
            pass
        elif coding or length is None or sink is not None:  # a framing AWS does not use, or a sink
            resp.body = self._rare("odd_body", coding, length, version, sink)
            if length is None and not coding:  # a body that ended where the server closed
                keep_alive = False
        elif length > self.max_response:
            raise self._rare("too_large", length)
        else:
            resp.body = self._read_exact(length) if length else b""
        if self._rpos < len(self._rbuf):  # bytes past the response: nothing to read as the next one
            keep_alive = False
        if not keep_alive:
            self.close()
        return resp

    def _content_length(self, headers):
        """The Content-Length as an int, None when absent. Repeats must agree; anything but
        digits (a sign, spaces, underscores, which int() would take) is refused."""
        n = None
        for name, value in headers:
            if name != "content-length":
                continue
            for part in value.split(","):
                part = part.strip()
                if not part or len(part) > MAX_DIGITS or not part.isdigit():
                    raise self._rare("bad_length", value)
                if n is not None and int(part) != n:
                    raise self._rare("conflicting_length", value)
                n = int(part)
        return n

    def _status_line(self, line):
        line = line.rstrip(b"\r\n")
        version, code, reason = line[:8], line[9:12], line[13:]
        if (
            not version.startswith(b"HTTP/1.")
            or not version[7:8].isdigit()
            or line[8:9] != b" "
            or len(code) != 3
            or not code.isdigit()
            or code[:1] not in b"12345"
            or (len(line) > 12 and line[12:13] != b" ")
        ):
            raise self._rare("not_http", line)
        return int(code), _text(reason), version

    def _headers(self):
        """The header (or trailer) section: (lowercased name, value) pairs, values as Latin-1 text."""
        headers = []
        size = 0
        while True:
            line = self._readline()
            if line in (b"\r\n", b"\n"):
                return headers
            size += len(line)
            if size > MAX_HEAD:
                raise self._rare("head_too_large")
            line = line.rstrip(b"\r\n")
            if line[:1] in (b" ", b"\t"):  # obs-fold: a user agent unfolds it into one space
                if not headers:
                    raise self._rare("malformed", line)
                name, value = headers[-1]
                headers[-1] = (name, (value + " " + self._value(line)).strip())
                continue
            if len(headers) >= MAX_HEADERS:
                raise self._rare("too_many_headers")
            colon = line.find(b":")
            name = line[:colon]
            if colon <= 0 or not _is_token(name):
                raise self._rare("malformed", line)
            headers.append((_text(name).lower(), self._value(line[colon + 1 :])))

    def _value(self, raw):
        """A field value as text: obs-text bytes (RFC 9110) kept as Latin-1; control characters
        other than tab refused (a bare CR or NUL is how header injection looks)."""
        raw = raw.strip(b" \t")
        if raw and (min(raw) < 0x20 or 0x7F in raw):
            for c in raw:
                if c == 0x7F or (c < 0x20 and c != 0x09):
                    raise self._rare("control_char")
        return _text(raw)
