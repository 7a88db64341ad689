# S3 from a device in bounded memory: an object streamed into a file and a file streamed into an
# object, a piece of at most 512 bytes at a time, the SHA-256 computed as the bytes pass; requests
# signed with SigV4 under S3's path rules, addressed path-style (/bucket/key) or virtual-hosted
# (bucket.s3.<region>.amazonaws.com/key). sigv4 (10 KB of heap from .mpy on a 64-bit port) is
# loaded to sign a request and dropped again unless it was loaded before, as sigv4signer does:
# the heap a transfer streams through is not shared with the canonicalization's code.
import os
from binascii import hexlify
from hashlib import sha256

import iotsv_utc as utc
from iotsv_refusal import Refusal, xml_field
from iotsv_transient import call_with

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
PIECE = const(1024)  # the file is hashed in pieces of this size
MAX_MESSAGE = const(200)


class S3Error(Refusal):
    """S3 (or the server in its place) refused a request: its <Code> and <Message>, the status."""


def error_from_response(status, body, date=None):
    """The S3Error of an XML error body (<Error><Code>..</Code><Message>..</Message>); HTTPnnn and
    the body's text when it is no such body (a HEAD's empty one, a proxy's page)."""
    try:
        text = body.decode()
    except UnicodeError:
        text = ""
    code = xml_field(text, "Code")
    message = xml_field(text, "Message") if code else text  # not XML: the text itself
    message = " ".join((message or "").split())[:MAX_MESSAGE]
    return S3Error(code or "HTTP%d" % status, message or "no message", status, None, date)


def host_of(bucket, region, path_style=True):
    """The host S3 answers a bucket at: s3.<region>.amazonaws.com (path-style) or
    <bucket>.s3.<region>.amazonaws.com (virtual-hosted, what AWS recommends)."""
    host = "s3.%s.amazonaws.com" % region
    return host if path_style else bucket + "." + host


def _object_path(sigv4, bucket, key, path_style):
    if not key:
        raise ValueError("an object key must not be empty")
    path = sigv4.encode_path(key)
    return ("/" + bucket + "/" + path) if path_style else "/" + path


def object_path(bucket, key, path_style=True):
    """The request path of an object: /bucket/key (path-style) or /key, the key percent-encoded
    as S3 wants it ("/" kept, every byte but A-Z a-z 0-9 - _ . ~ as %XX, a "%" included)."""
    return call_with("iotsv_sigv4", lambda sigv4: _object_path(sigv4, bucket, key, path_style))


def _host_header(conn):
    default = 443 if conn.tls else 80
    return conn.host if conn.port == default else "%s:%d" % (conn.host, conn.port)


def signed_request(conn, credentials, region, method, bucket, key, headers, payload, amz_date=None, path_style=True):
    """(target, headers to send) of a request for an object on conn, signed with S3's rules:
    Host and X-Amz-Content-SHA256 (payload: the body's hex SHA-256 or UNSIGNED-PAYLOAD) first,
    then `headers`. sigv4 is loaded once for both (a module dropped and loaded again within one
    call can stay reachable from the stack, so its heap is not free for the second load)."""
    headers = [("Host", _host_header(conn)), ("X-Amz-Content-SHA256", payload)] + headers
    amz_date = amz_date or utc.amz_date(utc.now())

    def use(sigv4):
        target = _object_path(sigv4, bucket, key, path_style)
        c = credentials
        signed = sigv4.sign(
            method,
            target,
            "",
            headers,
            b"",
            c.access_key,
            c.secret_key,
            region,
            "s3",
            amz_date,
            c.session_token,
            s3=True,
        )
        return target, signed

    return call_with("iotsv_sigv4", use)


class _FileSink:
    """What a download's pieces go through: the hash, the file, the count."""

    def __init__(self, f, progress):
        self.f = f
        self.hash = sha256()
        self.size = 0
        self.progress = progress

    def __call__(self, piece):
        self.hash.update(piece)
        self.f.write(piece)
        self.size += len(piece)
        if self.progress:
            self.progress(self.size)


def get_to_file(conn, credentials, region, bucket, key, path, amz_date=None, path_style=True, progress=None):
    """GET an object into the file at `path` a piece at a time (Content-Length, chunked or to the
    end of the stream): never the object in memory. Returns (size, hex SHA-256 of what was
    written). On any failure the file is removed and the error raised: S3Error for a refusal,
    httpclient's HttpError for the network (a truncated body included). credentials: access_key,
    secret_key, session_token (dynamodb.Credentials, the IoT provider's). progress(size): called
    after each piece."""
    target, headers = signed_request(
        conn, credentials, region, "GET", bucket, key, [], EMPTY_SHA256, amz_date, path_style
    )
    f = open(path, "wb")
    try:
        sink = _FileSink(f, progress)
        resp = conn.request("GET", target, headers, b"", sink)
        f.close()
        if resp.status != 200:
            raise error_from_response(resp.status, resp.body, resp.header("date"))
    except BaseException:
        f.close()
        try:
            os.remove(path)
        except OSError:
            pass
        raise
    return sink.size, hexlify(sink.hash.digest()).decode()


class _Reader:
    """A file as an upload reads it, calling progress(sent so far) after each piece."""

    def __init__(self, f, progress):
        self.f = f
        self.progress = progress
        self.size = 0

    def readinto(self, buf):
        n = self.f.readinto(buf)
        if n:
            self.size += n
            self.progress(self.size)
        return n

    def tell(self):
        return self.f.tell()

    def seek(self, pos):
        self.size = pos
        return self.f.seek(pos)


def file_sha256(path):
    """(size, hex SHA-256) of a file, read a piece at a time."""
    buf = bytearray(PIECE)
    view = memoryview(buf)
    h = sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            size += n
    return size, hexlify(h.digest()).decode()


def put_file(
    conn,
    credentials,
    region,
    bucket,
    key,
    path,
    amz_date=None,
    path_style=True,
    content_type="application/octet-stream",
    unsigned_payload=False,
    progress=None,
):
    """PUT the file at `path` as an object, streamed from the file (it may be larger than the
    heap). Its SHA-256 is computed in a first pass over the file and signed as the payload hash,
    so S3 refuses a body that changed on the way; unsigned_payload=True skips that pass and signs
    UNSIGNED-PAYLOAD (TLS then protects the body). Returns (size, hex SHA-256 or None, ETag).
    progress(size): called after each piece sent."""
    if unsigned_payload:
        size, digest = os.stat(path)[6], None
    else:
        size, digest = file_sha256(path)
    extra = [("Content-Length", str(size)), ("Content-Type", content_type)]
    payload = digest or UNSIGNED_PAYLOAD
    target, headers = signed_request(
        conn, credentials, region, "PUT", bucket, key, extra, payload, amz_date, path_style
    )
    with open(path, "rb") as f:
        resp = conn.request("PUT", target, headers, _Reader(f, progress) if progress else f)
    if resp.status != 200:
        raise error_from_response(resp.status, resp.body, resp.header("date"))
    etag = (resp.header("etag") or "").strip('"')
    if not etag or b"<Error>" in resp.body:  # S3 answers a stored object with its ETag, and nothing else
        raise S3Error("MalformedResponse", "a 200 answer to PUT that is not S3's success", 200, True)
    return size, digest, etag
