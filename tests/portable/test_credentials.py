# The IoT credentials provider client with a scripted connection: what it asks, when it refreshes,
# what it does with the provider's clock and with a bad answer.
import json

from iotsv_credentials import IotCredentials, parse_iso8601
from iotsv_httpclient import Response
from iotsv_httpdate import http_date
from iotsv_refusal import Refusal
from portable import raises

NOW = 1795412461  # 2026-11-23T05:41:01Z


class Clock:
    def __init__(self):
        self.t = NOW
        self.offset = 0

    def now(self):
        return self.t + self.offset

    def correct(self, date):
        from iotsv_httpdate import parse_http_date

        self.offset = parse_http_date(date) - self.t
        return True


class Conn:
    host, port = "c1abcd.credentials.iot.eu-west-1.amazonaws.com", 443

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        self.closed = 0

    def request(self, method, target, headers, body=b""):
        self.requests.append((method, target, headers))
        return self.answers.pop(0)

    def close(self):
        self.closed += 1


def answer(key, expires_at, date=NOW, status=200):
    doc = {
        "credentials": {
            "accessKeyId": key,
            "secretAccessKey": "s" * 40,
            "sessionToken": "tok-" + key,
            "expiration": "2026-11-23T%02d:%02d:%02dZ"
            % ((expires_at % 86400) // 3600, (expires_at % 3600) // 60, expires_at % 60),
        }
    }
    return Response(status, "OK", [("date", http_date(date))], json.dumps(doc).encode())


def test_parse_iso8601():
    assert parse_iso8601("2026-11-23T05:41:01Z") == NOW
    assert parse_iso8601("2026-11-23T05:41:01.250Z") == NOW
    assert parse_iso8601("2026-11-23T05:41:01+00:00") == NOW
    assert parse_iso8601("yesterday") is None


def test_fetch_asks_as_aws_iot_does_and_refreshes_before_expiry():
    clock = Clock()
    conn = Conn([answer("ASIA1", NOW + 3600), answer("ASIA2", NOW + 7200)])
    creds = IotCredentials(conn, "my-alias", "thing-1", clock)
    assert creds.ensure_fresh().access_key == "ASIA1"
    method, target, headers = conn.requests[0]
    assert (method, target) == ("GET", "/role-aliases/my-alias/credentials")
    assert ("x-amzn-iot-thingname", "thing-1") in headers and ("Host", Conn.host) in headers
    assert conn.closed == 1
    clock.t = NOW + 3600 - 301
    assert creds.ensure_fresh().access_key == "ASIA1" and len(conn.requests) == 1
    clock.t = NOW + 3600 - 300  # five minutes before expiry
    assert creds.ensure_fresh().session_token == "tok-ASIA2" and len(conn.requests) == 2


def test_short_lived_credentials_refresh_at_three_quarters_and_after_a_refusal():
    clock = Clock()
    conn = Conn([answer("A", NOW + 40), answer("B", NOW + 70), answer("C", NOW + 100)])
    creds = IotCredentials(conn, "a", None, clock)
    creds.ensure_fresh()
    clock.t = NOW + 29
    assert creds.ensure_fresh().access_key == "A"
    clock.t = NOW + 30
    assert creds.ensure_fresh().access_key == "B"
    assert all(n != "x-amzn-iot-thingname" for n, _ in conn.requests[0][2])
    assert creds.refused() is True
    assert creds.ensure_fresh().access_key == "C"


def test_provider_date_corrects_a_clock_that_is_off():
    clock = Clock()
    clock.t = NOW + 7200
    IotCredentials(Conn([answer("A", NOW + 3600, date=NOW)]), "a", None, clock).ensure_fresh()
    assert clock.offset == -7200


def test_bad_answers_are_refusals():
    clock = Clock()
    denied = Response(403, "Forbidden", [], b'{"message": "Access Denied"}')
    e = raises(Refusal, IotCredentials(Conn([denied]), "a", None, clock).ensure_fresh)
    assert (e.code, e.message, e.retryable) == ("IotCredentials403", "Access Denied", False)
    e = raises(Refusal, IotCredentials(Conn([Response(200, "OK", [], b"{}")]), "a", None, clock).ensure_fresh)
    assert e.code == "IotCredentialsMalformed"
    e = raises(Refusal, IotCredentials(Conn([Response(503, "", [], b"")]), "a", None, clock).ensure_fresh)
    assert e.retryable


def test_no_answer_of_the_provider_crashes_the_fetch():
    clock = Clock()
    for body in (
        b"[]",
        b'{"credentials": []}',
        b'{"credentials": {"accessKeyId": 5, "secretAccessKey": "s", "sessionToken": "t", "expiration": "x"}}',
        b'{"credentials": {"accessKeyId": "A", "secretAccessKey": "s", "sessionToken": "t", "expiration": 7}}',
        b'{"credentials": {"accessKeyId": "", "secretAccessKey": "s", "sessionToken": "t", "expiration": "x"}}',
        b'{"credentials": {"accessKeyId": "A", "secretAccessKey": "s", "sessionToken": "t", "expiration": "1-2"}}',
        b"\xff\xfe",
    ):
        e = raises(Refusal, IotCredentials(Conn([Response(200, "OK", [], body)]), "a", None, clock).ensure_fresh)
        assert e.code == "IotCredentialsMalformed" and e.retryable, body
    for body in (b"[1]", b'{"message": 5}', b"\xff"):
        e = raises(Refusal, IotCredentials(Conn([Response(403, "", [], body)]), "a", None, clock).ensure_fresh)
        assert e.code == "IotCredentials403", body
    # a Date header of odd digits is no date, on either interpreter
    odd = Response(200, "OK", [("date", "Mon, \xb23 Nov 2026 05:39:23 GMT")], b"{}")
    raises(Refusal, IotCredentials(Conn([odd]), "a", None, clock).ensure_fresh)
    assert clock.offset == 0
