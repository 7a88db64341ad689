# Readings as JSON to any HTTPS URL signed with SigV4 for a service and region: an API Gateway route
# (`execute-api`), a Lambda function URL with IAM auth (`lambda`). Batching, retries and the spool
# are the delivery engine's; a success is only what the config defines (a status, a JSON field).
import json

import iotsv_sigv4signer as sigv4signer
import iotsv_utc as utc
from iotsv_httpclient import Answered
from iotsv_jsonsink import JsonSink, json_body


class Sink(JsonSink):
    content_type = "application/json"

    """POST {"readings": [...]} to `target` on `authority`, signed for (region, service).
    keys: an object with access_key, secret_key, session_token; provider: an IoT credentials
    provider that gives such objects (ensure_fresh(), refused()), or None. ok: (status, field,
    value): a success is that status and, with a field, a JSON object that has `field` and, with
    a value, has it equal to that text (a string as it is, anything else as JSON: "true", "1")."""

    def __init__(self, conn, endpoint, service, region, keys, now, ok, provider=None):
        JsonSink.__init__(self, conn, endpoint)
        self.service = service
        self.region = region
        self.keys = keys
        self.provider = provider
        self.now = now
        self.ok_status, self.ok_field, self.ok_value = ok
        self._signer = None
        self._answered = Answered()

    def auth_refused(self):
        """The endpoint refused our credentials: True when fresh ones may be had."""
        return self.provider is not None and self.provider.refused()

    def signer(self):
        """The prepared signer, made again when the credentials change."""
        if self.provider is not None:
            self.keys = self.provider.ensure_fresh()  # between requests only
        k = self.keys
        signer = self._signer
        if signer is None or signer.credentials is not k:
            headers = [("Host", self.authority), ("Content-Type", self.content_type)]
            signer = sigv4signer.Signer(
                "POST",
                self.path,
                self.query,
                headers,
                k.access_key,
                k.secret_key,
                self.region,
                self.service,
                k.session_token,
            )
            signer.credentials = k
            self._signer = signer
        return signer

    def headers(self, body):
        # Authorization in parts (head, signature): iotsv_httpclient writes them, never joined
        return self.signer().sign(body, utc.amz_date(self.now()), None, True)

    def check(self, resp):
        """None when resp is the configured success, else what is wrong with it. Its request id
        (API Gateway and Lambda send x-amzn-RequestId), when it has one, must not repeat one of
        the last successes': a repeated answer is a replay, or bytes left from an earlier one."""
        if resp.status != self.ok_status:
            return "HTTP %d is not the success status (%d)" % (resp.status, self.ok_status)
        doc, why = json_body(resp)
        if why is not None:
            return why
        if self.ok_field is not None:
            if not isinstance(doc, dict) or self.ok_field not in doc:
                return "a %d answer without the field %r" % (resp.status, self.ok_field)
            got = doc[self.ok_field]
            text = got if isinstance(got, str) else json.dumps(got)  # true, 1: as the JSON wrote them
            if self.ok_value is not None and text != self.ok_value:
                return "a %d answer whose %r is %s, not %r" % (resp.status, self.ok_field, text[:40], self.ok_value)
        rid = resp.header("x-amzn-requestid")
        if rid is not None:
            if self._answered.repeats(rid):
                return "a %d answer repeating an earlier x-amzn-RequestId" % resp.status
            self._answered.add(rid)
        return None

    def refusal(self, resp):
        """AWS's front ends name their refusal in x-amzn-ErrorType (`InvalidSignatureException`,
        `AccessDeniedException`, ...): taken as the code of a 401 or 403, so that an expired
        signature corrects the clock and refused credentials are fetched again; other statuses
        keep HTTPnnn, which the retry rules know (429 throttles, 400 refuses the item)."""
        err = JsonSink.refusal(self, resp)
        kind = resp.header("x-amzn-errortype")
        if kind and resp.status in (401, 403):
            err.code = kind.split(":")[0].strip()[:80]
            doc = json_body(resp)[0]
            if isinstance(doc, dict):
                text = doc.get("message") or doc.get("Message")
                if isinstance(text, str):
                    err.message = text[:200]
        return err
