# The HTTP client's rarely used paths, loaded by iotsv_httpclient (Connection._rare) only for the
# call that needs them, so a board's RAM holds them only while they run: bodies framed by chunks
# or by the end of the stream (AWS frames its answers with Content-Length), bodies streamed to a
# sink or sent from a file (S3, an update's download), interim (1xx) responses, a client
# certificate for mutual TLS, and the errors: most return the exception for the caller to raise.
# `conn` is an iotsv_httpclient.Connection.
import sys

from iotsv_httpclient import (
    BODY_PIECE,
    MAX_DIGITS,
    MAX_HEAD,
    MAX_HEADERS,
    MAX_LINE,
    ConnectError,
    HttpTimeout,
    ProtocolError,
    ResponseTooLarge,
    TlsError,
    _SinkFailed,
    ssl,
)

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
        part = conn._piece(n - got)  # at most a buffer's worth
        if not part:
            raise body_truncated(conn, got, n)


def _fail(conn, what, *args):
    """A ProtocolError: `what` with the server's address and then args for its other %s."""
    return ProtocolError(what % ((conn.address(),) + args))


def refuse_tls(ssl, ca_der):
    """Connection's refusal of TLS it cannot do."""
    if ssl is None:
        raise ValueError("this build has no ssl module: TLS is not available")
    raise ValueError("TLS needs a CA certificate (DER) to verify the server")


def line_too_long(conn):
    return _fail(conn, "response line from %s longer than %d bytes", MAX_LINE)


def truncated(conn):
    return _fail(conn, "response from %s truncated")


def body_truncated(conn, got, n):
    return _fail(conn, "response body from %s truncated (%d of %d bytes)", got, n)


def wrong_length(conn, sent, body):
    return _fail(conn, "request body to %s was %d bytes, not the %d its Content-Length said", sent, body.length)


def odd_body(conn, coding, length, http11, sink):
    """A body framed otherwise than by Content-Length alone, or one going to a sink."""
    if coding:
        # a length beside a coding is how responses are smuggled; a coding other than chunked
        # alone would need decoding (or reading to the end) that this client does not do
        if length is not None:
            raise _fail(conn, "response from %s has both Content-Length and Transfer-Encoding")
        if coding.lower() != "chunked" or not http11:
            raise _fail(conn, "unsupported Transfer-Encoding from %s: %r", coding[:40])
        return chunked_body(conn, sink)
    if length is None:
        return body_to_eof(conn, sink)
    stream_exact(conn, length, sink)
    return b""


def stream_exact(conn, n, sink):
    """n bytes of the body to the sink, as they come (at most BODY_PIECE at a time, views of
    the write buffer)."""
    got = 0
    part = conn._buffered(n)
    while True:
        if part:
            got += len(part)
            _feed(sink, part)
        if got >= n:
            return
        part = conn._piece(min(n - got, BODY_PIECE))
        if not part:
            raise body_truncated(conn, got, n)


def _feed(sink, piece):
    """A piece to the caller's sink; what the sink raises is passed on as it is."""
    try:
        sink(piece)
    except Exception as e:
        raise _SinkFailed(e)


def interim(conn, status):
    """The interim (1xx) responses, which carry no body, read past: the final response's status
    line, parsed."""
    count = 0
    while True:
        count += 1
        if status == 101 or count > MAX_INTERIM:  # never asked to switch protocols
            raise ProtocolError("unexpected %d response from %s" % (status, conn.address()))
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
            raise ProtocolError("cannot read the request body: %s" % reason(e))
        if not n:
            return
        write(view[:n])


def _readline(conn):
    """The next line, its line end included."""
    end = conn._line()
    pos = conn._rpos
    conn._rpos = end + 1
    return conn._rbuf[pos : end + 1]


def content_length(conn, headers):
    """The Content-Length as an int, None when absent. Repeats must agree; anything but
    digits (a sign, spaces, underscores, which int() would take) is refused."""
    n = None
    for name, value in headers:
        if name != "content-length":
            continue
        for part in value.split(","):
            part = part.strip()
            if not part or len(part) > MAX_DIGITS or not part.isdigit():
                raise _fail(conn, "bad Content-Length from %s: %r", value[:40])
            if n is not None and int(part) != n:
                raise _fail(conn, "conflicting Content-Length from %s: %r", value[:40])
            n = int(part)
    return n


def fold(conn, headers, line):
    """An obs-fold line: a user agent unfolds it into one space after the previous value."""
    if not headers:
        raise malformed(conn, line)
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
            raise _fail(conn, "bad chunk size from %s: %r", line[:20])
        size = int(size_text, 16)
        if size == 0:
            break
        if sink is not None:
            stream_exact(conn, size, sink)
        else:
            if len(body) + size > conn.max_response:
                raise too_large(conn, len(body) + size)
            _extend(conn, body, size)
        if _readline(conn) not in (b"\r\n", b"\n"):
            raise _fail(conn, "chunk from %s not followed by CRLF")
    conn._headers()
    return body


