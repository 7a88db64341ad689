# A small HTTP/1.1 client over socket + ssl for MicroPython and CPython: TLS verified against a
# DER CA with SNI, one connection kept alive across requests, Content-Length and chunked bodies,
# socket timeouts, an overall deadline per request, and a bound on what a response may make us
# hold in memory. This module is the path of a request on an open connection; connecting
# (iotsv_httpconnect) and what is rare (iotsv_httprare: odd framings, streamed bodies, most
# errors' messages) are loaded only for the call that needs them and dropped after it.
import select  # after connecting, MicroPython's sockets are non-blocking and each wait is a poll
import socket
import sys
from binascii import crc32

from iotsv_refusal import (  # the errors' home, below the modules that raise them; users read them here
    ConnectError,  # noqa: F401
    HttpError,
    HttpTimeout,  # noqa: F401
    ProtocolError,  # noqa: F401
    ResponseTooLarge,
    TlsError,  # noqa: F401
)
from iotsv_ticks import diff as ticks_diff
from iotsv_ticks import ms as ticks_ms
from iotsv_transient import call_alone

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


try:  # MicroPython's TLS itself: its ssl module is a Python wrapper of it (a KB resident, not loaded)
    import tls as ssl
except ImportError:
    try:
        import ssl
    except ImportError:  # a build without TLS can still speak plain HTTP
        ssl = None

MICROPYTHON = sys.implementation.name == "micropython"
_MAX_LINE = const(4096)  # status and header lines
_LINE_PIECE = const(512)  # received at once for a line longer than the write buffer
BODY_PIECE = const(512)  # at most WRITE_BUFFER: a piece of a body is received into that buffer
_MAX_HEADERS = const(64)
_MAX_HEAD = const(8192)  # all header lines of one response together
_REMEMBERED = const(4)  # successful answers whose id a new answer must not repeat
_MAX_DIGITS = const(12)  # of a Content-Length: far past any body this client takes
# A body given in parts goes out in records of up to this size, and a response is received into it:
# half a KB of heap for good (a 25-item batch goes in 10 records instead of 5, at the same speed).
WRITE_BUFFER = const(512)


class _Stale(Exception):
    """A kept-alive connection the server had already closed: nothing of a response came."""


class _SinkFailed(Exception):
    """The caller's sink raised (args[0]): passed on as it is, not taken for a network failure."""


TCHAR = b"!#$%&'*+-.^_`|~"  # with digits and letters, what a header name is made of (RFC 9110)
# Header names servers send in (nearly) every answer, lowercased: one read from the wire is the
# constant here, not a string made for each response.
NAMES = (
    b"content-length",
    b"content-type",
    b"date",
    b"connection",
    b"x-amzn-requestid",
    b"x-amz-crc32",
)


def _is_token(buf, start, stop):
    for i in range(start, stop):
        c = buf[i]
        if not (0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A or c in TCHAR):
            return False
    return True


def _name(buf, start, stop):
    """The header name buf[start:stop] lowercased, as text."""
    n = stop - start
    for known in NAMES:
        if len(known) == n:
            for i in range(n):
                c = buf[start + i]
                if (c | 0x20 if 0x41 <= c <= 0x5A else c) != known[i]:
                    break
            else:
                return known.decode()
    return _text(buf[start:stop]).lower()


def _text(raw):
    """Bytes from the wire as text, byte for character (Latin-1): ASCII decodes as it is, and
    obs-text never raises, as a UTF-8 decode would."""
    if max(raw, default=0) < 0x80:
        return raw.decode()
    return "".join(chr(c) for c in raw)


def _joined(headers, name):
    """Every value of a header, joined as RFC 9110 joins repeated fields ("" when absent)."""
    joined = ""
    for n, v in headers:
        if n == name:
            joined = joined + ", " + v if joined else v
    return joined


