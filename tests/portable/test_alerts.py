# Alert rules and SNS Publish on both interpreters: a crossing alerts once, hysteresis and the least
# interval hold back the rest, the rules' state survives a restart; Publish's body, signature
# scope and FIFO ids; only Publish's own answer counts; the config's errors name their field.
import json

import iotsv_retry as retry
import iotsv_snssink as snssink
from iotsv_alerts import Alerts, message, topic_region
from iotsv_dynamodb import Credentials
from iotsv_httpclient import Response
from iotsv_refusal import Refusal
from portable import _DROP, _error, _good, on_the_wire, raises, scratch, summary

ARN = "arn:aws:sns:eu-central-1:123456789012:freezer-alerts"
KEYS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
T0 = 1795412909


def fresh_dir(name):
    import os

    path = scratch(name)
    try:
        for f in os.listdir(path):
            os.remove(path + "/" + f)
    except OSError:
        pass
    return path


def run(alerts, temps, start=T0, step=60):
    made = []
    for i, t in enumerate(temps):
        alerts.check({"temp_c": t}, start + i * step, made.append)
    return made


def test_a_crossing_alerts_once_and_rearms_past_the_hysteresis():
    folder = fresh_dir("alerts-hyst")
    alerts = Alerts([("temp_c", ">", -15, 2, 0)], folder)
    made = run(alerts, [-18, -14.5, -14, -15.5, -14.2, -17.5, -14])  # hovers at the line, then clears
    assert [(a["value"], a["ts"]) for a in made] == [(-14.5, T0 + 60), (-14, T0 + 360)], made
    assert made[0] == {"rule": 1, "field": "temp_c", "value": -14.5, "op": ">", "threshold": -15, "ts": T0 + 60}


def test_the_least_interval_holds_back_a_second_alert():
    folder = fresh_dir("alerts-interval")
    alerts = Alerts([("temp_c", "<=", 2, 0, 600)], folder)
    made = run(alerts, [5, 2, 3, 1, 5, 5, 5, 5, 5, 5, 5, 1], step=60)
    assert [a["ts"] - T0 for a in made] == [60, 660], made  # the one at 180 s came 120 s after the first


def test_the_rules_state_survives_a_restart():
    folder = fresh_dir("alerts-restart")
    assert len(run(Alerts([("temp_c", ">", 4)], folder), [3, 6])) == 1
    again = Alerts([("temp_c", ">", 4)], folder)  # a power cut while it is still warm
    assert run(again, [7, 8], start=T0 + 3600) == []
    assert len(run(again, [3, 9], start=T0 + 7200)) == 1


def test_a_rule_on_a_value_the_reading_lacks_is_skipped():
    alerts = Alerts([("tmp_c", ">", 4)], fresh_dir("alerts-missing"))
    assert run(alerts, [9, 9]) == []


def test_the_message_is_short_and_says_what_crossed():
    alert = {"rule": 1, "field": "temp_c", "value": -14.5, "op": ">", "threshold": -15, "ts": T0}
    text = message("freezer-1", alert, snssink.when_text(T0))
    assert text == "freezer-1: temp_c is -14.5, above -15 (rule 1, 2026-11-23 05:48:29 UTC)", text


def test_the_topic_region_comes_from_its_arn():
    assert topic_region(ARN) == "eu-central-1"
    assert topic_region("arn:aws-cn:sns:cn-north-1:123456789012:a.fifo") == "cn-north-1"
    for bad in ("arn:aws:sqs:eu-west-1:123456789012:q", "arn:aws:sns:eu-west-1:1234:t", "freezer", "arn:aws:sns::1:t",
                "arn:aws:sns:eu-west-1:123456789012:bad name"):  # fmt: skip
        assert topic_region(bad) is None, bad


class FakeConn:
    def __init__(self, answers):
        self.answers, self.requests = list(answers), []

    def request(self, method, target, headers, body):
        self.requests.append((method, target, on_the_wire(headers), body))
        return self.answers.pop(0)


def published(mid):
    body = (
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>%s</MessageId>'
        "</PublishResult><ResponseMetadata><RequestId>r-%s</RequestId></ResponseMetadata></PublishResponse>"
        % (mid, mid)
    )
    return Response(200, "OK", [("content-type", "text/xml")], body.encode())


def alert_payload(sink, seq=3, value=-14.5):
    item = {"deviceId": "freezer-1", "seq": seq, "rule": 1, "field": "temp_c", "value": value, "op": ">"}
    item.update({"threshold": -15, "ts": T0})
    return sink.encode(item)


def form(body):
    out = {}
    for pair in body.decode().split("&"):
        name, value = pair.split("=")
        out[name] = value
    return out


def test_publish_is_a_signed_query_request_with_attributes():
    conn = FakeConn([published("m1")])
    sink = snssink.Sink(conn, "https://sns.eu-central-1.amazonaws.com/", ARN, "freezer-1", KEYS, lambda: T0)
    assert sink.send([alert_payload(sink)], [3]) == []
    method, target, headers, body = conn.requests[0]
    assert (method, target) == ("POST", "/")
    h = dict(headers)
    assert "/eu-central-1/sns/aws4_request" in h["Authorization"]
    assert h["Content-Type"].startswith("application/x-www-form-urlencoded")
    f = form(body)
    assert (f["Action"], f["Version"], f["TopicArn"]) == (
        "Publish",
        "2010-03-31",
        "arn%3Aaws%3Asns%3Aeu-central-1%3A123456789012%3Afreezer-alerts",
    )
    assert f["Message"].startswith("freezer-1%3A+temp_c+is+-14.5%2C+above+-15")
    names = [f["MessageAttributes.entry.%d.Name" % i] for i in range(1, 7)]
    assert names == ["deviceId", "field", "comparison", "value", "threshold", "rule"]
    assert f["MessageAttributes.entry.4.Value.DataType"] == "Number"
    assert f["MessageAttributes.entry.4.Value.StringValue"] == "-14.5"
    assert "MessageGroupId" not in f and "MessageDeduplicationId" not in f


