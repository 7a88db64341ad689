# A small HTTP/1.1 client over socket + ssl for MicroPython and CPython: TLS verified against a
# DER CA with SNI, one connection kept alive across requests, Content-Length and chunked bodies,
# socket timeouts and a bound on what a response may make us hold in memory.
import errno
import socket
import sys

try:
    import ssl
except ImportError:  # a build without TLS can still speak plain HTTP
    ssl = None

MICROPYTHON = sys.implementation.name == "micropython"
MAX_LINE = 4096  # status and header lines
LINE_PIECE = 256  # MicroPython's readline(n) allocates n bytes up front: read long lines in pieces
MAX_HEADERS = 64
WRITE_BUFFER = 1024  # a body given in parts goes out in records of up to this size


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


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lowercased name, value)
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return default


def _reason(exc):
    """A short, stable description of a socket error on either interpreter."""
    code = getattr(exc, "errno", None)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
    if code == errno.ECONNREFUSED:
        return "connection refused"
    if code == errno.ECONNRESET:
        return "connection reset"
    if code == 32:  # EPIPE, which MicroPython's errno does not name
        return "broken pipe"
    if code == errno.ETIMEDOUT or type(exc).__name__ in ("timeout", "TimeoutError"):
        return "timed out"
    if code in errno.errorcode:
        return errno.errorcode[code]
    text = str(exc).strip()
    return text or type(exc).__name__


def _length(body):
    if isinstance(body, list):
        n = 0
        for part in body:
            n += len(part)
        return n
    return len(body)


def _is_timeout(exc):
    return _reason(exc) == "timed out"


