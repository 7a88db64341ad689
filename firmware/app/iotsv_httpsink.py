# Readings to an HTTP(S) endpoint as JSON, each request signed with HTTP Signatures: draft-cavage,
# CyberSource's profile of it, or RFC 9421. Used by the delivery engine like the DynamoDB sink; the
# body and the success it takes are iotsv_jsonsink's.
import iotsv_httpdate as httpdate
import iotsv_httpsign as httpsign
from iotsv_jsonsink import JsonSink, accepted  # noqa: F401  # accepted: the success this sink takes

CAVAGE_NAMES = ["(request-target)", "host", "date", "digest", "content-type"]
RFC9421_COMPONENTS = ["@method", "@target-uri", "content-type", "content-digest"]


class Sink(JsonSink):
    """Readings to an HTTP(S) endpoint, {"readings": [...]} a request, signed with HTTP Signatures."""

    def __init__(self, conn, url, scheme, key_id, secret_b64, merchant_id, now):
        if scheme not in httpsign.SCHEMES:
            raise ValueError("unknown signature scheme %r" % scheme)
        JsonSink.__init__(self, conn, url)
        self.url = url
        self.scheme = scheme
        self.key_id = key_id
        self.secret_b64 = secret_b64
        self.secret = httpsign.unb64(secret_b64, "HTTP_SECRET_B64")
        self.merchant_id = merchant_id
        self.now = now

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
                date=httpdate.http_date(now),
            )
            return out + [("Content-Type", "application/json")]
        out = [("Host", self.authority), ("Content-Type", "application/json")]
        if self.scheme == "cavage":
            out.append(("Date", httpdate.http_date(now)))
            out.append(("Digest", httpsign.digest(body)))
            out.append(
                ("Signature", httpsign.sign_cavage("POST", self.target, out, self.key_id, self.secret, CAVAGE_NAMES))
            )
            return out
        out.append(("Content-Digest", httpsign.content_digest(body)))
        return out + httpsign.sign_rfc9421(
            "POST", self.url, out, RFC9421_COMPONENTS, self.key_id, self.secret, created=int(now)
        )
