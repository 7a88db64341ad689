# AWS Signature Version 4 for request headers, as specified in the AWS General Reference
# ("Create a signed AWS API request") and as botocore computes it.
import hashlib
from binascii import hexlify

from hmac_sha256 import HmacSha256

try:
    import micropython
except ImportError:  # CPython: what MicroPython compiles to machine code runs as it is

    class micropython:
        @staticmethod
        def native(fn):
            return fn


ALGORITHM = "AWS4-HMAC-SHA256"

# Headers that proxies and HTTP stacks add, drop or rewrite; botocore never signs them and
# servers that verify with botocore (moto) reject a signature that covers them.
UNSIGNED_HEADERS = (
    "authorization",
    "baggage",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "traceparent",
    "tracestate",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
)

_HEX = b"0123456789ABCDEF"


def _byte_table(chars):
    table = bytearray(256)
    for c in chars:
        table[c] = 1
    return bytes(table)


_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_SAFE_IN_VALUE = _byte_table(_UNRESERVED)
_SAFE_IN_PATH = _byte_table(_UNRESERVED + b"/")
_HEX_VALUE = bytearray(b"\xff" * 256)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX_VALUE[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX_VALUE[_c] = 10 + _i


def _is_escape(raw, i):
    return i + 2 < len(raw) and _HEX_VALUE[raw[i + 1]] < 16 and _HEX_VALUE[raw[i + 2]] < 16


def uri_encode(raw, safe=_SAFE_IN_VALUE, keep_escapes=False):
    """Percent-encode every byte of `raw` not marked in `safe` (uppercase hex, RFC 3986).
    With keep_escapes, a valid %XX already present is left as it is (encode once)."""
    for c in raw:
        if not safe[c]:
            break
    else:
        return raw
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if safe[c] or (keep_escapes and c == 0x25 and _is_escape(raw, i)):
            out.append(c)
        else:
            out.append(0x25)
            out.append(_HEX[c >> 4])
            out.append(_HEX[c & 15])
        i += 1
    return bytes(out)


def uri_decode(raw):
    """Undo valid %XX escapes; a '%' not followed by two hex digits stays literal."""
    if 0x25 not in raw:
        return raw
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == 0x25 and _is_escape(raw, i):
            out.append(_HEX_VALUE[raw[i + 1]] << 4 | _HEX_VALUE[raw[i + 2]])
            i += 3
        else:
            out.append(c)
            i += 1
    return bytes(out)


def remove_dot_segments(path):
    """RFC 3986 5.2.4, plus the AWS rule that empty segments (double slashes) go too."""
    if not path:
        return b"/"
    segments = []
    for seg in path.split(b"/"):
        if seg == b".." and segments:
            segments.pop()
        elif seg and seg != b"." and seg != b"..":
            segments.append(seg)
    first = b"/" if path[0] == 0x2F else b""
    last = b"/" if path[-1] == 0x2F and segments else b""
    return first + b"/".join(segments) + last


def canonical_uri(path, normalize=True):
    """The path of the canonical request. AWS services other than S3 normalize the path and
    encode it as given, so an escape in it is encoded again; S3 (normalize=False) keeps the
    path and only encodes what is not yet encoded."""
    raw = path.encode() if isinstance(path, str) else path
    if normalize:
        return uri_encode(remove_dot_segments(raw), _SAFE_IN_PATH)
    return uri_encode(raw or b"/", _SAFE_IN_PATH, True)


def canonical_query(query):
    """Query pairs decoded, re-encoded with AWS's rules and sorted by name, then value."""
    if not query:
        return b""
    raw = query.encode() if isinstance(query, str) else query
    pairs = []
    for pair in raw.split(b"&"):
        eq = pair.find(b"=")
        if eq < 0:
            name, value = pair, b""
        else:
            name, value = pair[:eq], pair[eq + 1 :]
        pairs.append((uri_encode(uri_decode(name)), uri_encode(uri_decode(value))))
    pairs.sort()
    return b"&".join(name + b"=" + value for name, value in pairs)


def canonical_headers(headers):
    """(canonical header block, signed header names) from (name, value) pairs: names
    lowercased and sorted, values trimmed with inner whitespace runs (and line folds) made
    one space, a repeated name's values joined with commas in the order given."""
    values = {}
    for name, value in headers:
        lname = name.lower()
        if lname in UNSIGNED_HEADERS:
            continue
        value = " ".join(value.split())
        if lname in values:
            values[lname] += "," + value
        else:
            values[lname] = value
    names = sorted(values)
    block = "".join(name + ":" + values[name] + "\n" for name in names)
    return block.encode(), ";".join(names).encode()


def payload_hash(headers, body):
    for name, value in headers:
        if name.lower() == "x-amz-content-sha256":
            return value.encode()
    return hexlify(hashlib.sha256(body).digest())


def canonical_request(method, path, query, headers, body_hash, normalize=True):
    """(canonical request, signed header names), both bytes."""
    block, signed = canonical_headers(headers)
    creq = b"\n".join(
        (
            method.upper().encode(),
            canonical_uri(path, normalize),
            canonical_query(query),
            block,
            signed,
            body_hash,
        )
    )
    return creq, signed


def credential_scope(amz_date, region, service):
    return "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)


def string_to_sign(amz_date, scope, creq):
    return b"\n".join(
        (
            ALGORITHM.encode(),
            amz_date.encode(),
            scope.encode(),
            hexlify(hashlib.sha256(creq).digest()),
        )
    )


_key_cache = [None, None]  # (secret, date, region, service), HmacSha256 of the signing key


def signing_key(secret_key, date, region, service):
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
    ready for HMAC; derived once per (date, region, service) and reused."""
    ident = (secret_key, date, region, service)
    if _key_cache[0] != ident:
        k = HmacSha256(("AWS4" + secret_key).encode()).digest(date.encode())
        k = HmacSha256(k).digest(region.encode())
        k = HmacSha256(k).digest(service.encode())
        k = HmacSha256(k).digest(b"aws4_request")
        _key_cache[1] = HmacSha256(k)
        _key_cache[0] = ident
    return _key_cache[1]


def signature(key, sts):
    return hexlify(key.digest(sts)).decode()


def _check_amz_date(amz_date):
    ok = (
        isinstance(amz_date, str)
        and len(amz_date) == 16
        and amz_date[8] == "T"
        and amz_date[15] == "Z"
        and (amz_date[:8] + amz_date[9:15]).isdigit()
    )
    if not ok:
        raise ValueError("amz_date must be YYYYMMDDTHHMMSSZ")


def sign(
    method,
    path,
    query,
    headers,
    body,
    access_key,
    secret_key,
    region,
    service,
    amz_date,
    session_token=None,
    normalize=True,
):
    """Sign a request; return the headers to send: `headers` (any Authorization dropped),
    X-Amz-Date unless present, X-Amz-Security-Token when a token is given and not present,
    and Authorization."""
    _check_amz_date(amz_date)
    out = []
    has_date = has_token = False
    for pair in headers:
        lname = pair[0].lower()
        if lname == "authorization":
            continue
        if lname == "x-amz-date":
            if pair[1].strip() != amz_date:
                raise ValueError("X-Amz-Date header differs from amz_date")
            has_date = True
        elif lname == "x-amz-security-token":
            has_token = True
        out.append(pair)
    if not has_date:
        out.append(("X-Amz-Date", amz_date))
    if session_token and not has_token:
        out.append(("X-Amz-Security-Token", session_token))

    creq, signed = canonical_request(method, path, query, out, payload_hash(out, body), normalize)
    scope = credential_scope(amz_date, region, service)
    sts = string_to_sign(amz_date, scope, creq)
    sig = signature(signing_key(secret_key, amz_date[:8], region, service), sts)
    out.append(
        (
            "Authorization",
            "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s"
            % (ALGORITHM, access_key, scope, signed.decode(), sig),
        )
    )
    return out


_sha256 = hashlib.sha256
_STS_HEAD = b"AWS4-HMAC-SHA256\n"
_DATE_MARK = b"\x00" * 16
_HASH_MARK = b"\x01" * 64


class Signer:
    """Signs many requests that differ only in body and time, as a device's client sends them:
    the canonical request is computed once with marks where X-Amz-Date and the payload hash go,
    so each request costs the hashes, the HMAC and a few joins. Gives what sign() gives."""

    def __init__(
        self, method, path, query, headers, access_key, secret_key, region, service, session_token=None, normalize=True
    ):
        headers = [h for h in headers if h[0].lower() not in ("authorization", "x-amz-date")]
        if session_token and not any(h[0].lower() == "x-amz-security-token" for h in headers):
            headers.append(("X-Amz-Security-Token", session_token))
        self.headers = headers
        fixed_hash = None
        for name, value in headers:
            if name.lower() == "x-amz-content-sha256":
                fixed_hash = value.encode()
        marked = headers + [("X-Amz-Date", _DATE_MARK.decode())]
        creq, signed = canonical_request(method, path, query, marked, fixed_hash or _HASH_MARK, normalize)
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

    @micropython.native
    def sign(self, body, amz_date):
        """The headers to send for this body at this time (X-Amz-Date and Authorization last)."""
        if amz_date[:8] != self._day:
            self._new_day(amz_date)
        before, after, ipad_head, opad, day_scope, auth_head, headers, fixed_hash = self._state
        date = amz_date.encode()
        # The pieces are hashed in place, not joined: the canonical request is never built.
        c = _sha256(before)
        c.update(date)
        c.update(after)
        c.update(fixed_hash or hexlify(_sha256(body).digest()))
        h = _sha256(ipad_head)  # HMAC with its pads ready; "AWS4-HMAC-SHA256\n" follows the ipad
        h.update(date)
        h.update(day_scope)
        h.update(hexlify(c.digest()))
        inner = h.digest()
        h = _sha256(opad)
        h.update(inner)
        out = headers + [("X-Amz-Date", amz_date), ("Authorization", auth_head + hexlify(h.digest()).decode())]
        return out

    def _new_day(self, amz_date):
        _check_amz_date(amz_date)
        day = amz_date[:8]
        key = signing_key(self._secret, day, self._region, self._service)
        self._day = day
        self._state = (
            self._before_date,
            self._after_date,
            key._ipad + _STS_HEAD,
            key._opad,
            b"\n" + day.encode() + self._scope_tail,
            self._auth_head + day + self._auth_tail,
            self.headers,
            self._fixed_hash,
        )
