# s3 (objects streamed to and from files) and httpclient's streaming (a sink for a response's
# body, a file for a request's) against the scripted local server (tests/stub_http.py), on both
# interpreters: Content-Length, chunked and to-the-end bodies, truncation, refusals, a stale
# connection, and pieces that never exceed BODY_PIECE.
import json
import os
from binascii import hexlify
from hashlib import sha256

import iotsv_httpclient as httpclient
import iotsv_s3 as s3
from portable import raises, read_bytes, scratch, skip

AMZ_DATE = "20261123T053923Z"


class Keys:
    access_key = "AKIDEXAMPLE"
    secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    session_token = None


def _env(name):
    value = os.getenv(name)
    if not value:
        skip("stub HTTP server not running (%s unset)" % name)
    return value


def plain(**kw):
    return httpclient.Connection("127.0.0.1", int(_env("STUB_HTTP_PORT")), tls=False, **kw)


def tls(**kw):
    ca = read_bytes(_env("STUB_CA_DER"))
    return httpclient.Connection("localhost", int(_env("STUB_HTTPS_PORT")), tls=True, ca_der=ca, **kw)


def _hex(data):
    return hexlify(sha256(data).digest()).decode()


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _get(conn, key, name):
    """The stub answers by path: virtual-hosted addressing makes the key the whole path."""
    path = scratch(name)
    pieces = []
    last = [0]

    def progress(size):
        pieces.append(size - last[0])
        last[0] = size

    size, digest = s3.get_to_file(conn, Keys, "us-east-1", "bucket", key, path, AMZ_DATE, False, progress)
    return path, size, digest, pieces


def test_object_with_content_length_larger_than_max_response_streams_to_the_file():
    for conn in (plain(), tls()):
        path, size, digest, pieces = _get(conn, "big", "s3-big")  # 100000 bytes; max_response 16384
        assert size == 100000 and digest == _hex(b"x" * 100000)
        assert read_bytes(path) == b"x" * 100000
        assert sum(pieces) == 100000 and max(pieces) <= httpclient.BODY_PIECE, max(pieces)
        r = conn.request("GET", "/len", [("Host", "x")])  # the connection is still good
        assert r.body == b"hello"
        conn.close()


def test_chunked_and_to_the_end_objects():
    path, size, digest, pieces = _get(plain(), "bigchunked", "s3-chunked")
    assert size == 40 * 1024 and digest == _hex(b"y" * 40960) and read_bytes(path) == b"y" * 40960
    assert max(pieces) <= httpclient.BODY_PIECE
    path, size, digest, _ = _get(plain(), "chunked", "s3-small-chunked")
    assert (size, read_bytes(path)) == (5, b"hello")
    path, size, digest, _ = _get(plain(), "eof", "s3-eof")
    assert read_bytes(path) == b"until the end" and digest == _hex(b"until the end")


def test_truncated_object_is_an_error_and_leaves_no_file():
    path = scratch("s3-truncated")
    e = raises(
        httpclient.ProtocolError, s3.get_to_file, plain(), Keys, "us-east-1", "b", "truncated", path, AMZ_DATE, False
    )
    assert "truncated (4 of 10 bytes)" in str(e), str(e)
    assert not _exists(path)


def test_refusal_is_an_s3_error_and_leaves_no_file():
    path = scratch("s3-missing")
    e = raises(s3.S3Error, s3.get_to_file, plain(), Keys, "us-east-1", "b", "no-such-key", path, AMZ_DATE, False)
    assert (e.code, e.status, e.message, e.retryable) == ("HTTP404", 404, "not found", False)
    assert not _exists(path)


def test_error_body_is_read():
    body = (
        b"<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code>"
        b"<Message>The request\n  signature we calculated does not match</Message></Error>"
    )
    e = s3.error_from_response(403, body, "Mon, 23 Nov 2026 05:39:23 GMT")
    assert str(e) == "SignatureDoesNotMatch (HTTP 403): The request signature we calculated does not match"
    assert e.date == "Mon, 23 Nov 2026 05:39:23 GMT" and not e.retryable
    assert s3.error_from_response(503, b"<Error><Code>SlowDown</Code></Error>").retryable


