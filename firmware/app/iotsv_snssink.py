# Alerts to an SNS topic: Publish over the Query protocol, signed with SigV4 for `sns` in the
# topic's region, one alert a request, through the delivery engine like readings (its own spool,
# retries, dead letters). A success is only Publish's answer naming a new MessageId.
import json
from binascii import hexlify
from hashlib import sha256

import iotsv_alerts as alerts
import iotsv_numtext as numtext
import iotsv_sigv4sink as sigv4sink
import iotsv_utc as utc
from iotsv_refusal import Refusal, retryable_status, xml_field
from iotsv_transient import call_with

RETRYABLE_CODES = ("Throttling", "Throttled", "ThrottlingException", "InternalError", "ServiceUnavailable")
MAX_SUBJECT = 100  # SNS's limit for an email's subject


def when_text(ts):
    d = utc.amz_date(ts)
    return "%s-%s-%s %s:%s:%s UTC" % (d[0:4], d[4:6], d[6:8], d[9:11], d[11:13], d[13:15])


class Sink(sigv4sink.Sink):
    """Publish each alert (a spooled JSON payload) to `topic_arn`. MAX_BATCH: one a request."""

    MAX_BATCH = 1
    content_type = "application/x-www-form-urlencoded; charset=utf-8"

    def __init__(self, conn, endpoint, topic_arn, device_id, keys, now, provider=None):
        sigv4sink.Sink.__init__(
            self, conn, endpoint, "sns", alerts.topic_region(topic_arn), keys, now, (200, None, None), provider
        )
        self.topic_arn = topic_arn
        self.device_id = device_id
        self.fifo = topic_arn.endswith(".fifo")

    summary_label = "alert "

    def params(self, alert):
        """Publish's parameters for one alert, in order."""
        text = alerts.message(self.device_id, alert, when_text(alert["ts"]))
        subject = "Alert: %s %s %s" % (self.device_id, alert["field"], alerts.WORDS[alert["op"]])
        subject = "".join(c if " " <= c <= "~" else "?" for c in subject)[:MAX_SUBJECT]
        out = [
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("TopicArn", self.topic_arn),
            ("Message", text),
            ("Subject", subject),
        ]
        attributes = (
            ("deviceId", "String", self.device_id),
            ("field", "String", alert["field"]),
            ("comparison", "String", alert["op"]),
            ("value", "Number", numtext.text(alert["value"])),
            ("threshold", "Number", numtext.text(alert["threshold"])),
            ("rule", "Number", str(alert["rule"])),
        )
        for i, (name, kind, value) in enumerate(attributes):
            entry = "MessageAttributes.entry.%d." % (i + 1)
            out += [(entry + "Name", name), (entry + "Value.DataType", kind), (entry + "Value.StringValue", value)]
        if self.fifo:  # the same alert sent again (a retry, a restart) has the same id: SNS drops the copy
            key = ("%s/%d/%d" % (self.device_id, alert["seq"], alert["ts"])).encode()
            out += [
                ("MessageGroupId", self.device_id),
                ("MessageDeduplicationId", hexlify(sha256(key).digest()).decode()),
            ]
        return out

    def body(self, payloads):
        (payload,) = payloads  # one a request (MAX_BATCH)
        pairs = self.params(json.loads(payload))

        def form(spec):  # as botocore's query bodies (urlencode): a space is "+"
            enc = spec.uri_encode
            return b"&".join(enc(n.encode()) + b"=" + enc(v.encode()).replace(b"%20", b"+") for n, v in pairs)

        return call_with("iotsv_sigv4", form)  # its encoder, for this one call

    def check(self, resp):
        if resp.status != 200:
            return "HTTP %d is not Publish's success" % resp.status
        try:
            text = bytes(resp.body).decode()
        except UnicodeError:
            return "a 200 answer that is not text"
        message_id = xml_field(text, "MessageId")
        if "<PublishResponse" not in text or not message_id:
            return "a 200 answer that is not PublishResponse with a MessageId"
        if self._answered.repeats(message_id):
            return "a 200 answer repeating an earlier MessageId"
        self._answered.add(message_id)
        return None

    def refusal(self, resp):
        """SNS's XML error (<Code>, <Message>); a body naming no code is HTTPnnn."""
        try:
            text = bytes(resp.body).decode()
        except UnicodeError:
            text = ""
        code = xml_field(text, "Code")
        if not code:
            return sigv4sink.Sink.refusal(self, resp)
        message = xml_field(text, "Message") or "no error message"
        retryable = code in RETRYABLE_CODES or retryable_status(resp.status)
        return Refusal(code, message[:200], resp.status, retryable, resp.header("date"))


def start(s, sink, clock, board, check_tls, connection):
    """The rules, their spool in STATE_DIR/alerts and the Delivery that publishes it to the topic
    over a connection of its own (connection(s, board, host, port) makes it), signed with the
    sink's credentials (s: the Settings)."""
    conn = connection(s, board, s.alert_host, s.alert_port)
    if s.USE_TLS and check_tls:
        conn.tls_context()
    import iotsv_url as url
    from iotsv_delivery import Delivery
    from iotsv_dynamodb import Credentials
    from iotsv_spool import Spool
    from iotsv_spoolrecord import MIN_BUDGET

    folder = s.STATE_DIR + "/alerts"
    spool = Spool(folder, 2 * MIN_BUDGET)  # some hundreds of alerts
    provider = sink.credentials if s.SINK == "dynamodb" else sink.provider
    keys = None if provider else Credentials(s.AWS_ACCESS_KEY, s.AWS_SECRET_KEY, s.AWS_SESSION_TOKEN)
    endpoint = "%s://%s/" % ("https" if s.USE_TLS else "http", url.authority(s.alert_host, s.alert_port))
    publish = Sink(conn, endpoint, s.ALERT_TOPIC_ARN, s.DEVICE_ID, keys, clock.now, provider)
    return alerts.Alerts(
        s.ALERT_RULES, folder, Delivery(publish, spool, clock, board, folder + "/deadletter.jsonl", False)
    )
