"""A local HTTPS endpoint that accepts readings only when their HTTP Signature verifies with an
implementation independent of ours: PyPI httpsig (draft-cavage), http-message-signatures
(RFC 9421), and the standard library's hmac for CyberSource's profile."""

import base64
import hashlib
import hmac
import json
import time
from email.utils import parsedate_to_datetime

import requests
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from httpsig import HeaderVerifier

from local.jsonserver import JsonServer

CAVAGE_REQUIRED = ["(request-target)", "host", "date", "digest", "content-type"]


def _cybersource_ok(method, path, headers, body, secret):
    """CyberSource's documented check, written from its guide with the standard library."""
    params = {}
    for part in headers["Signature"].split(", "):
        name, _, value = part.partition("=")
        params[name] = value.strip('"')
    names = params["headers"].split(" ")
    if names[:3] != ["host", "date", "request-target"] or "v-c-merchant-id" not in names:
        return False
    if body and headers.get("Digest") != "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode():
        return False
    lines = []
    for n in names:
        value = "%s %s" % (method.lower(), path) if n == "request-target" else headers[n]
        lines.append("%s: %s" % (n, value))
    mac = hmac.new(base64.b64decode(secret), "\n".join(lines).encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(mac).decode(), params["signature"])


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, key):
        self.key = key

    def resolve_public_key(self, key_id):
        return self.key

    def resolve_private_key(self, key_id):
        return self.key


class SignedEndpoint:
    def __init__(self, cert, key, scheme, key_id, secret_b64):
        self.scheme, self.key_id, self.secret_b64 = scheme, key_id, secret_b64
        self.secret = base64.b64decode(secret_b64)
        self.readings, self.accepted, self.refused = [], 0, []
        self.server = JsonServer(self._answer, cert, key)
        self.port = self.server.port
        self.url = "https://localhost:%d/readings?source=device" % self.port

    def stop(self):
        self.server.stop()

    def _answer(self, method, path, headers, body):
        why = self.check(method, path, headers, body)
        if why is not None:
            self.refused.append(why)
            return 401, {"error": why}
        self.accepted += 1
        self.readings += json.loads(body)["readings"]
        return 200, {"stored": True}

    def check(self, method, path, headers, body):
        """None when the request verifies, else why not."""
        try:
            if self.scheme == "cavage":
                ok = HeaderVerifier(
                    dict(headers.items()),
                    self.secret,
                    required_headers=CAVAGE_REQUIRED,
                    method=method,
                    path=path,
                    sign_header="signature",
                ).verify()
                ok = ok and headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
            elif self.scheme == "cybersource":
                ok = _cybersource_ok(method, path, headers, body, self.secret_b64)
            else:
                msg = requests.Request(
                    method, "https://%s%s" % (headers["Host"], path), headers=dict(headers.items()), data=body
                ).prepare()
                HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=_Keys(self.secret)).verify(
                    msg, body=body, require_components=("@method", "@target-uri", "content-digest")
                )
                ok = True
            if ok and "Date" in headers:
                ok = abs(time.time() - parsedate_to_datetime(headers["Date"]).timestamp()) < 300
        except Exception as e:  # any failure of the independent verifier is a refusal
            return "%s: %s" % (type(e).__name__, e)
        return None if ok else "signature does not verify"
