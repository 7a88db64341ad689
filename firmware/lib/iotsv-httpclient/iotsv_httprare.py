# The HTTP client's rarely used paths, loaded by iotsv_httpclient (Connection._rare) only for the
# call that needs them, so a board's RAM holds them only while they run: bodies framed by chunks
# or by the end of the stream (AWS frames its answers with Content-Length), bodies streamed to a
# sink or sent from a file (S3, an update's download), interim (1xx) responses, odd
# Content-Length and folded header values. Their errors come from iotsv_httperrors, loaded only
# when one happens. `conn` is an iotsv_httpclient.Connection; what else of the client a call
# needs is given as an argument.

try:
    from micropython import const
except ImportError:  # CPython: the value itself

    def const(__value):  # positional only, as MicroPython's
        return __value


MAX_HEX = const(8)  # digits of a chunk size: far past any body the client takes
MAX_INTERIM = const(8)  # 1xx responses before the final one


def _is_hex(digits):
    for c in digits:
        if not (0x30 <= c <= 0x39 or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66):
            return False
    return True


def _extend(conn, body, n):
    """The next n bytes appended to body (a bytearray), piece by piece."""
    got = 0
    part = conn._buffered(n)
    while True:
        body.extend(part)
        got += len(part)
        if got >= n:
            return
        part = conn._piece(n - got)  # at most a body piece (the client's BODY_PIECE)
        if not part:
            raise conn._error("body_truncated", got, n)


def odd_body(conn, coding, length, http11, sink, sink_failed):
    """A body framed otherwise than by Content-Length alone, or one going to a sink, whose
    exceptions are raised wrapped in sink_failed (the client's _SinkFailed)."""
    if sink is not None:
        sink = _guarded(sink, sink_failed)
    if coding:
        # a length beside a coding is how responses are smuggled; a coding other than chunked
        # alone would need decoding (or reading to the end) that this client does not do
        if length is not None:
            raise conn._error("fail", "response from %s has both Content-Length and Transfer-Encoding")
        if coding.lower() != "chunked" or not http11:
            raise conn._error("fail", "unsupported Transfer-Encoding from %s: %r", coding[:40])
        return chunked_body(conn, sink)
    if length is None:
        return body_to_eof(conn, sink)
    stream_exact(conn, length, sink)
    return b""


def stream_exact(conn, n, sink):
    """n bytes of the body to the sink, as they come (at most a body piece at a time, views of
    the write buffer)."""
    got = 0
    part = conn._buffered(n)
    while True:
        if part:
            got += len(part)
            sink(part)
        if got >= n:
            return
        part = conn._piece(n - got)
        if not part:
            raise conn._error("body_truncated", got, n)


def _guarded(sink, failed):
    """The caller's sink, what it raises wrapped in failed, to be passed on as it is."""

    def feed(piece):
        try:
            sink(piece)
        except Exception as e:
            raise failed(e)

    return feed


def interim(conn, status):
    """The interim (1xx) responses, which carry no body, read past: the final response's status
    line, parsed."""
    count = 0
    while True:
        count += 1
        if status == 101 or count > MAX_INTERIM:  # never asked to switch protocols
            raise conn._error("unexpected", status)
        conn._headers()
        final = conn._status_line()
        status = final[0]
        if status >= 200:
            return final


def send_stream(conn, write, source):
    """A file's bytes through the write buffer, a buffer's worth at a time."""
    buf = conn._wbuf
    view = memoryview(buf)
    while True:
        try:
            n = source.readinto(buf)
        except OSError as e:
            raise conn._error("unreadable_body", e)
        if not n:
            return
        write(view[:n])


def _readline(conn):
    """The next line, its line end included, as bytes (the client's buffer is a bytearray)."""
    end = conn._line()
    pos = conn._rpos
    conn._rpos = end + 1
    return bytes(conn._rbuf[pos : end + 1])


def content_length(conn, headers, max_digits):
    """The Content-Length as an int, None when absent. Repeats must agree; anything but
    digits (a sign, spaces, underscores, which int() would take) or more than max_digits is
    refused."""
    n = None
    for name, value in headers:
        if name != "content-length":
            continue
        for part in value.split(","):
            part = part.strip()
            if not part or len(part) > max_digits or not part.isdigit():
                raise conn._error("fail", "bad Content-Length from %s: %r", value[:40])
            if n is not None and int(part) != n:
                raise conn._error("fail", "conflicting Content-Length from %s: %r", value[:40])
            n = int(part)
    return n


def fold(conn, headers, line):
    """An obs-fold line: a user agent unfolds it into one space after the previous value."""
    if not headers:
        raise conn._error("malformed", line)
    name, value = headers[-1]
    headers[-1] = (name, (value + " " + conn._value(line, 0, len(line))).strip())


def chunked_body(conn, sink=None):
    """A chunked body (RFC 9112 7.1): extensions allowed and ignored, trailers checked as headers
    are and ignored; a chunk size of anything but hex digits refused."""
    body = bytearray()
    while True:
        line = _readline(conn).rstrip(b"\r\n")
        semi = line.find(b";")
        size_text = (line if semi < 0 else line[:semi]).rstrip(b" \t")
        if not size_text or len(size_text) > MAX_HEX or not _is_hex(size_text):
            raise conn._error("fail", "bad chunk size from %s: %r", line[:20])
        size = int(size_text, 16)
        if size == 0:
            break
        if sink is not None:
            stream_exact(conn, size, sink)
        else:
            if len(body) + size > conn.max_response:
                raise conn._error("too_large", len(body) + size)
            _extend(conn, body, size)
        if _readline(conn) not in (b"\r\n", b"\n"):
            raise conn._error("fail", "chunk from %s not followed by CRLF")
    conn._headers()
    return body


def body_to_eof(conn, sink=None):
    """A body that ends where the server closes the connection."""
    body = bytearray()
    chunk = conn._buffered(conn.max_response + 1)
    while True:
        if not chunk:
            chunk = conn._piece(conn.max_response)  # at most a body piece (the client's BODY_PIECE)
        if not chunk:
            return body
        if sink is not None:
            sink(chunk)
        else:
            if len(body) + len(chunk) > conn.max_response:
                raise conn._error("too_large", len(body) + len(chunk))
            body.extend(chunk)
        chunk = b""