def test_object_paths():
    assert s3.object_path("firmware", "releases/v1.2 \u00fc/app%.bin") == "/firmware/releases/v1.2%20%C3%BC/app%25.bin"
    assert s3.object_path("firmware", "a~b-_.c", path_style=False) == "/a~b-_.c"
    assert s3.host_of("firmware", "eu-west-1") == "s3.eu-west-1.amazonaws.com"
    assert s3.host_of("firmware", "eu-west-1", path_style=False) == "firmware.s3.eu-west-1.amazonaws.com"
    raises(ValueError, s3.object_path, "firmware", "")


def _file(name, size):
    path = scratch(name)
    with open(path, "wb") as f:
        for i in range(size // 100):
            f.write(b"%099d\n" % i)
        f.write(b"z" * (size % 100))
    return path, read_bytes(path)


def test_put_streams_the_file_with_its_hash_signed():
    path, data = _file("s3-put", 3 * httpclient.WRITE_BUFFER + 17)
    for conn in (plain(max_response=65536), tls(max_response=65536)):
        size, digest, etag = s3.put_file(conn, Keys, "us-east-1", "bucket", "echo", path, AMZ_DATE, False, "text/plain")
        assert (size, digest, etag) == (len(data), _hex(data), "echoed")
        # the stub answers PUT /echo with what it got; the same again through put's own request
        extra = [("Content-Length", str(len(data))), ("Content-Type", "text/plain")]
        target, signed = s3.signed_request(
            conn, Keys, "us-east-1", "PUT", "bucket", "echo", extra, digest, AMZ_DATE, False
        )
        assert target == "/echo"
        with open(path, "rb") as f:
            doc = json.loads(conn.request("PUT", target, signed, f).body)
        assert doc["body"] == data.decode() and doc["method"] == "PUT"
        headers = dict(doc["headers"])
        assert headers["X-Amz-Content-SHA256"] == _hex(data) and headers["Content-Length"] == str(len(data))
        assert (
            "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date,"
            in headers["Authorization"]
        )
        conn.close()


def test_put_with_unsigned_payload_reads_the_file_once():
    path, data = _file("s3-put-unsigned", 2500)
    size, digest, _ = s3.put_file(
        plain(), Keys, "us-east-1", "bucket", "echo", path, AMZ_DATE, False, unsigned_payload=True
    )
    assert (size, digest) == (2500, None)


def test_file_body_needs_its_length_and_is_sent_again_on_a_stale_connection():
    path, data = _file("s3-stale", 5000)
    c = plain(max_response=65536)
    with open(path, "rb") as f:
        raises(ValueError, c.request, "PUT", "/echo", [("Host", "x")], f)
    assert c.request("GET", "/drop-after", [("Host", "x")]).body == b"then gone"  # kept alive, then closed
    with open(path, "rb") as f:
        f.read(1000)  # sent from where it stands
        r = c.request("PUT", "/echo", [("Host", "x"), ("Content-Length", "4000")], f)
    assert json.loads(r.body)["body"] == data[1000:].decode()
    assert c.connects == 2
    c.close()


def test_what_the_sink_raises_is_raised_as_it_is():
    c = plain()

    def full(piece):
        raise OSError(28)

    e = raises(OSError, c.request, "GET", "/big", [("Host", "x")], b"", full)
    assert e.args[0] == 28
    assert c.request("GET", "/len", [("Host", "x")]).body == b"hello"  # reopened


def test_only_a_success_goes_to_the_sink():
    got = []
    keep = lambda piece: got.append(bytes(piece))  # noqa: E731  (a piece may be a view of the connection's buffer)
    r = plain().request("GET", "/nothing-here", [("Host", "x")], b"", keep)
    assert (r.status, r.body, got) == (404, b"not found", [])
    r = plain().request("GET", "/len", [("Host", "x")], b"", keep)
    assert (r.status, r.body, b"".join(got)) == (200, b"", b"hello")


def test_a_sink_s_pieces_are_the_body_in_order_each_at_most_a_body_piece():
    # received into the connection's buffer: each piece must be taken before the next comes
    body = bytes(i * 7 % 251 for i in range(10000))
    for conn in (plain(), tls()):
        for path in ("/pattern", "/pattern-eof"):
            got = []
            keep = lambda piece, got=got: got.append(bytes(piece))  # noqa: E731
            r = conn.request("GET", path, [("Host", "x")], b"", keep)
            assert (r.status, r.body) == (200, b""), r.status
            assert b"".join(got) == body and max(len(p) for p in got) <= httpclient.BODY_PIECE, path