def test_a_fifo_topic_gets_a_group_and_a_dedup_id_stable_across_retries():
    fifo = ARN + ".fifo"
    conn = FakeConn([published("a"), published("b"), published("c")])
    sink = snssink.Sink(conn, "https://sns.eu-central-1.amazonaws.com/", fifo, "freezer-1", KEYS, lambda: T0)
    for seq in (3, 3, 4):
        sink.send([alert_payload(sink, seq)], [seq])
    ids = [form(r[3])["MessageDeduplicationId"] for r in conn.requests]
    assert ids[0] == ids[1] != ids[2] and len(ids[0]) == 64
    assert form(conn.requests[0][3])["MessageGroupId"] == "freezer-1"


def test_only_publishs_own_answer_counts():
    answers = [
        published("m1"),
        published("m1"),  # a replay
        Response(200, "OK", [("content-type", "text/html")], b"<html>portal</html>"),
        Response(200, "OK", [], b"<PublishResponse></PublishResponse>"),
    ]
    sink = snssink.Sink(FakeConn(answers), "https://sns.eu-central-1.amazonaws.com/", ARN, "d", KEYS, lambda: T0)
    assert sink.send([alert_payload(sink)], [1]) == []
    for _ in range(3):
        err = raises(Refusal, sink.send, [alert_payload(sink)], [2])
        assert err.code == "MalformedResponse" and retry.classify(err) == retry.TRANSIENT, err


def error(status, code, text="no"):
    body = "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error></ErrorResponse>"
    resp = Response(status, "X", [("content-type", "text/xml")], (body % (code, text)).encode())
    sink = snssink.Sink(FakeConn([resp]), "https://sns.eu-central-1.amazonaws.com/", ARN, "d", KEYS, lambda: T0)
    return raises(Refusal, sink.send, [alert_payload(sink)], [1])


def test_sns_refusals_are_classified():
    assert retry.classify(error(403, "AuthorizationError", "not authorized to perform: SNS:Publish")) == retry.BLOCKED
    assert retry.classify(error(400, "Throttling", "Rate exceeded")) == retry.TRANSIENT
    assert retry.classify(error(403, "SignatureDoesNotMatch")) == retry.BLOCKED
    assert retry.classify(error(404, "NotFound", "Topic does not exist")) == retry.BLOCKED
    assert retry.classify(error(500, "InternalError")) == retry.TRANSIENT


def alerting(**over):
    fields = {"ALERT_TOPIC_ARN": ARN, "ALERT_RULES": (("temp_c", ">", 4, 1, 900),)}
    fields.update(over)
    return fields


def test_the_alert_config_is_read_and_its_errors_name_the_field():
    from iotsv_settings import load

    s = load(_good(**alerting()))
    assert (s.alert_region, s.alert_host, s.alert_port) == ("eu-central-1", "sns.eu-central-1.amazonaws.com", None)
    s = load(_good(**alerting(ALERT_HOST="localhost:4566")))
    assert (s.alert_host, s.alert_port) == ("localhost", 4566)
    assert load(_good()).ALERT_TOPIC_ARN is None
    cases = (
        ("ALERT_TOPIC_ARN", {"ALERT_TOPIC_ARN": "arn:aws:sqs:eu-west-1:123456789012:q"}),
        ("ALERT_TOPIC_ARN", {"ALERT_TOPIC_ARN": _DROP}),
        ("ALERT_RULES", {"ALERT_RULES": ()}),
        ("ALERT_RULES", {"ALERT_RULES": (("temp_c", "=>", 4),)}),
        ("ALERT_RULES", {"ALERT_RULES": (("temp_c", ">"),)}),
        ("ALERT_RULES", {"ALERT_RULES": (("", ">", 4),)}),
        ("ALERT_RULES", {"ALERT_RULES": (("seq", ">", 4),)}),
        ("ALERT_RULES", {"ALERT_RULES": (("temp_c", ">", "4"),)}),
        ("ALERT_RULES", {"ALERT_RULES": (("temp_c", ">", 4, -1),)}),
        ("ALERT_RULES", {"ALERT_RULES": ("temp_c", ">", 4)}),
        ("ALERT_HOST", {"ALERT_HOST": "https://x"}),
    )
    for name, over in cases:
        field, text = _error(**alerting(**over))
        assert field == name and text.startswith(name + ": ") and "\n" not in text, (over, text)
    field, text = _error(**alerting(ALERT_RULES=(("temp_c", "=>", 4),)))
    assert "rule 1" in text and "'=>'" in text, text
    field, text = _error(**alerting(SINK="http", HTTP_URL="https://h/r", HTTP_AUTH="rfc9421", HTTP_KEY_ID="k",
                                    HTTP_SECRET_B64="c2VjcmV0LXNlY3JldC1zZWNyZXQ="))  # fmt: skip
    assert field == "ALERT_TOPIC_ARN" and "credentials" in text, text


def test_the_spooled_alert_is_plain_json():
    sink = snssink.Sink(FakeConn([]), "https://sns.eu-central-1.amazonaws.com/", ARN, "d", KEYS, lambda: T0)
    payload = alert_payload(sink)
    assert json.loads(payload)["value"] == -14.5
    assert summary(sink, payload)[1].startswith("alert ")