def body_to_eof(conn, sink=None):
    """A body that ends where the server closes the connection."""
    body = bytearray()
    chunk = conn._buffered(conn.max_response + 1)
    while True:
        if not chunk:
            chunk = conn._piece(conn.max_response)  # at most a buffer's worth
        if not chunk:
            return body
        if sink is not None:
            _feed(sink, chunk)
        else:
            if len(body) + len(chunk) > conn.max_response:
                raise too_large(conn, len(body) + len(chunk))
            body.extend(chunk)
        chunk = b""


def unresolved(conn, exc):
    return ConnectError("cannot resolve %s: %s" % (conn.host, reason(exc)))


def check_deadline(conn, exc, wait_ms):
    """A connect that timed out: the deadline's error when the deadline shortened its wait."""
    if is_timeout(exc) and wait_ms < int(conn.timeout_s * 1000):
        raise deadline(conn)


def unconnected(conn, exc):
    return ConnectError("cannot connect to %s: %s" % (conn.address(), reason(exc)))


def handshake_failed(conn, exc):
    why = getattr(exc, "verify_message", None) or reason(exc)
    if is_timeout(exc):
        if conn._left_ms() < int(conn.timeout_s * 1000):
            return deadline(conn)
        return HttpTimeout("TLS handshake with %s timed out" % conn.address())
    import iotsv_oserror as oserror

    if conn.mutual and oserror.code(exc) in (oserror.number("ECONNRESET"), oserror.number("EPIPE")):
        why = "the server closed the connection: it did not accept the device certificate"
    return TlsError("TLS handshake with %s failed: %s" % (conn.address(), why))


def tls_context(conn):
    """Connection.tls_context's work: the context made and kept on the connection."""
    assert ssl is not None  # the constructor refused TLS without it
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED  # MicroPython's default is CERT_NONE
    try:
        ctx.load_verify_locations(cadata=conn.ca_der)
    except (ValueError, OSError) as e:
        raise TlsError("CA certificate is not a valid DER certificate: %s" % reason(e))
    if conn.client_cert:
        try:
            load_client_cert(ctx, *conn.client_cert)  # mutual TLS
        except (ValueError, OSError) as e:
            raise TlsError("client certificate or key is not a valid DER certificate/key pair: %s" % reason(e))
    conn._ctx = ctx
    conn.ca_der = conn.client_cert = None  # parsed into the context: the DER copies can go
    return ctx


def load_client_cert(ctx, cert_der, key_der):
    """The device's certificate and key (DER) into an SSL context, for mutual TLS."""
    if sys.implementation.name == "micropython":
        ctx.load_cert_chain(cert_der, key_der)  # MicroPython takes DER bytes
        return
    # CPython loads PEM files only (host-side tools and tests): write them for the moment.
    import os
    import tempfile  # pyright: ignore[reportMissingImports]  # CPython only
    from binascii import b2a_base64

    def pem(kind, der):
        b64 = b2a_base64(der, newline=False).decode()
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (kind, "\n".join(lines), kind)

    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(pem("CERTIFICATE", cert_der) + pem("PRIVATE KEY", key_der))
        ctx.load_cert_chain(path)
    finally:
        os.remove(path)


def reason(exc):
    import iotsv_oserror

    return iotsv_oserror.reason(exc)


def deadline(conn):
    return HttpTimeout(
        "response from %s not complete after %ss (REQUEST_TIMEOUT_S)" % (conn.address(), conn.request_timeout_s)
    )


def timed_out(conn, wait_ms, exc=None):
    """The error of a wait that ran out: the deadline's when it was what shortened the wait. With
    exc (CPython's socket error), that error itself unless it is a timeout."""
    if exc is not None and not is_timeout(exc):
        return exc
    if wait_ms < int(conn.timeout_s * 1000):
        return deadline(conn)
    return HttpTimeout("no response from %s within %ss" % (conn.address(), conn.timeout_s))


def is_timeout(exc):
    import iotsv_oserror

    return iotsv_oserror.is_timeout(exc)


def send_failed(conn, exc):
    """What a failed write means: a timeout is one; any other error is taken for a kept-alive
    connection the server had closed (Connection.request opens it again)."""
    if is_timeout(exc):
        return exc
    from iotsv_httpclient import _Stale

    return _Stale()


def failed(conn, exc):
    """Connection.request's error for a MemoryError or an OSError out of a request."""
    if isinstance(exc, MemoryError):  # an answer within the bounds, but not within this heap
        return ResponseTooLarge("response from %s too large for the free heap" % conn.address())
    if is_timeout(exc):
        return HttpTimeout("no response from %s within %ss" % (conn.address(), conn.timeout_s))
    return _fail(conn, "connection to %s failed: %s", reason(exc))


def closed(conn):
    return _fail(conn, "%s closed the connection without a response")


def too_large(conn, n):
    return ResponseTooLarge("response from %s is larger than %d bytes (%d)" % (conn.address(), conn.max_response, n))


def not_http(conn, line):
    return _fail(conn, "not an HTTP response from %s: %r", line[:40])


def head_too_large(conn):
    return _fail(conn, "response headers from %s larger than %d bytes", MAX_HEAD)


def too_many_headers(conn):
    return ProtocolError("more than %d response headers from %s" % (MAX_HEADERS, conn.address()))


def malformed(conn, line):
    return _fail(conn, "malformed response header from %s: %r", line[:40])


def control_char(conn):
    return _fail(conn, "control character in a response header from %s")
