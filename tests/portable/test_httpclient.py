# The HTTP client against a scripted local server (tests/stub_http.py, started by conftest), on
# both interpreters: TLS verification, keep-alive, body framings, bounds, timeouts.
import json
import os
import sys
import time

from iotsv_httpclient import (
    Answered,
    ConnectError,
    Connection,
    HttpTimeout,
    Pieces,
    ProtocolError,
    ResponseTooLarge,
    TlsError,
)
from portable import raises, read_bytes, skip


def _env(name):
    value = os.getenv(name)
    if not value:
        skip("stub HTTP server not running (%s unset)" % name)
    return value


def tls(host="localhost", ca="STUB_CA_DER", **kw):
    return Connection(host, int(_env("STUB_HTTPS_PORT")), tls=True, ca_der=read_bytes(_env(ca)), **kw)


def plain(**kw):
    return Connection("127.0.0.1", int(_env("STUB_HTTP_PORT")), tls=False, **kw)


def test_tls_request_is_sent_as_given_with_content_length_added():
    c = tls()
    r = c.request("POST", "/echo?a=1", [("Host", "localhost"), ("X-Amz-Target", "T.Put")], b'{"k":1}')
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    doc = json.loads(r.body)
    assert doc["method"] == "POST" and doc["target"] == "/echo?a=1" and doc["body"] == '{"k":1}'
    assert doc["headers"] == [["Host", "localhost"], ["X-Amz-Target", "T.Put"], ["Content-Length", "7"]]
    c.close()


def test_a_header_value_in_parts_is_sent_as_one_value():
    c = tls()
    value = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ", "Signature=abc")
    r = c.request("GET", "/echo", [("Host", "localhost"), ("Authorization", value), ("X-A", ("b",))])
    assert json.loads(r.body)["headers"] == [["Host", "localhost"], ["Authorization", "".join(value)], ["X-A", "b"]]
    c.close()


def test_body_in_parts_is_sent_whole_without_being_joined():
    # small parts gathered, one part larger than the write buffer sent as it is
    parts = [b'{"a":"', b"x" * 1500, b'","b":"'] + [b"y" * 100] * 30 + [b'"}']
    c = tls()
    r = c.request("POST", "/echo", [("Host", "localhost")], parts)
    doc = json.loads(r.body)
    assert doc["body"] == b"".join(parts).decode()
    assert doc["headers"][-1] == ["Content-Length", str(len(b"".join(parts)))]
    c.close()


def test_a_body_of_pieces_is_made_afresh_to_be_sent_with_the_length_given():
    made = []

    def pieces():
        made.append(1)
        yield b'{"a":"'
        for _ in range(20):
            yield b"z" * 200
        yield b'"}'

    c = tls()
    r = c.request("POST", "/echo", [("Host", "localhost")], Pieces(pieces, 4008))
    doc = json.loads(r.body)
    assert len(made) == 1 and doc["body"] == '{"a":"' + "z" * 4000 + '"}'
    assert doc["headers"][-1] == ["Content-Length", "4008"]
    # made otherwise than counted (the spool changed between the passes): never sent as if whole
    e = raises(ProtocolError, c.request, "POST", "/echo", [("Host", "localhost")], Pieces(pieces, 4009))
    assert str(e).startswith("request body to localhost:") and str(e).endswith(
        " was 4008 bytes, not the 4009 its Content-Length said"
    )
    assert c._sock is None  # the server is still waiting for the last byte: that connection is done
    assert c.request("GET", "/len", [("Host", "localhost")]).body == b"hello"
    c.close()


def test_connection_is_kept_alive_across_requests():
    c = tls()
    for _ in range(5):
        assert c.request("GET", "/len", [("Host", "localhost")]).body == b"hello"
    assert c.connects == 1
    c.close()


def test_connecting_and_rare_paths_leave_no_module_loaded_on_micropython():
    # the steady path is iotsv_httpclient alone: a connect, a chunked body and an error load
    # their modules for the call only (a host keeps them loaded: it has the memory)
    c = tls()
    assert c.request("GET", "/len", [("Host", "localhost")]).body == b"hello"
    assert c.request("GET", "/chunked", [("Host", "localhost")]).body == b"hello"
    assert c.request("GET", "/nothing-here", [("Host", "localhost")]).status == 404
    assert c.connects == 1
    assert "4 of 10" in str(raises(ProtocolError, c.request, "GET", "/truncated", [("Host", "h")]))
    loaded = [
        m
        for m in ("iotsv_httpconnect", "iotsv_httptls", "iotsv_httprare", "iotsv_httperrors", "iotsv_oserror")
        if m in sys.modules
    ]
    assert loaded == [] if sys.implementation.name == "micropython" else "iotsv_httpconnect" in loaded
    c.close()


def test_ip_address_is_verified_against_the_certificate():
    c = tls(host="127.0.0.1")
    assert c.request("GET", "/len", [("Host", "127.0.0.1")]).body == b"hello"
    c.close()


def test_server_signed_by_another_ca_is_refused():
    msg = str(raises(TlsError, tls(ca="STUB_OTHER_CA_DER").request, "GET", "/len", [("Host", "localhost")]))
    assert "failed" in msg and "localhost:" in msg, msg


def test_certificate_for_another_name_is_refused():
    # Signed by the trusted CA, but for wrong.example only.
    c = Connection("localhost", int(_env("STUB_WRONGNAME_PORT")), ca_der=read_bytes(_env("STUB_CA_DER")))
    msg = str(raises(TlsError, c.request, "GET", "/len", [("Host", "localhost")]))
    assert "localhost:" in msg, msg


def test_bad_ca_is_refused_when_the_context_is_made():
    c = Connection("localhost", 443, tls=True, ca_der=b"not a certificate")
    assert "not a valid DER certificate" in str(raises(TlsError, c.tls_context))