def _load_client_cert(ctx, cert_der, key_der):
    if MICROPYTHON:
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
    ):
        if tls and ssl is None:
            raise ValueError("this build has no ssl module: TLS is not available")
        if tls and not ca_der:
            raise ValueError("TLS needs a CA certificate (DER) to verify the server")
        self.host = host
        self.port = port or (443 if tls else 80)
        self.tls = tls
        self.ca_der = ca_der
        self.timeout_s = timeout_s
        self.max_response = max_response
        self.client_cert = (client_cert_der, client_key_der) if client_cert_der else None  # mutual TLS
        self.connects = 0  # connections opened (TLS handshakes when tls)
        # None while closed; reads and writes run only on an open connection (their pyright ignores say so)
        self._sock = None
        self._stream = None
        self._ctx = None
        self._wbuf = None

    def address(self):
        return "%s:%d" % (self.host, self.port)

    def close(self):
        for obj in (self._stream, self._sock):
            if obj is not None:
                try:
                    obj.close()
                except OSError:
                    pass
        self._sock = self._stream = None

    def _connect(self):
        try:
            infos = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
        except OSError as e:
            raise ConnectError("cannot resolve %s: %s" % (self.host, _reason(e)))
        sock = None
        last = None
        for info in infos:
            sock = socket.socket(info[0], socket.SOCK_STREAM)
            sock.settimeout(self.timeout_s)
            try:
                sock.connect(info[-1])
                break
            except OSError as e:
                sock.close()
                sock = None
                last = e
        if sock is None:
            raise ConnectError("cannot connect to %s: %s" % (self.address(), _reason(last)))
        if self.tls:
            sock = self._handshake(sock)
        self.connects += 1
        self._sock = sock
        # CPython's sockets need a buffered reader (makefile: the CPython branch, not in the stubs);
        # MicroPython's are streams with readline.
        self._stream = sock if MICROPYTHON else sock.makefile("rb")  # pyright: ignore[reportAttributeAccessIssue]

    def tls_context(self):
        """The SSL context, made once per connection object and reused for every handshake: the
        CA is parsed once, and its few KB of heap are taken while the heap is young (the app asks
        for it at start) rather than looked for again in a fragmented heap at each reconnect."""
        if self._ctx is None:
            assert ssl is not None  # the constructor refused TLS without it
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.verify_mode = ssl.CERT_REQUIRED  # MicroPython's default is CERT_NONE
            try:
                ctx.load_verify_locations(cadata=self.ca_der)
            except (ValueError, OSError) as e:
                raise TlsError("CA certificate is not a valid DER certificate: %s" % _reason(e))
            if self.client_cert:
                try:
                    _load_client_cert(ctx, *self.client_cert)
                except (ValueError, OSError) as e:
                    raise TlsError("client certificate or key is not a valid DER certificate/key pair: %s" % _reason(e))
            self._ctx = ctx
        return self._ctx

    def _handshake(self, sock):
        try:
            ctx = self.tls_context()
        except TlsError:
            sock.close()
            raise
        try:
            return ctx.wrap_socket(sock, server_hostname=self.host)
        except (ValueError, OSError) as e:
            sock.close()
            why = getattr(e, "verify_message", None) or _reason(e)
            if _is_timeout(e):
                raise HttpTimeout("TLS handshake with %s timed out" % self.address())
            if self.client_cert and why in ("connection reset", "broken pipe"):
                why = "the server closed the connection: it did not accept the device certificate"
            raise TlsError("TLS handshake with %s failed: %s" % (self.address(), why))

    def request(self, method, target, headers, body=b""):
        """Send one request (headers as given, plus Content-Length when the body needs one) and
        return its Response. body: bytes, or a list of bytes parts, sent without joining them
        (no allocation the size of the body). A kept-alive connection the server had closed is
        reopened once."""
        head = self._head(method, target, headers, body)
        for attempt in (0, 1):
            reused = self._sock is not None
            if not reused:
                self._connect()
            try:
                self._send(head, body)
                return self._read_response(method)
            except _Stale:
                self.close()
                if not reused or attempt:
                    raise ProtocolError("%s closed the connection without a response" % self.address())
            except HttpError:
                self.close()
                raise
            except OSError as e:
                self.close()
                if _is_timeout(e):
                    raise HttpTimeout("no response from %s within %ss" % (self.address(), self.timeout_s))
                raise ProtocolError("connection to %s failed: %s" % (self.address(), _reason(e)))

    def _head(self, method, target, headers, body):
        lines = [method, " ", target, " HTTP/1.1\r\n"]
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                has_length = True
            lines.append("%s: %s\r\n" % (name, value))
        if not has_length and (body or method in ("POST", "PUT", "PATCH")):
            lines.append("Content-Length: %d\r\n" % _length(body))
        lines.append("\r\n")
        return "".join(lines).encode()

    def _send(self, head, body):
        write = getattr(self._sock, "sendall", None) or self._sock.write  # pyright: ignore[reportOptionalMemberAccess]
        try:
            if isinstance(body, list):
                self._send_parts(write, head, body)
            elif body and len(body) <= 2048:
                write(head + body)  # one TLS record for a small request
            else:
                write(head)
                if body:
                    write(body)
        except OSError as e:
            if _is_timeout(e):
                raise
            raise _Stale()

    def _send_parts(self, write, head, parts):
        """The head and the parts gathered into one small buffer, written each time it fills: few
        TLS records, and no allocation the size of the body."""
        if self._wbuf is None:
            self._wbuf = bytearray(WRITE_BUFFER)
        buf = self._wbuf
        n = 0
        i = -1
        while i < len(parts):
            part = head if i < 0 else parts[i]  # the head first, without a new list for it
            i += 1
            size = len(part)
            if n + size > WRITE_BUFFER:
                if n:
                    write(memoryview(buf)[:n])
                    n = 0
                if size > WRITE_BUFFER:
                    write(part)
                    continue
            buf[n : n + size] = part
            n += size
        if n:
            write(memoryview(buf)[:n])

    def _readline(self, first=False):
        # the stubs' readline() lacks the size MicroPython's streams take
        try:
            line = self._stream.readline(LINE_PIECE)  # pyright: ignore[reportOptionalMemberAccess, reportCallIssue]
        except OSError as e:
            if first and not _is_timeout(e):
                raise _Stale()
            raise
        if first and not line:
            raise _Stale()
        while line and not line.endswith(b"\n"):
            if len(line) >= MAX_LINE:
                raise ProtocolError("response line from %s longer than %d bytes" % (self.address(), MAX_LINE))
            piece = self._stream.readline(LINE_PIECE)  # pyright: ignore[reportOptionalMemberAccess, reportCallIssue]
            if not piece:
                break
            line += piece
        if not line.endswith(b"\n"):
            raise ProtocolError("response from %s truncated" % self.address())
        return line

    def _read_exact(self, n):
        data = self._stream.read(n)  # pyright: ignore[reportOptionalMemberAccess]
        if data is None or len(data) < n:
            got = 0 if data is None else len(data)
            raise ProtocolError("response body from %s truncated (%d of %d bytes)" % (self.address(), got, n))
        return data

    def _too_large(self, n):
        raise ResponseTooLarge("response from %s is larger than %d bytes (%d)" % (self.address(), self.max_response, n))

    def _read_response(self, method):
        status, reason, version = self._status_line(self._readline(first=True))
        while 100 <= status < 200:  # interim responses carry no body
            self._headers()
            status, reason, version = self._status_line(self._readline())
        headers = self._headers()
        resp = Response(status, reason, headers, b"")
        conn = (resp.header("connection") or "").lower()
        keep_alive = "close" not in conn and (version == b"HTTP/1.1" or "keep-alive" in conn)
        length = resp.header("content-length")
        if method == "HEAD" or status in (204, 304):
            pass
        elif "chunked" in (resp.header("transfer-encoding") or "").lower():
            resp.body = self._chunked_body()
        elif length is not None:
            try:
                n = int(length)
            except ValueError:
                raise ProtocolError("bad Content-Length from %s: %r" % (self.address(), length))
            if n > self.max_response:
                self._too_large(n)
            resp.body = self._read_exact(n) if n else b""
        else:
            resp.body = self._body_to_eof()
            keep_alive = False
        if not keep_alive:
            self.close()
        return resp

    def _status_line(self, line):
        parts = line.rstrip(b"\r\n").split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError("not an HTTP response from %s: %r" % (self.address(), line[:40]))
        reason = parts[2].decode() if len(parts) > 2 else ""
        return int(parts[1]), reason, parts[0]

    def _headers(self):
        headers = []
        while True:
            line = self._readline()
            if line in (b"\r\n", b"\n"):
                return headers
            if len(headers) >= MAX_HEADERS:
                raise ProtocolError("more than %d response headers from %s" % (MAX_HEADERS, self.address()))
            colon = line.find(b":")
            if colon <= 0:
                raise ProtocolError("malformed response header from %s: %r" % (self.address(), line[:40]))
            headers.append((line[:colon].strip().lower().decode(), line[colon + 1 :].strip().decode()))

    def _chunked_body(self):
        parts = []
        total = 0
        while True:
            size_line = self._readline().split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ProtocolError("bad chunk size from %s: %r" % (self.address(), size_line[:20]))
            if size == 0:
                break
            total += size
            if total > self.max_response:
                self._too_large(total)
            parts.append(self._read_exact(size))
            if self._readline() not in (b"\r\n", b"\n"):
                raise ProtocolError("chunk from %s not followed by CRLF" % self.address())
        while self._readline() not in (b"\r\n", b"\n"):  # trailers, ignored
            pass
        return b"".join(parts)

    def _body_to_eof(self):
        parts = []
        total = 0
        while True:
            chunk = self._stream.read(1024)  # pyright: ignore[reportOptionalMemberAccess]
            if not chunk:
                return b"".join(parts)
            total += len(chunk)
            if total > self.max_response:
                self._too_large(total)
            parts.append(chunk)
