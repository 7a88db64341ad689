# The HTTP client's rarely used paths, imported where first needed so that a board's RAM holds
# them only if its server uses them: bodies framed by chunks or by the end of the stream (AWS
# frames its answers with Content-Length), and a client certificate for mutual TLS. `conn` is an
# iotsv_httpclient.Connection; its errors come from its own _fail, so nothing here imports it.
import sys

try:
    from micropython import const
except ImportError:  # CPython: the value itself

    def const(__value):  # positional only, as MicroPython's
        return __value


MAX_HEX = const(8)  # digits of a chunk size: far past any body the client takes


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
            raise conn._fail("response body from %s truncated (%d of %d bytes)", got, n)


def chunked_body(conn, sink=None):
    """A chunked body (RFC 9112 7.1): extensions allowed and ignored, trailers checked as headers
    are and ignored; a chunk size of anything but hex digits refused."""
    body = bytearray()
    while True:
        line = conn._readline().rstrip(b"\r\n")
        semi = line.find(b";")
        size_text = (line if semi < 0 else line[:semi]).rstrip(b" \t")
        if not size_text or len(size_text) > MAX_HEX or not _is_hex(size_text):
            raise conn._fail("bad chunk size from %s: %r", line[:20])
        size = int(size_text, 16)
        if size == 0:
            break
        if sink is not None:
            conn._stream_exact(size, sink)
        else:
            if len(body) + size > conn.max_response:
                conn._too_large(len(body) + size)
            _extend(conn, body, size)
        if conn._readline() not in (b"\r\n", b"\n"):
            raise conn._fail("chunk from %s not followed by CRLF")
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
            conn._feed(sink, chunk)
        else:
            if len(body) + len(chunk) > conn.max_response:
                conn._too_large(len(body) + len(chunk))
            body.extend(chunk)
        chunk = b""


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
