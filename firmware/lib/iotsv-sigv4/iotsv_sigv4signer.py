# SigV4 for a device's repeated requests: one Signer per request shape (method, path, headers,
# credentials), prepared once, signs each body at each time with the hashes and the HMAC only.
from binascii import hexlify
from hashlib import sha256

from iotsv_hmac_sha256 import utf8
from iotsv_sigv4base import STS_HEAD, body_hash, check_amz_date, signing_key
from iotsv_transient import run

try:
    import micropython  # pyright: ignore[reportAssignmentType]  # the module here, the stand-in below on CPython
except ImportError:  # CPython: what MicroPython compiles to machine code runs as it is

    class micropython:
        @staticmethod
        def native(fn):
            return fn


class Signer:
    """Signs many requests that differ only in body and time, as a device's client sends them:
    the canonical request is computed once with marks where X-Amz-Date and the payload hash go,
    so each request costs the hashes, the HMAC and a few joins. Gives what sigv4.sign() gives."""

    credentials: object  # not set here: a tag its owner may attach (dynamodb.Client: the credentials it signs with)
    # set by sigv4.prepare_signer (the request's fixed parts around the marks; the day's key's inputs)
    headers: list
    _before_date: bytes
    _after_date: bytes
    _fixed_hash: "bytes | None"
    _secret: str
    _region: str
    _service: str
    _auth_head: str
    _auth_tail: str
    _scope_tail: bytes
    _day: "str | None"
    _state: tuple

    def __init__(
        self, method, path, query, headers, access_key, secret_key, region, service, session_token=None, s3=False
    ):
        # The canonical request with its marks is made once, by iotsv_sigv4 (its canonicalization),
        # loaded for it and dropped after: it sets headers, _before_date, _after_date, _fixed_hash,
        # _secret, _region, _service, _auth_head, _auth_tail, _scope_tail and _day.
        run(
            "iotsv_sigv4",
            "prepare_signer",
            self,
            method,
            path,
            query,
            headers,
            access_key,
            secret_key,
            region,
            service,
            session_token,
            s3,
        )

    def prepare(self, amz_date):
        """Derive the day's signing key now (once a day), before the caller gathers a body."""
        if amz_date[:8] != self._day:
            self._new_day(amz_date)

    @micropython.native
    def sign(self, body, amz_date, payload_hash=None, parts=False):
        """The headers to send for this body (bytes, or a list of parts) at this time (X-Amz-Date
        and Authorization last). payload_hash: the body's hex SHA-256 (bytes) when the caller
        has it (sigv4base.pieces_hash of a body made piece by piece); body is then not read.
        parts: Authorization's value as (its day's fixed head, the signature), for a client that
        writes a value in parts (iotsv_httpclient): the 220-byte string is never made."""
        if amz_date[:8] != self._day:
            self._new_day(amz_date)
        before, after, ipad_head, opad, day_scope, auth_head, out, fixed_hash = self._state
        date = utf8(amz_date)  # MicroPython's hashes take the str as it is: no bytes made
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
        out = out[:]  # the headers and two places: a copy, and no list made to extend it
        out[-2] = ("X-Amz-Date", amz_date)
        signature = hexlify(h.digest()).decode()
        out[-1] = ("Authorization", (auth_head, signature) if parts else auth_head + signature)
        return out

    def _new_day(self, amz_date):
        day = amz_date[:8]

        check_amz_date(amz_date)
        ipad, opad = signing_key(self._secret, day, self._region, self._service).pads()
        self._day = day
        self._state = (
            self._before_date,
            self._after_date,
            ipad + STS_HEAD,
            opad,
            b"\n" + day.encode() + self._scope_tail,
            self._auth_head + day + self._auth_tail,
            self.headers + [None, None],  # X-Amz-Date and Authorization go last
            self._fixed_hash,
        )
