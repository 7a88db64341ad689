# Readings as JSON to an HTTP(S) endpoint, {"readings": [...]} a request: what the HTTP Signatures
# sink and the SigV4 sink share. A sink adds headers(body) (how it signs) and check(resp) (its
# success); nothing here imports a signer, so a device loads only the one it is configured for.
import json

import iotsv_numtext as numtext
import iotsv_url as url
from iotsv_refusal import Refusal


class JsonSink:
    def __init__(self, conn, endpoint):
        _, self.authority, self.path, query = url.split_url(endpoint)
        self.query = query or ""
        self.target = self.path + ("" if query is None else "?" + query)  # as in the request line
        self.conn = conn
        self.ignored = 0  # the endpoint answers for the whole request: nothing is listed apart

    def encode(self, item):
        """The reading as a JSON object, names sorted (the same bytes on every interpreter), its
        numbers written by numtext (json.dumps would write MicroPython's long float repr): written
        piece by piece into one bytearray, numbers and plain strings with no string made."""
        out = bytearray(b"{")
        for name in sorted(item):
            if len(out) > 1:
                out += b","
            numtext.write_json_string(out, name)
            out += b":"
            v = item[name]
            if numtext.write_plain(out, v):
                continue
            if type(v) is str:
                numtext.write_json_string(out, v)
            else:
                number = isinstance(v, (int, float)) and not isinstance(v, bool)
                out += (numtext.text(v) if number else json.dumps(v)).encode()  # the rare value
        out += b"}"
        return out

    # An item given attribute by attribute (a reading: iotsv_app.ReadingPayload), encode()d whole
    # at the end: its names are written sorted.
    def item_start(self):
        return {}

    def item_field(self, item, name, value):
        item[name] = value

    def item_end(self, item):
        return self.encode(item)

    def auth_refused(self):
        return False  # nothing to refresh (a sink with a credentials provider says otherwise)

    def decode(self, payload):
        return json.loads(payload)

    summary_label = None  # what the log line says before a payload's values

    def write_summary(self, payload, write):
        """The log line's "ts=<ts> name=value ..." written through write(text, start, end), read off
        the payload in place (see numtext.write_summary)."""
        numtext.write_summary(payload, b'":', write, self.summary_label)

    def headers(self, body):
        raise NotImplementedError

    def check(self, resp):
        """None when resp is this endpoint's success, else what is wrong with it."""
        return accepted(resp)

    def refusal(self, resp):
        """The Refusal of an answer that is not a success (code HTTPnnn, the body's start as message)."""
        try:
            message = resp.body.decode().strip()[:200]
        except UnicodeError:
            message = ""
        return Refusal(
            "HTTP%d" % resp.status, message or resp.reason or "refused", resp.status, None, resp.header("date")
        )

    def body(self, payloads):
        """{"readings": [...]}: the request's body."""
        parts = [b'{"readings":[']
        for i, p in enumerate(payloads):
            parts += (b"," if i else b"", p)
        parts.append(b"]}")
        return b"".join(parts)

    def send(self, payloads, seqs):
        """POST the body; accepted, all of them, only by a success answer (check())."""
        body = self.body(payloads)
        resp = self.conn.request("POST", self.target, self.headers(body), body)
        why = self.check(resp)
        if why is None:
            return []
        if 200 <= resp.status < 300:  # not the success it claims: a proxy's page, a cut body
            raise Refusal("MalformedResponse", why, resp.status, True, resp.header("date"))
        raise self.refusal(resp)


def json_body(resp):
    """(the decoded body, None), or (None, what is wrong) when it is not JSON as its
    Content-Type says; an empty body is (None, None)."""
    if not resp.body:
        return None, None
    kind = (resp.header("content-type") or "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        return None, "a %d answer whose body is %s, not JSON" % (resp.status, kind or "untyped")
    try:
        return json.loads(resp.body), None
    except (ValueError, UnicodeError):
        return None, "a %d answer whose body is not valid JSON" % resp.status


def accepted(resp):
    """None when the answer is the endpoint's success: 200, 201, 202 or 204, and a body, if any,
    that is JSON as its Content-Type says; else what is wrong with it. (203 and 206 are a proxy's
    changed or partial answers, not the endpoint's word.)"""
    if resp.status not in (200, 201, 202, 204):
        return "HTTP %d is not a success answer" % resp.status
    return json_body(resp)[1]
