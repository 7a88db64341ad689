# The SigV4 sink on both interpreters: what it signs is what the reference signer (iotsv_sigv4.sign,
# itself checked against botocore) gives; a success is only the configured one; AWS's refusals are
# classified as the retry rules need them; the config's errors name their field.
import json

import iotsv_retry as retry
import iotsv_sigv4 as sigv4
import iotsv_sigv4sink as sigv4sink
import iotsv_utc as utc
from iotsv_dynamodb import Credentials
from iotsv_httpclient import Response
from iotsv_refusal import Refusal
from portable import _DROP, _error, _good, on_the_wire, raises

URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/readings?source=device"
NOW = 1795412909
KEYS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "token-1")
JSON = [("content-type", "application/json")]


class FakeConn:
    """Records each request and answers with the next of `answers` (Response objects)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def request(self, method, target, headers, body):
        assert isinstance(dict(headers)["Authorization"], tuple)  # in parts, as the client writes them
        self.requests.append((method, target, on_the_wire(headers), body))
        return self.answers.pop(0)


def ok(rid="r1", body=b'{"stored":true}', status=200):
    return Response(status, "OK", JSON + [("x-amzn-requestid", rid)], body)


def sink(answers, ok_rule=(200, None, None), keys=KEYS, provider=None, service="execute-api"):
    conn = FakeConn(answers)
    return sigv4sink.Sink(conn, URL, service, "eu-west-1", keys, lambda: NOW, ok_rule, provider), conn


def test_each_request_is_signed_as_the_reference_signer_signs_it():
    for service in ("execute-api", "lambda"):
        s, conn = sink([ok("a"), ok("b")], service=service)
        payloads = [s.encode({"deviceId": "d", "seq": n, "ts": NOW, "t": 21.5}) for n in (1, 2)]
        assert s.send(payloads, [1, 2]) == []
        method, target, headers, body = conn.requests[0]
        assert (method, target) == ("POST", "/prod/readings?source=device")
        assert json.loads(body) == {"readings": [{"deviceId": "d", "seq": n, "ts": NOW, "t": 21.5} for n in (1, 2)]}
        want = sigv4.sign(
            "POST",
            "/prod/readings",
            "source=device",
            [("Host", "abc123.execute-api.eu-west-1.amazonaws.com"), ("Content-Type", "application/json")],
            body,
            KEYS.access_key,
            KEYS.secret_key,
            "eu-west-1",
            service,
            utc.amz_date(NOW),
            session_token=KEYS.session_token,
        )
        assert sorted(headers) == sorted(want), (headers, want)
        assert "/eu-west-1/%s/aws4_request" % service in dict(headers)["Authorization"]
        assert s.send(payloads[:1], [1]) == []  # the prepared signer again, another body
        assert dict(conn.requests[1][2])["Authorization"] != dict(headers)["Authorization"]


def test_a_success_is_only_the_configured_one():
    rule = (202, "status", "queued")
    good = Response(202, "Accepted", JSON, b'{"status":"queued","id":7}')
    s, _ = sink([], rule)
    assert s.check(good) is None
    for resp in (
        Response(200, "OK", JSON, b'{"status":"queued"}'),  # another 2xx
        Response(202, "Accepted", JSON, b'{"status":"failed"}'),
        Response(202, "Accepted", JSON, b'{"id":7}'),
        Response(202, "Accepted", JSON, b"[1]"),
        Response(202, "Accepted", [], b""),
        Response(202, "Accepted", [("content-type", "text/html")], b"<html>portal</html>"),
        Response(202, "Accepted", JSON, b'{"status":'),
    ):
        assert s.check(resp) is not None, resp.body
    s, _ = sink([], (200, "ok", "true"))
    assert s.check(Response(200, "OK", JSON, b'{"ok":true}')) is None
    assert s.check(Response(200, "OK", JSON, b'{"ok":"true"}')) is None  # a string as it is
    assert s.check(Response(200, "OK", JSON, b'{"ok":1}')) is not None
    s, _ = sink([], (200, None, None))  # no field: any JSON body, or none
    assert s.check(Response(200, "OK", [], b"")) is None
    assert s.check(Response(200, "OK", JSON, b"null")) is None


def test_a_2xx_that_is_not_the_success_is_retried_never_acknowledged():
    s, _ = sink([ok("a"), ok("a"), Response(200, "OK", JSON, b'{"message":"Internal'), ok("b")])
    assert s.send([b"{}"], [1]) == []
    for _ in range(2):  # a repeated request id, then a cut body
        err = raises(Refusal, s.send, [b"{}"], [2])
        assert err.code == "MalformedResponse" and retry.classify(err) == retry.TRANSIENT, err
    assert s.send([b"{}"], [2]) == []


def refused(status, kind, message):
    headers = JSON + ([("x-amzn-errortype", kind)] if kind else [])
    s, _ = sink([Response(status, "X", headers, json.dumps({"message": message}).encode())])
    return raises(Refusal, s.send, [b"{}"], [1])


def test_aws_refusals_are_classified_for_the_retry_rules():
    expired = refused(
        403, "InvalidSignatureException:http://internal.amazon.com/coral/", "Signature expired: 20261207T000000Z"
    )
    assert (expired.code, retry.classify(expired)) == ("InvalidSignatureException", retry.CLOCK_SKEW)
    denied = refused(403, "AccessDeniedException", "User is not authorized to perform: execute-api:Invoke")
    assert (denied.code, retry.classify(denied)) == ("AccessDeniedException", retry.BLOCKED)
    assert "execute-api:Invoke" in denied.message
    assert retry.classify(refused(403, None, "Forbidden")) == retry.BLOCKED
    throttled = refused(429, "TooManyRequestsException", "Too Many Requests")
    assert throttled.code == "HTTP429" and retry.is_throttling(throttled)
    assert retry.classify(refused(502, None, "Internal server error")) == retry.TRANSIENT
    assert retry.classify(refused(400, "BadRequestException", "Invalid request body")) == retry.ITEM_REFUSED


class Provider:
    def __init__(self):
        self.keys = [
            Credentials("ASIAFIRSTKEYEXAMPLE", "s" * 40, "t1"),
            Credentials("ASIASECONDKEYEXAMPL", "u" * 40, "t2"),
        ]
        self.asked = 0

    def ensure_fresh(self):
        self.asked += 1
        return self.keys[0 if self.asked == 1 else 1]

    def refused(self):
        return True


def test_fresh_credentials_from_the_provider_are_signed_with():
    p = Provider()
    s, conn = sink([ok("a"), ok("b")], keys=None, provider=p)
    s.send([b"{}"], [1])
    s.send([b"{}"], [2])
    first, second = (dict(r[2]) for r in conn.requests)
    assert "ASIAFIRSTKEYEXAMPLE/" in first["Authorization"] and first["X-Amz-Security-Token"] == "t1"
    assert "ASIASECONDKEYEXAMPL/" in second["Authorization"] and second["X-Amz-Security-Token"] == "t2"
    assert s.auth_refused()


def sigv4_config(**over):
    fields = {
        "SINK": "sigv4",
        "AWS_DYNAMODB_TABLE": _DROP,
        "SIGV4_URL": URL,
        "SIGV4_SERVICE": "execute-api",
    }
    fields.update(over)
    return fields


def test_the_sigv4_config_is_read_and_its_errors_name_the_field():
    from iotsv_settings import load

    s = load(_good(**sigv4_config()))
    assert (s.host, s.port, s.USE_TLS, s.SIGV4_OK_STATUS, s.SIGV4_OK_FIELD) == (
        "abc123.execute-api.eu-west-1.amazonaws.com",
        None,
        True,
        200,
        None,
    )
    cases = (
        ("SIGV4_URL", "ftp://host/x"),
        ("SIGV4_URL", "https:///path"),
        ("SIGV4_SERVICE", "Execute API"),
        ("SIGV4_OK_STATUS", 302),
        ("SIGV4_OK_STATUS", 199),
        ("SIGV4_OK_FIELD", 1),
        ("SIGV4_URL", _DROP),
        ("SIGV4_SERVICE", _DROP),
        ("AWS_REGION", _DROP),
        ("AWS_ACCESS_KEY", _DROP),
    )
    for name, value in cases:
        field, message = _error(**sigv4_config(**{name: value}))
        assert field == name and message.startswith(name + ": ") and "\n" not in message, (name, value, message)
    field, message = _error(**sigv4_config(SIGV4_OK_VALUE="true"))
    assert field == "SIGV4_OK_VALUE" and "SIGV4_OK_FIELD" in message, message
