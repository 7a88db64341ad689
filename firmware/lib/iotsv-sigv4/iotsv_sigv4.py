# AWS Signature Version 4 for request headers, as specified in the AWS General Reference
# ("Create a signed AWS API request") and as botocore computes it.
import hashlib
import sys
from binascii import hexlify

from iotsv_hmac_sha256 import utf8 as _utf8

# Shared with the prepared signer, and part of this module's interface all the same.
from iotsv_sigv4base import ALGORITHM, STS_HEAD, check_amz_date, declared_payload_hash, payload_hash, signing_key  # noqa: F401
from iotsv_transient import hold

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

# What CPython's str.split() splits on beyond what MicroPython's does (ASCII space and \t-\r):
# botocore's canonical value is " ".join(value.split()) on CPython's str, so these must count as
# whitespace on both interpreters for the two to sign alike. The ASCII ones are a tuple of
# constants (looked through for every value, allocating nothing); the others a string, looked
# through only for a value that is not ASCII.
_ASCII_SEPARATORS = ("\x1c", "\x1d", "\x1e", "\x1f")
_UNICODE_SPACES = (
    "\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# what makes a value need squashing: a double space, a tab or line break, a separator
_SQUASHED = ("  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


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


def encode_path(path):
    """A path percent-encoded for the request line: "/" and A-Z a-z 0-9 - _ . ~ kept, every other
    byte as %XX (a "%" too): an S3 key as S3 wants it."""
    raw = path.encode() if isinstance(path, str) else path
    return uri_encode(raw, _SAFE_IN_PATH).decode()


def remove_dot_segments(path):
    """RFC 3986 5.2.4, plus the AWS rule that empty segments (double slashes) go too."""
    if not path:
        return b"/"
    if path[0] == 0x2F and b"//" not in path and b"/." not in path:
        return path  # no dot or empty segment: already normal
    segments = []
    for seg in path.split(b"/"):
        if seg == b".." and segments:
            segments.pop()
        elif seg and seg != b"." and seg != b"..":
            segments.append(seg)
    first = b"/" if path[0] == 0x2F else b""
    last = b"/" if path[-1] == 0x2F and segments else b""
    return first + b"/".join(segments) + last


def canonical_uri(path, s3=False):
    """The path of the canonical request. AWS services other than S3 normalize the path and
    encode it as given, so an escape in it is encoded again; S3's rules (s3=True) keep the
    path and only encode what is not yet encoded."""
    raw = path.encode() if isinstance(path, str) else path
    if s3:
        return uri_encode(raw or b"/", _SAFE_IN_PATH, True)
    return uri_encode(remove_dot_segments(raw), _SAFE_IN_PATH)


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


def canonical_value(value, ascii=None):
    """A header value trimmed, each run of whitespace made one space: CPython's whitespace on
    every interpreter, as botocore has it. ascii: whether the value is known to be ASCII (then
    its non-ASCII spaces need no search)."""
    if ascii is None:
        ascii = len(value.encode()) == len(value)
    odd = None if ascii else _unicode_spaces_in(value)
    if not odd:
        for c in _SQUASHED:
            if c in value:
                break
        else:
            if value.strip() == value:
                return value  # most values: nothing to do, nothing allocated
    for c in _ASCII_SEPARATORS:
        if c in value:
            value = value.replace(c, " ")
    if odd:
        for c in odd:
            value = value.replace(c, " ")
    return " ".join(value.split())


def _unicode_spaces_in(value):
    # a function of its own: a comprehension inline would cost every ASCII value a closure
    return [c for c in _UNICODE_SPACES if c in value]


def canonical_headers(headers):
    """(canonical header block, signed header names), bytes-like, from (name, value) pairs: names
    lowercased and sorted, values trimmed with inner whitespace runs (and line folds) made
    one space, a repeated name's values joined with commas in the order given. Names must be
    ASCII (HTTP's tokens): only ASCII lowercases alike on both interpreters."""
    block, names = _canonical_headers(headers, True)
    if block and max(block) > 0x7F:  # something not ASCII: a name (refused) or a value's own spaces
        for name, _ in headers:
            if len(name.encode()) != len(name):
                raise ValueError("header name %r is not ASCII" % name)
        block, names = _canonical_headers(headers, False)
    return block, names


def _canonical_headers(headers, ascii):
    """(block, signed names), written straight into two bytearrays."""
    values = {}
    for name, value in headers:
        lname = name.lower()
        if lname in UNSIGNED_HEADERS:
            continue
        value = canonical_value(value, ascii)
        if lname in values:
            values[lname] += "," + value
        else:
            values[lname] = value
    block = bytearray()
    signed = bytearray()
    for name in sorted(values):
        block += _utf8(name)
        block += b":"
        block += _utf8(values[name])
        block += b"\n"
        if signed:
            signed += b";"
        signed += _utf8(name)
    return block, signed


def canonical_request_lines(method, path, query, headers, body_hash, s3=False):
    """The six lines of the canonical request (bytes, without their newlines): method, URI,
    query, header block (which ends in a newline of its own), signed header names, payload hash."""
    block, signed = canonical_headers(headers)
    return (method.upper().encode(), canonical_uri(path, s3), canonical_query(query), block, signed, body_hash)


def canonical_request(method, path, query, headers, body_hash, s3=False):
    """(canonical request, signed header names), both bytes."""
    lines = canonical_request_lines(method, path, query, headers, body_hash, s3)
    return b"\n".join(lines), lines[4]


def canonical_request_hash(lines):
    """Hex SHA-256 of the canonical request, hashed line by line: the request is never joined."""
    h = hashlib.sha256(lines[0])
    for i in range(1, len(lines)):  # by index: lines[1:] would be a copy
        h.update(b"\n")
        h.update(lines[i])
    return hexlify(h.digest())


def credential_scope(amz_date, region, service):
    return "%.8s/%s/%s/aws4_request" % (amz_date, region, service)  # %.8s: the day, with no slice made


def _sts_parts(amz_date, scope, creq_hash):
    """The string to sign in its parts, for the HMAC to hash in turn (sign() never joins them);
    its text as it is where a hash takes a str (MicroPython: no copy), else encoded."""
    return (STS_HEAD, _utf8(amz_date), b"\n", _utf8(scope), b"\n", creq_hash)


def string_to_sign(amz_date, scope, creq_hash):
    """Algorithm, request date, credential scope and the hex hash of the canonical request."""
    out = bytearray()
    for part in _sts_parts(amz_date, scope, creq_hash):
        out += part
    return bytes(out)


def signature(key, sts):
    """Hex HMAC of the string to sign: bytes, or its parts (a tuple)."""
    return hexlify(key.digest(sts)).decode()


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
    s3=False,
):
    """Sign a request; return the headers to send: `headers` (any Authorization dropped),
    X-Amz-Date unless present, X-Amz-Security-Token when a token is given and not present,
    and Authorization."""
    check_amz_date(amz_date)
    out = []
    has_date = has_token = False
    for pair in headers:
        if len(pair[0]) in (10, 13, 20):  # lowercased only when it may be one of these: no copy of the others
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

    lines = canonical_request_lines(method, path, query, out, payload_hash(out, body), s3)
    scope = credential_scope(amz_date, region, service)
    sts = _sts_parts(amz_date, scope, canonical_request_hash(lines))
    sig = signature(signing_key(secret_key, amz_date, region, service), sts)
    signed = lines[4]
    out.append(
        (
            "Authorization",
            "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s"
            % (ALGORITHM, access_key, scope, signed.decode(), sig),
        )
    )
    return out


def presign(*args, **kw):
    """iotsv_sigv4presign.presign, loaded for the call and handed this module's steps."""
    return hold("iotsv_sigv4presign").presign(_THIS, *args, **kw)


def presign_canonical(*args, **kw):
    """iotsv_sigv4presign.presign_canonical, loaded for the call and handed this module's steps."""
    return hold("iotsv_sigv4presign").presign_canonical(_THIS, *args, **kw)


def __getattr__(name):
    """UNSIGNED_PAYLOAD and MAX_EXPIRES_S are iotsv_sigv4presign's, read through this module: the
    presigner is loaded when asked for, so a signer's preparation (which loads this module at a
    device's start) does not load it too."""
    if name in ("UNSIGNED_PAYLOAD", "MAX_EXPIRES_S"):
        return getattr(hold("iotsv_sigv4presign"), name)
    raise AttributeError(name)


# This module itself, for the presigner: taken at import, as iotsv_transient may drop it from sys.modules.
_THIS = sys.modules[__name__]

_DATE_MARK = b"\x00" * 16
_HASH_MARK = b"\x01" * 64


def prepare_signer(
    signer, method, path, query, headers, access_key, secret_key, region, service, session_token=None, s3=False
):
    """Prepares an iotsv_sigv4signer.Signer (its __init__ calls this, with this module loaded for
    the call): the canonical request computed once with marks where X-Amz-Date and the payload
    hash go, split around them, and the Authorization header's fixed parts."""
    headers = [h for h in headers if h[0].lower() not in ("authorization", "x-amz-date")]
    if session_token and not any(h[0].lower() == "x-amz-security-token" for h in headers):
        headers.append(("X-Amz-Security-Token", session_token))
    signer.headers = headers
    fixed_hash = declared_payload_hash(headers)
    marked = headers + [("X-Amz-Date", _DATE_MARK.decode())]
    creq, signed = canonical_request(method, path, query, marked, fixed_hash or _HASH_MARK, s3)
    d = creq.find(_DATE_MARK)
    signer._before_date = creq[:d]
    signer._after_date = creq[d + len(_DATE_MARK) : -len(fixed_hash or _HASH_MARK)]
    signer._fixed_hash = fixed_hash
    signer._secret = secret_key
    signer._region = region
    signer._service = service
    signer._auth_head = "%s Credential=%s/" % (ALGORITHM, access_key)
    signer._auth_tail = "/%s/%s/aws4_request, SignedHeaders=%s, Signature=" % (region, service, signed.decode())
    signer._scope_tail = ("/%s/%s/aws4_request\n" % (region, service)).encode()
    signer._day = None
