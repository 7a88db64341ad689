# SigV4 for a device's repeated requests: one Signer per request shape (method, path, headers,
# credentials), prepared once, signs each body at each time with the hashes and the HMAC only.
from binascii import hexlify
from hashlib import sha256

from iotsv_sigv4base import ALGORITHM, body_hash, check_amz_date, declared_payload_hash, signing_key
from iotsv_transient import call_with

try:
    import micropython  # pyright: ignore[reportAssignmentType]  # the module here, the stand-in below on CPython
except ImportError:  # CPython: what MicroPython compiles to machine code runs as it is

    class micropython:
        @staticmethod
        def native(fn):
            return fn


_STS_HEAD = (ALGORITHM + "\n").encode()
_DATE_MARK = b"\x00" * 16
_HASH_MARK = b"\x01" * 64


class Signer:
    """Signs many requests that differ only in body and time, as a device's client sends them:
    the canonical request is computed once with marks where X-Amz-Date and the payload hash go,
    so each request costs the hashes, the HMAC and a few joins. Gives what sigv4.sign() gives."""

    credentials: object  # not set here: a tag its owner may attach (dynamodb.Client: the credentials it signs with)

    def __init__(
        self, method, path, query, headers, access_key, secret_key, region, service, session_token=None, s3=False
    ):
        headers = [h for h in headers if h[0].lower() not in ("authorization", "x-amz-date")]
        if session_token and not any(h[0].lower() == "x-amz-security-token" for h in headers):
            headers.append(("X-Amz-Security-Token", session_token))
        self.headers = headers
        fixed_hash = declared_payload_hash(headers)
        marked = headers + [("X-Amz-Date", _DATE_MARK.decode())]
        creq, signed = call_with(  # the canonical request only to prepare: sigv4 is dropped after
            "iotsv_sigv4",
            lambda spec: spec.canonical_request(method, path, query, marked, fixed_hash or _HASH_MARK, s3),
        )
        d = creq.find(_DATE_MARK)
        self._before_date = creq[:d]
        self._after_date = creq[d + len(_DATE_MARK) : -len(fixed_hash or _HASH_MARK)]
        self._fixed_hash = fixed_hash
        self._secret = secret_key
        self._region = region
        self._service = service
        self._auth_head = "%s Credential=%s/" % (ALGORITHM, access_key)
        self._auth_tail = "/%s/%s/aws4_request, SignedHeaders=%s, Signature=" % (region, service, signed.decode())
        self._scope_tail = ("/%s/%s/aws4_request\n" % (region, service)).encode()
        self._day = None

    def prepare(self, amz_date):
        """Derive the day's signing key now (once a day), before the caller gathers a body."""
        if amz_date[:8] != self._day:
            self._new_day(amz_date)

    @micropython.native
    def sign(self, body, amz_date, payload_hash=None):
        """The headers to send for this body (bytes, or a list of parts) at this time (X-Amz-Date
        and Authorization last). payload_hash: the body's hex SHA-256 (bytes) when the caller
        has it (sigv4base.pieces_hash of a body made piece by piece); body is then not read."""
        if amz_date[:8] != self._day:
            self._new_day(amz_date)
        before, after, ipad_head, opad, day_scope, auth_head, headers, fixed_hash = self._state
        date = amz_date.encode()
        # The pieces are hashed in place, not joined: the canonical request is never built.
        c = sha256(before)
        c.update(date)
        c.update(after)
        c.update(fixed_hash or payload_hash or body_hash(body))
        h = sha256(ipad_head)  # HMAC with its pads ready; "AWS4-HMAC-SHA256\n" follows the ipad
        h.update(date)
        h.update(day_scope)
        h.update(hexlify(c.digest()))
        inner = h.digest()
        h = sha256(opad)
        h.update(inner)
        out = headers + [("X-Amz-Date", amz_date), ("Authorization", auth_head + hexlify(h.digest()).decode())]
        return out

    def _new_day(self, amz_date):
        day = amz_date[:8]

        check_amz_date(amz_date)
        ipad, opad = signing_key(self._secret, day, self._region, self._service).pads()
        self._day = day
        self._state = (
            self._before_date,
            self._after_date,
            ipad + _STS_HEAD,
            opad,
            b"\n" + day.encode() + self._scope_tail,
            self._auth_head + day + self._auth_tail,
            self.headers,
            self._fixed_hash,
        )
