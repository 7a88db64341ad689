# HTTP Signatures, the verifying side: draft-cavage (with CyberSource's profile) and RFC 9421
# signatures checked, with RFC 9530 Content-Digest and the signature's age. For the host (tools,
# tests, a server); a board only signs, with httpsign, and never loads this, the RFC 8941 parser or
# SHA-512. The signing strings and bases are httpsign's, so both sides build them alike.
import iotsv_httpdate as httpdate
import iotsv_structfield as sf
import iotsv_structparse as structparse
import iotsv_utc as utc
from iotsv_hmac_sha256 import HmacSha256, compare_digest
from iotsv_httpsign import (
    CYBERSOURCE_DIGEST_METHODS,
    DIGESTS,
    OWS,
    SignatureError,
    cavage_signing_string,
    digest,
    field_value,
    signature_base,
    unb64,
)

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


MAX_AGE_S = const(300)  # how old a signature may be, by default
SKEW_S = const(30)  # how far the signer's clock may be from ours
CAVAGE_ALGORITHMS = ("hmac-sha256", "hs2019", "hmacsha256")  # the last: CyberSource's HmacSHA256
RFC9421_PARAMS = ("created", "expires", "nonce", "alg", "keyid", "tag")


def _now(now):
    return utc.now() if now is None else now


def _check_age(what, when, now, max_age_s, skew_s):
    if when > now + skew_s:
        raise SignatureError("%s is %ds in the future" % (what, when - now))
    if max_age_s is not None and now - when > max_age_s + skew_s:
        raise SignatureError("%s is %ds old, more than the %ds allowed" % (what, now - when, max_age_s))


# -- draft-cavage-http-signatures ---------------------------------------------------------------


def parse_cavage_params(text):
    """{lowercased name: value} of `name="value",name=123,...`; malformed or repeated
    parameters are refused."""
    out = {}
    i = 0
    text = text.strip(OWS)
    while i < len(text):
        eq = text.find("=", i)
        if eq < 0:
            raise SignatureError("malformed signature parameters near %r" % text[i : i + 20])
        name = text[i:eq].strip(OWS).lower()
        if not name or not name.replace("-", "").isalpha():
            raise SignatureError("malformed signature parameter name %r" % text[i:eq])
        if name in out:
            raise SignatureError("signature parameter %r given twice" % name)
        if text[eq + 1 : eq + 2] == '"':
            end = text.find('"', eq + 2)
            if end < 0:
                raise SignatureError("unterminated value of signature parameter %r" % name)
            value = text[eq + 2 : end]
            i = end + 1
        else:
            end = text.find(",", eq + 1)
            end = len(text) if end < 0 else end
            value = text[eq + 1 : end].strip(OWS)
            if not value.isdigit():
                raise SignatureError("signature parameter %r must be quoted or a number" % name)
            i = end
        out[name] = value
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text):
            if text[i] != ",":
                raise SignatureError("expected ',' after signature parameter %r" % name)
            i += 1
            while i < len(text) and text[i] == " ":
                i += 1
            if i >= len(text):
                raise SignatureError("signature parameters end with ','")
    return out


def _signature_params_text(headers):
    found = [v for n, v in headers if n.lower() == "signature"]
    if len(found) > 1:
        raise SignatureError("more than one Signature header")
    if found:
        return found[0]
    auths = [v for n, v in headers if n.lower() == "authorization"]
    if len(auths) == 1 and auths[0][:10].lower() == "signature ":
        return auths[0][10:]
    raise SignatureError("no Signature header and no Authorization: Signature header")


def _int_param(p, name):
    if name not in p:
        return None
    if not p[name].isdigit():
        raise SignatureError("%s must be a whole number of seconds" % name)
    return int(p[name])


def verify_cavage(
    method,
    target,
    headers,
    secret,
    required=("(request-target)",),
    max_age_s=MAX_AGE_S,
    skew_s=SKEW_S,
    now=None,
    body=None,
):
    """Check a draft-cavage signature; return its parameters. `secret` is the key's bytes or a
    function from keyId to bytes (None for an unknown key). Raises SignatureError."""
    p = parse_cavage_params(_signature_params_text(headers))
    for name in ("keyid", "signature"):
        if name not in p:
            raise SignatureError("signature has no %s parameter" % name)
    alg = p.get("algorithm", "hs2019").lower()
    if alg not in CAVAGE_ALGORITHMS:
        raise SignatureError("unknown algorithm %r" % p["algorithm"])
    names = p.get("headers", "(created)" if alg == "hs2019" else "date").lower().split()
    for name in names:
        if names.count(name) > 1:
            raise SignatureError("%r appears twice in the signed headers" % name)
    created, expires = _int_param(p, "created"), _int_param(p, "expires")
    if ("(created)" in names or "(expires)" in names) and alg != "hs2019":
        raise SignatureError("(created) and (expires) are only valid with algorithm hs2019")
    for name in required:
        n = name.lower()
        alt = {"(request-target)": "request-target", "request-target": "(request-target)"}.get(n)
        if n not in names and alt not in names:
            raise SignatureError("%r is required but not signed" % n)
    key = secret(p["keyid"]) if callable(secret) else secret
    if key is None:
        raise SignatureError("unknown keyId %r" % p["keyid"])
    expected = HmacSha256(key).digest(cavage_signing_string(method, target, headers, names, created, expires))
    if not compare_digest(expected, unb64(p["signature"], "signature")):
        raise SignatureError("signature does not match (keyId %r, headers %r)" % (p["keyid"], " ".join(names)))
    now = _now(now)
    if created is not None:
        _check_age("(created)", created, now, max_age_s, skew_s)
    if expires is not None and now > expires + skew_s:
        raise SignatureError("signature expired %ds ago" % (now - expires))
    if "date" in names:
        date = httpdate.parse_http_date(field_value(headers, "date"))
        if date is None:
            raise SignatureError("Date header is not an HTTP date")
        _check_age("Date", date, now, max_age_s, skew_s)
    elif created is None and max_age_s is not None:
        raise SignatureError("neither Date nor (created) is signed: the signature's age is unknown")
    if body is not None and "digest" in names:
        if field_value(headers, "digest") != digest(body):
            raise SignatureError("Digest does not match the body")
    return p


