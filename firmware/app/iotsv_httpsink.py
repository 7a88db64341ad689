# Readings to an HTTP(S) endpoint as JSON, each request signed with HTTP Signatures: draft-cavage,
# CyberSource's profile of it, or RFC 9421. Used by the delivery engine like the DynamoDB sink.
import io
import json

import iotsv_httpsign as httpsign
import iotsv_numtext as numtext
import iotsv_utc as utc
from iotsv_refusal import Refusal

CAVAGE_NAMES = ["(request-target)", "host", "date", "digest", "content-type"]
RFC9421_COMPONENTS = ["@method", "@target-uri", "content-type", "content-digest"]


class Sink:
    """Readings to an HTTP(S) endpoint, {"readings": [...]} a request, signed with HTTP Signatures."""

    def __init__(self, conn, url, scheme, key_id, secret_b64, merchant_id, now):
        if scheme not in httpsign.SCHEMES:
            raise ValueError("unknown signature scheme %r" % scheme)
        _, self.authority, path, query = httpsign.split_url(url)
        self.url = url
        self.target = path + ("" if query is None else "?" + query)
        self.conn = conn
        self.scheme = scheme
        self.key_id = key_id
        self.secret_b64 = secret_b64
        self.secret = httpsign.unb64(secret_b64, "HTTP_SECRET_B64")
        self.merchant_id = merchant_id
        self.now = now
        self.ignored = 0  # the endpoint answers for the whole request: nothing is listed apart

    def encode(self, item):
        """The reading as a JSON object, its numbers written by numtext (json.dumps would write
        MicroPython's long float repr); written piece by piece into one buffer, which allocates
        less than joining the pieces."""
        out = io.StringIO()
        write = out.write  # pyright: ignore[reportAttributeAccessIssue]  # the stubs' StringIO is bare
        sep = "{"
        for name in sorted(item):  # the same bytes on every interpreter
            v = item[name]
            write(sep)
            write(json.dumps(name))
            write(":")
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            write(numtext.text(v) if number else json.dumps(v))
            sep = ","
        write("}")
        return out.getvalue().encode()  # pyright: ignore[reportAttributeAccessIssue]  # the stubs' StringIO lacks it

    def auth_refused(self):
        return False  # the shared secret comes from the config: nothing to refresh

    def decode(self, payload):
        return json.loads(payload)

    def summary(self, payload):
        """(ts, "name=value ...") for the log line, read off the payload without decoding it."""
        return numtext.numbers_in(payload, b'":')

    def headers(self, body):
        """The request's headers, signed with the configured scheme."""
        now = self.now()
        if self.scheme == "cybersource":
            out = httpsign.sign_cybersource(
                "POST",
                self.authority,
                self.target,
                body,
                self.merchant_id,
                self.key_id,
                self.secret_b64,
                date=utc.http_date(now),
            )
            return out + [("Content-Type", "application/json")]
        out = [("Host", self.authority), ("Content-Type", "application/json")]
        if self.scheme == "cavage":
            out.append(("Date", utc.http_date(now)))
            out.append(("Digest", httpsign.digest(body)))
            out.append(
                ("Signature", httpsign.sign_cavage("POST", self.target, out, self.key_id, self.secret, CAVAGE_NAMES))
            )
            return out
        out.append(("Content-Digest", httpsign.content_digest(body)))
        return out + httpsign.sign_rfc9421(
            "POST", self.url, out, RFC9421_COMPONENTS, self.key_id, self.secret, created=int(now)
        )

    def send(self, payloads, seqs):
        """POST {"readings": [...]}; accepted, all of them, only by a success answer (accepted())."""
        parts = [b'{"readings":[']
        for i, p in enumerate(payloads):
            parts += (b"," if i else b"", p)
        parts.append(b"]}")
        body = b"".join(parts)
        resp = self.conn.request("POST", self.target, self.headers(body), body)
        why = accepted(resp)
        if why is None:
            return []
        if 200 <= resp.status < 300:  # not the success it claims: a proxy's page, a cut body
            raise Refusal("MalformedResponse", why, resp.status, True, resp.header("date"))
        try:
            message = resp.body.decode().strip()[:200]
        except UnicodeError:
            message = ""
        why = message or resp.reason or "refused"
        raise Refusal("HTTP%d" % resp.status, why, resp.status, None, resp.header("date"))


def accepted(resp):
    """None when the answer is the endpoint's success: 200, 201, 202 or 204, and a body, if any,
    that is JSON as its Content-Type says; else what is wrong with it. (203 and 206 are a proxy's
    changed or partial answers, not the endpoint's word.)"""
    if resp.status not in (200, 201, 202, 204):
        return "HTTP %d is not a success answer" % resp.status
    if not resp.body:
        return None
    kind = (resp.header("content-type") or "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        return "a %d answer whose body is %s, not JSON" % (resp.status, kind or "untyped")
    try:
        json.loads(resp.body)
    except (ValueError, UnicodeError):
        return "a %d answer whose body is not valid JSON" % resp.status
    return None