def test_tls_needs_a_ca():
    raises(ValueError, Connection, "localhost", 443)


def test_chunked_body_with_extension_and_trailer():
    c = plain()
    assert c.request("GET", "/chunked", [("Host", "h")]).body == b"hello"
    assert c.request("GET", "/len", [("Host", "h")]).body == b"hello"  # still in step
    assert c.connects == 1
    c.close()


def test_connection_close_and_body_to_eof_reconnect_next_time():
    c = plain()
    assert c.request("GET", "/close", [("Host", "h")]).body == b"bye"
    assert c.request("GET", "/eof", [("Host", "h")]).body == b"until the end"
    assert c.request("GET", "/len", [("Host", "h")]).body == b"hello"
    assert c.connects == 3
    c.close()


def test_stale_kept_alive_connection_is_reopened_once():
    c = plain()
    assert c.request("GET", "/drop-after", [("Host", "h")]).body == b"then gone"
    assert c.request("GET", "/len", [("Host", "h")]).body == b"hello"
    assert c.connects == 2
    c.close()


def test_no_content_and_interim_responses():
    c = plain()
    r = c.request("DELETE", "/no-content", [("Host", "h")])
    assert r.status == 204 and r.body == b""
    assert c.request("GET", "/continue", [("Host", "h")]).body == b"after 100"
    assert c.request("GET", "/nothing-here", [("Host", "h")]).status == 404
    c.close()


def test_response_size_is_bounded():
    msg = str(raises(ResponseTooLarge, plain(max_response=16384).request, "GET", "/big", [("Host", "h")]))
    assert "16384" in msg
    raises(ResponseTooLarge, plain(max_response=16384).request, "GET", "/bigchunked", [("Host", "h")])


def test_truncated_body_is_an_error():
    msg = str(raises(ProtocolError, plain().request, "GET", "/truncated", [("Host", "h")]))
    assert "truncated" in msg and "4 of 10" in msg, msg


def test_header_lines_are_read_in_pieces_and_bounded():
    c = plain()
    assert c.request("GET", "/long-header", [("Host", "h")]).header("X-Long") == "a" * 1000
    # a line the client's 1 KB buffer cannot hold is gathered apart, and the lines after it read
    resp = c.request("GET", "/longer-header", [("Host", "h")])
    assert (resp.header("X-A"), resp.header("X-Longer"), resp.header("X-B"), resp.body) == ("1", "b" * 3000, "2", b"ok")
    msg = str(raises(ProtocolError, c.request, "GET", "/huge-header", [("Host", "h")]))
    assert "longer than 4096 bytes" in msg, msg


def test_not_http_is_an_error():
    raises(ProtocolError, plain().request, "GET", "/garbage", [("Host", "h")])


def test_timeout():
    msg = str(raises(HttpTimeout, plain(timeout_s=1).request, "GET", "/slow", [("Host", "h")]))
    assert "127.0.0.1:" in msg


def _monotonic():
    return time.ticks_ms() / 1000 if hasattr(time, "ticks_ms") else time.monotonic()


def _trickled(conn, path):
    """The deadline error of a request answered one byte per 0.3 s, and how long it took."""
    started = _monotonic()
    err = raises(HttpTimeout, conn.request, "GET", path, [("Host", "localhost")])
    return str(err), _monotonic() - started


def test_trickled_response_ends_at_the_request_deadline():
    # every read gets a byte within 0.3 s, far inside the 1 s timeout: the 2 s deadline ends it
    for conn in (plain(timeout_s=1, request_timeout_s=2), tls(timeout_s=1, request_timeout_s=2)):
        msg, took = _trickled(conn, "/trickle")
        assert msg == "response from %s not complete after 2s (REQUEST_TIMEOUT_S)" % conn.address(), msg
        assert 1.9 <= took <= 2.6, took
        assert conn._sock is None  # closed: the next request starts a new connection


def test_trickled_body_ends_at_the_request_deadline():
    conn = tls(timeout_s=1, request_timeout_s=2)
    msg, took = _trickled(conn, "/trickle-body")
    assert "not complete after 2s (REQUEST_TIMEOUT_S)" in msg and 1.9 <= took <= 2.6, (msg, took)
    assert conn.request("GET", "/len", [("Host", "localhost")]).body == b"hello"  # the next one works
    conn.close()


def test_request_deadline_defaults_to_three_timeouts():
    assert plain(timeout_s=4).request_timeout_s == 12
    assert plain(timeout_s=4, request_timeout_s=5).request_timeout_s == 5


def test_refused_connection_names_the_address():
    port = _env("STUB_CLOSED_PORT")
    msg = str(raises(ConnectError, Connection("127.0.0.1", int(port), tls=False).request, "GET", "/", []))
    assert msg == "cannot connect to 127.0.0.1:%s: connection refused (ECONNREFUSED)" % port, msg


def test_answered_remembers_the_last_four_ids_and_keeps_no_string_of_them():
    seen = Answered()
    ids = ["%08d-0000-4000-8000-%012d" % (i, i) for i in range(6)]  # as x-amzn-RequestId looks
    for i in range(4):
        seen.add(ids[i])
    assert [seen.repeats(i) for i in ids] == [True, True, True, True, False, False]
    seen.add(ids[4])  # the oldest is forgotten, in its slot
    assert [seen.repeats(i) for i in ids] == [False, True, True, True, True, False]
    assert not seen.repeats(ids[4][:-1] + "9")  # a different id, however like the one kept
    # small ints in a list made once: nothing of an answer's is kept to split a small heap
    assert len(seen.ids) == 4 and all(type(k) is int and 0 <= k < 2**30 for k in seen.ids)