def _stop(buf, start, end):
    """Where the line buf[start:end] ends without its line end (CRs and LFs)."""
    while end > start and buf[end - 1] in (10, 13):
        end -= 1
    return end


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
    nothing about the request it came after. Kept as 30 bits of each id's CRC-32, in slots
    written in turn: small ints, so a device's answers leave no object of theirs in the heap
    (strings and lists made at each answer and kept, scattered over a small heap, split it)."""

    def __init__(self):
        self.ids = [-1] * _REMEMBERED
        self.next = 0

    def repeats(self, answer_id):
        return _answer_key(answer_id) in self.ids

    def add(self, answer_id):
        self.ids[self.next] = _answer_key(answer_id)
        self.next = (self.next + 1) % _REMEMBERED


def _answer_key(answer_id):
    return crc32(answer_id.encode()) & 0x3FFFFFFF  # a small int on a 32-bit build too


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lowercased name, value)
        self.body = body  # type: bytes | bytearray

    def header(self, name, default=None):
        if not name.islower():  # callers mostly ask in lower case: no copy made then
            name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return default


def _call(module, name, *args):
    """module.name(*args), the module loaded for the call: on MicroPython it and every module it
    loaded leave the heap after it (iotsv_transient.call_alone); a host keeps them, as its
    sockets' module is called at each read."""
    if not MICROPYTHON:
        return getattr(__import__(module), name)(*args)
    return call_alone(lambda: getattr(__import__(module), name)(*args))


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
        if tls and (ssl is None or not ca_der):
            _call("iotsv_httperrors", "refuse_tls", ssl, ca_der)
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
        # first request, half a KB in one piece may no longer be there
        self._wbuf = bytearray(WRITE_BUFFER)
        # received and not yet parsed: self._rbuf[self._rpos : self._rend], where _rbuf is the
        # write buffer itself (a head is parsed where it was received), or bytes of their own
        # while a line longer than that buffer is read
        self._rbuf = b""
        self._rpos = self._rend = 0
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
        self._rpos = self._rend = 0

    # -- time: every wait is at most min(timeout_s, what is left of request_timeout_s) --------
    def _rare(self, name, *args):
        """iotsv_httprare.name(self, *args): a rare path's code, loaded for the call."""
        return _call("iotsv_httprare", name, self, *args)

    def _error(self, name, *args):
        """iotsv_httperrors.name(self, *args): the exception of a failure, loaded for the call."""
        return _call("iotsv_httperrors", name, self, *args)

    def _left_ms(self):
        return int(self.request_timeout_s * 1000) - ticks_diff(ticks_ms(), self._started)

    def _wait_ms(self):
        """How long the next socket operation may wait; the deadline error once it has passed."""
        left = self._left_ms()
        if left <= 0:
            raise self._error("deadline")
        return min(int(self.timeout_s * 1000), left)

    def _poll(self, event, wait_ms):
        self._poller.modify(self._sock, event)  # pyright: ignore[reportAttributeAccessIssue]
        return self._poller.poll(wait_ms)  # pyright: ignore[reportAttributeAccessIssue]

    def _recv_into(self, n, at=0):
        """Up to n bytes (n <= WRITE_BUFFER - at), whatever came first, received into the write
        buffer from index at (a request goes whole before its response is read); their count, 0
        at the end of the stream. One wait of at most _wait_ms(): a trickling server cannot
        stretch a read, and the deadline is checked between reads. Not read(n): MicroPython's
        allocates n + 1 bytes at every call, which a fragmented heap may not have in one piece."""
        buf = memoryview(self._wbuf)[at:] if at else self._wbuf
        while True:
            wait = self._wait_ms()
            if not MICROPYTHON:
                return _call("iotsv_httphost", "recv_into", self, buf, n, wait)
            # non-blocking: what is there, None when nothing is
            got = self._sock.readinto(buf, n)  # pyright: ignore[reportAttributeAccessIssue]
            if got is not None:
                return got
            if not self._poll(select.POLLIN, wait):
                raise self._error("timed_out", wait)

    def _piece(self, n):
        """Up to n bytes (at most BODY_PIECE) as _recv_into receives them, a view of the write
        buffer: for a sink, which takes them before the next read."""
        return memoryview(self._wbuf)[: self._recv_into(min(n, BODY_PIECE))]

    def _recv(self, n):
        """Up to n bytes as _recv_into receives them (b"" at the end), in bytes of their own."""
        return bytes(self._piece(n))

    def _write(self, data):
        """All of data, each wait at most _wait_ms()."""
        if not MICROPYTHON:
            return _call("iotsv_httphost", "write", self, data)
        view = memoryview(data)
        done = 0
        while done < len(view):
            wait = self._wait_ms()
            n = self._sock.write(view[done:])  # pyright: ignore[reportAttributeAccessIssue]
            if n:
                done += n
            elif not self._poll(select.POLLOUT, wait):
                raise self._error("timed_out", wait)

    def _connect(self):
        _call("iotsv_httpconnect", "connect", self)

    def tls_context(self):
        """The SSL context, made once per connection object and reused for every handshake: the
        CA is parsed once, and its few KB of heap are taken while the heap is young (the app asks
        for it at start) rather than looked for again in a fragmented heap at each reconnect."""
        if self._ctx is None:
            _call("iotsv_httptls", "tls_context", self, ssl)
        return self._ctx

    def request(self, method, target, headers, body=b"", sink=None):
        """Send one request (headers as given, plus Content-Length when the body needs one) and return
        its Response. A header's value is a str, or a tuple of str parts written one after the
        other (a signature after its fixed head: no joined copy). body: bytes, or a list of bytes
        parts, sent without joining them (no allocation the size of the body), or Pieces (made
        afresh for each sending, and refused as a ProtocolError should they not make the length
        they declared), or a file opened "rb" (anything with readinto and seek: sent from where it
        stands to its end through the write buffer, with the Content-Length header the caller
        gives). sink: a function that takes the body of a 2xx response piece by piece (up to
        BODY_PIECE bytes each, bytes or a memoryview of the connection's buffer, valid only during
        the call: copy what is kept) instead of its being gathered (resp.body is then b"" and
        max_response does not bound it; other statuses are read as usual); what the sink raises
        ends the request as it is. A kept-alive connection the server had closed is reopened once
        (a file body sent again from where it stood). All of it, reopening included, ends within
        request_timeout_s, or raises HttpTimeout saying so."""
        self._started = ticks_ms()
        head = (method, target, headers, self._tail(method, headers, body))
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
                    raise self._error("closed")
            except HttpError:
                self.close()
                raise
            except MemoryError:  # an answer within the bounds, but not within this heap
                self.close()
                raise ResponseTooLarge("response from %s too large for the free heap" % self.address())
            except OSError as e:
                self.close()
                raise self._error("failed", e)

    def _idle(self):
        """True when the kept-alive connection has nothing to read: bytes that came unasked since
        the last response (junk, or a response to nothing) would otherwise be read as the next
        request's answer, and an end of stream means the server closed it."""
        if not MICROPYTHON:
            return _call("iotsv_httphost", "idle", self)
        try:  # non-blocking already: None when nothing is there
            return self._sock.readinto(self._wbuf, 1) is None  # pyright: ignore[reportAttributeAccessIssue]
        except OSError:
            return False

    def _tail(self, method, headers, body):
        """What ends the head: its blank line, after a Content-Length line when the body needs
        one the caller did not give."""
        for name, _ in headers:
            if len(name) == 14 and name.lower() == "content-length":
                return b"\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            return b"Content-Length: %d\r\n\r\n" % _length(body)
        return b"\r\n"

    def _send(self, head, body):
        """The request line, the headers and the body gathered into the write buffer, written
        each time it fills: few TLS records, and no allocation the size of the head or the body
        (each header's name and value are encoded, not formatted into a line)."""
        method, target, headers, tail = head
        put = self._put
        try:
            n = put(put(put(put(0, method.encode()), b" "), target.encode()), b" HTTP/1.1\r\n")
            for name, value in headers:
                n = put(put(n, name.encode()), b": ")
                if isinstance(value, tuple):  # a value in parts, written one after the other
                    for part in value:
                        n = put(n, part.encode())
                else:
                    n = put(n, value.encode())
                n = put(n, b"\r\n")
            n = put(n, tail)
            if _is_stream(body):
                self._flush(n)
                self._rare("send_stream", self._write, body)
                return
            sent = 0
            for part in body if isinstance(body, (list, Pieces)) else (body,):
                sent += len(part)
                n = put(n, part)
                part = None  # not held while the next is made (it may be read from flash)
            self._flush(n)
            if isinstance(body, Pieces) and sent != body.length:  # made otherwise than it was counted
                raise self._error("wrong_length", sent, body)
        except OSError as e:
            raise self._error("send_failed", e) or _Stale()

    def _put(self, n, part):
        """part after the n bytes gathered in the write buffer, which is written first if part
        would overflow it (a part larger than the buffer goes as it is); the new count."""
        size = len(part)
        if n + size > WRITE_BUFFER:
            self._flush(n)
            n = 0
            if size > WRITE_BUFFER:
                self._write(part)
                return 0
        self._wbuf[n : n + size] = part
        return n + size

    def _flush(self, n):
        if n:
            self._write(memoryview(self._wbuf)[:n])

    def _line(self, first=False):
        """The index in self._rbuf of the b"\n" that ends the line at self._rpos, more received
        as needed (first: the response's first line, where nothing at all means the kept-alive
        connection was stale). The caller takes the line and moves self._rpos past it."""
        while True:
            end = self._rbuf.find(b"\n", self._rpos, self._rend)
            if end >= 0:
                return end
            if self._rend - self._rpos >= _MAX_LINE:
                raise self._error("line_too_long", _MAX_LINE)
            self._more(first)

    def _more(self, first):
        """More of the response after what is not yet parsed, received in place: that part is
        moved to the front of the write buffer and the rest received after it, so a head is
        parsed where it came and no copy of it is made. Only a line longer than the buffer is
        gathered in bytes of its own."""
        buf, pos, end = self._rbuf, self._rpos, self._rend
        kept = end - pos
        wbuf = self._wbuf
        try:
            if not kept or (buf is wbuf and kept < WRITE_BUFFER):
                if kept and pos:
                    wbuf[:kept] = buf[pos:end]  # a line cut by the last receive
                self._rbuf, self._rpos, self._rend = wbuf, 0, kept
                got = self._recv_into(WRITE_BUFFER - kept, kept)
                self._rend = kept + got
            else:
                self._rbuf, self._rpos, self._rend = buf[pos:end], 0, kept  # out of the buffer the next receive fills
                more = self._recv(_LINE_PIECE)
                got = len(more)
                self._rbuf += more
                self._rend = len(self._rbuf)
        except OSError:
            if first and not kept:
                raise _Stale()
            raise
        if not got:
            if first and not kept:
                raise _Stale()
            raise self._error("truncated")

    def _buffered(self, n):
        """Up to n bytes already received, taken out of the buffer."""
        pos = self._rpos
        data = self._rbuf[pos : min(pos + n, self._rend)]
        self._rpos = pos + len(data)
        return data

    def _read_exact(self, n):
        """The next n bytes: received with the head, a slice of the buffer; else in one bytearray
        of exactly that size: no pieces joined, so a body takes its own size of heap and no more."""
        pos = self._rpos
        if self._rend - pos >= n:
            self._rpos = pos + n
            return self._rbuf[pos : pos + n]
        body = bytearray(n)
        part = self._buffered(n)
        got = len(part)
        body[:got] = part
        while got < n:
            part = self._piece(n - got)
            if not part:
                raise self._error("body_truncated", got, n)
            body[got : got + len(part)] = part
            got += len(part)
        return body

    def _read_response(self, method, sink=None):
        """One response, framed as RFC 9112 says; anything it forbids or leaves ambiguous is a
        ProtocolError (the connection is then closed), never a guess at where the body ends."""
        status, reason, http11 = self._status_line(True)
        if status < 200:  # interim responses, then the final one
            status, reason, http11 = self._rare("interim", status)
        headers = self._headers()
        resp = Response(status, reason, headers, b"")
        conn = _joined(headers, "connection")
        if conn:
            conn = conn.lower()
        keep_alive = "close" not in conn and (http11 or "keep-alive" in conn)
        coding = _joined(headers, "transfer-encoding")
        length = self._content_length(headers)
        if not 200 <= status < 300:
            sink = None  # an error's body is read whole (and bounded): the caller parses it
        if method == "HEAD" or status in (204, 304):
            pass
        elif coding or length is None or sink is not None:  # a framing AWS does not use, or a sink
            resp.body = self._rare("odd_body", coding, length, http11, sink, _SinkFailed)
            if length is None and not coding:  # a body that ended where the server closed
                keep_alive = False
        elif length > self.max_response:
            raise self._error("too_large", length)
        else:
            resp.body = self._read_exact(length) if length else b""
        if self._rpos < self._rend:  # bytes past the response: nothing to read as the next one
            keep_alive = False
        if not keep_alive:
            self.close()
        self._rbuf = b""  # all of it parsed (the body a copy): not held until the next response
        self._rpos = self._rend = 0
        return resp

    def _content_length(self, headers):
        """The Content-Length as an int, None when absent; a list, repeats or anything but
        digits are iotsv_httprare.content_length's to judge."""
        n = None
        for name, value in headers:
            if name == "content-length":
                if n is not None or len(value) > _MAX_DIGITS or not value.isdigit():
                    return self._rare("content_length", headers, _MAX_DIGITS)
                n = int(value)
        return n

    def _status_line(self, first=False):
        """(status, reason, whether HTTP/1.1) of the next line, a status line or a ProtocolError."""
        end = self._line(first)
        buf, pos = self._rbuf, self._rpos
        self._rpos = end + 1
        stop = _stop(buf, pos, end)
        if (
            stop - pos < 12
            or not buf.startswith(b"HTTP/1.", pos)
            or not 0x30 <= buf[pos + 7] <= 0x39
            or buf[pos + 8] != 0x20
            or not 0x31 <= buf[pos + 9] <= 0x35
            or not 0x30 <= buf[pos + 10] <= 0x39
            or not 0x30 <= buf[pos + 11] <= 0x39
            or (stop - pos > 12 and buf[pos + 12] != 0x20)
        ):
            raise self._error("not_http", bytes(buf[pos:stop]))
        status = (buf[pos + 9] - 0x30) * 100 + (buf[pos + 10] - 0x30) * 10 + buf[pos + 11] - 0x30
        return status, _text(buf[pos + 13 : stop]), buf[pos + 7] == 0x31

    def _headers(self):
        """The header (or trailer) section: (lowercased name, value) pairs, values as Latin-1 text."""
        headers = []
        size = 0
        while True:
            end = self._line()
            buf, pos = self._rbuf, self._rpos
            self._rpos = end + 1
            if end == pos or (end == pos + 1 and buf[pos] == 13):  # the blank line
                return headers
            stop = _stop(buf, pos, end)
            size += end + 1 - pos
            if size > _MAX_HEAD:
                raise self._error("head_too_large", _MAX_HEAD)
            if buf[pos] in (0x20, 0x09):  # obs-fold: a user agent unfolds it into one space
                self._rare("fold", headers, bytes(buf[pos:stop]))
                continue
            if len(headers) >= _MAX_HEADERS:
                raise self._error("too_many_headers", _MAX_HEADERS)
            colon = buf.find(b":", pos, stop)
            if colon <= pos or not _is_token(buf, pos, colon):
                raise self._error("malformed", bytes(buf[pos:stop]))
            headers.append((_name(buf, pos, colon), self._value(buf, colon + 1, stop)))

    def _value(self, buf, start, stop):
        """The field value buf[start:stop], spaces and tabs around it left out, as text: obs-text
        bytes (RFC 9110) kept as Latin-1; control characters other than tab refused (a bare CR
        or NUL is how header injection looks)."""
        while start < stop and buf[start] in (0x20, 0x09):
            start += 1
        while stop > start and buf[stop - 1] in (0x20, 0x09):
            stop -= 1
        raw = buf[start:stop]
        if raw and (min(raw) < 0x20 or raw.find(b"\x7f") >= 0):
            for c in raw:
                if c == 0x7F or (c < 0x20 and c != 0x09):
                    raise self._error("control_char")
        return _text(raw)