# -- CyberSource ---------------------------------------------------------------------------------


def verify_cybersource(method, target, headers, secret_b64, body=None, max_age_s=MAX_AGE_S, skew_s=SKEW_S, now=None):
    required = ["host", "date", "request-target", "v-c-merchant-id"]
    if method.upper() in CYBERSOURCE_DIGEST_METHODS:
        required.append("digest")
    return verify_cavage(
        method, target, headers, unb64(secret_b64, "the shared secret"), required, max_age_s, skew_s, now, body
    )


# -- RFC 9530 Content-Digest -------------------------------------------------------------------


def check_content_digest(value, body):
    try:
        members = structparse.parse_dictionary(value)
    except sf.StructError as e:
        raise SignatureError("Content-Digest is malformed: %s" % e)
    known = 0
    for name, (got, _) in members:
        fn = dict(DIGESTS).get(name)
        if fn is None:
            continue
        known += 1
        if not isinstance(got, sf.Bytes) or got.value != fn(body):
            raise SignatureError("Content-Digest %s does not match the body" % name)
    if not known:
        raise SignatureError("Content-Digest has no sha-256 or sha-512 digest")


# -- RFC 9421 HTTP Message Signatures ----------------------------------------------------------


def _dictionary(headers, name):
    value = field_value(headers, name)
    if value is None:
        raise SignatureError("no %s header" % name)
    try:
        return dict(structparse.parse_dictionary(value))
    except sf.StructError as e:
        raise SignatureError("%s is malformed: %s" % (name, e))


def verify_rfc9421(
    method,
    url,
    headers,
    secret,
    label=None,
    required=(),
    max_age_s=MAX_AGE_S,
    skew_s=SKEW_S,
    now=None,
    body=None,
    tag=None,
):
    """Check an RFC 9421 hmac-sha256 signature; return {"label", "components", and its
    parameters}. `secret` is bytes or a function from keyid to bytes. Raises SignatureError."""
    inputs = _dictionary(headers, "Signature-Input")
    sigs = _dictionary(headers, "Signature")
    if label is None:
        if len(inputs) != 1:
            raise SignatureError("%d signatures in Signature-Input: say which label to verify" % len(inputs))
        label = list(inputs)[0]
    if label not in inputs or label not in sigs:
        raise SignatureError("no signature labelled %r" % label)
    items, params = inputs[label]
    signature = sigs[label][0]
    if not isinstance(items, list):
        raise SignatureError("Signature-Input %r is not an inner list" % label)
    if not isinstance(signature, sf.Bytes):
        raise SignatureError("Signature %r is not a byte sequence" % label)
    components = []
    for value, item_params in items:
        if not isinstance(value, str):
            raise SignatureError("component %r is not a string" % (value,))
        if item_params:
            raise SignatureError("component parameters (%s;...) are not supported" % value)
        components.append(value)
    p = {}
    for name, value in params:
        if name not in RFC9421_PARAMS:
            raise SignatureError("unknown signature parameter %r" % name)
        want = int if name in ("created", "expires") else str
        if not isinstance(value, want) or isinstance(value, bool):
            raise SignatureError("signature parameter %r has the wrong type" % name)
        p[name] = value
    if p.get("alg", "hmac-sha256") != "hmac-sha256":
        raise SignatureError("unknown algorithm %r" % p["alg"])
    if tag is not None and p.get("tag") != tag:
        raise SignatureError("signature tag %r is not %r" % (p.get("tag"), tag))
    for name in required:
        if name not in components:
            raise SignatureError("%r is required but not covered" % name)
    if "created" not in p and max_age_s is not None:
        raise SignatureError("signature has no created time: its age is unknown")
    key = secret(p.get("keyid")) if callable(secret) else secret
    if key is None:
        raise SignatureError("unknown keyid %r" % p.get("keyid"))
    base, _ = signature_base(method, url, headers, components, params)
    if not compare_digest(HmacSha256(key).digest(base), signature.value):
        raise SignatureError("signature %r does not match" % label)
    now = _now(now)
    if "created" in p:
        _check_age("created", p["created"], now, max_age_s, skew_s)
    if "expires" in p and now > p["expires"] + skew_s:
        raise SignatureError("signature expired %ds ago" % (now - p["expires"]))
    if body is not None:
        if "content-digest" not in components:
            raise SignatureError("the body is not covered: content-digest is not signed")
        check_content_digest(field_value(headers, "content-digest"), body)
    p["label"] = label
    p["components"] = components
    return p
