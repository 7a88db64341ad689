# HTTP Signatures for REST APIs that do not speak SigV4: draft-cavage-http-signatures (hmac-sha256
# and hs2019), its CyberSource profile, and RFC 9421 HTTP Message Signatures (hmac-sha256), with
# RFC 9530 Content-Digest. Signing and verifying, on MicroPython and CPython alike.
import hashlib
from binascii import a2b_base64, b2a_base64

import structfield as sf
import utc
from hmac_sha256 import HmacSha256, compare_digest
from sha512 import sha512

MAX_AGE_S = 300  # how old a signature may be, by default
SKEW_S = 30  # how far the signer's clock may be from ours
CAVAGE_ALGORITHMS = ("hmac-sha256", "hs2019", "hmacsha256")  # the last: CyberSource's HmacSHA256
RFC9421_PARAMS = ("created", "expires", "nonce", "alg", "keyid", "tag")


class SignatureError(ValueError):
    """A signature that cannot be made or does not verify; the message says which part failed."""


def b64(data):
    return b2a_base64(data).decode().strip()


_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def unb64(text, what):
    # Strictly: CPython's decoder would skip stray characters, letting two texts verify alike.
    body = text.rstrip("=")
    if len(text) % 4 or len(text) - len(body) > 2 or any(c not in _B64_CHARS for c in body):
        raise SignatureError("%s is not valid base64" % what)
    try:
        return a2b_base64(text)
    except (ValueError, TypeError):
        raise SignatureError("%s is not valid base64" % what)


def _now(now):
    return utc.now() if now is None else now


# HTTP's optional whitespace (RFC 9110 5.6.3): what a field value is trimmed of. Named, not strip()'s
# default, which differs between CPython (Unicode) and MicroPython (ASCII).
OWS = " \t"


def field_value(headers, name):
    """A header as signed: each line's value trimmed of OWS (an obsolete line fold made one
    space), the lines of a repeated name joined with ", "; None when absent."""
    name = name.lower()
    values = []
    for n, v in headers:
        if n.lower() == name:
            values.append(" ".join(part.strip(OWS + "\r") for part in v.split("\n")).strip(OWS))
    return ", ".join(values) if values else None


def _check_age(what, when, now, max_age_s, skew_s):
    if when > now + skew_s:
        raise SignatureError("%s is %ds in the future" % (what, when - now))
    if max_age_s is not None and now - when > max_age_s + skew_s:
        raise SignatureError("%s is %ds old, more than the %ds allowed" % (what, now - when, max_age_s))


# -- draft-cavage-http-signatures ---------------------------------------------------------------


def cavage_signing_string(method, target, headers, names, created=None, expires=None):
    """The lines `name: value` joined by \\n, no trailing newline. "(request-target)" is the
    lowercased method, a space and the target as sent; "request-target" (CyberSource since 2024)
    is the same where the request has no header of that name."""
    lines = []
    for name in names:
        n = name.lower()
        if n == "(request-target)" or (n == "request-target" and field_value(headers, n) is None):
            value = method.lower() + " " + target
        elif n in ("(created)", "(expires)"):
            when = created if n == "(created)" else expires
            if when is None:
                raise SignatureError("%s is signed but has no value" % n)
            value = str(int(when))
        else:
            value = field_value(headers, n)
            if value is None:
                raise SignatureError("header %r is signed but not in the request" % n)
        lines.append(n + ": " + value)
    return "\n".join(lines).encode()


def _quoted(value, what):
    if '"' in value or "\n" in value:
        raise SignatureError("%s may not contain a quote or a line break" % what)
    return value


def sign_cavage(method, target, headers, key_id, secret, names, algorithm="hmac-sha256", created=None, expires=None):
    """The Signature parameters: keyId="...",algorithm="...",headers="...",signature="...".
    (created) and (expires) (draft 12) need algorithm hs2019; created defaults to now."""
    alg = algorithm.lower()
    if alg not in ("hmac-sha256", "hs2019"):
        raise SignatureError("unsupported algorithm %r (hmac-sha256 or hs2019)" % algorithm)
    names = [n.lower() for n in names]
    pseudo = "(created)" in names or "(expires)" in names
    if pseudo and alg != "hs2019":
        raise SignatureError("(created) and (expires) can only be signed with algorithm hs2019")
    if "(created)" in names and created is None:
        created = int(utc.now())
    text = cavage_signing_string(method, target, headers, names, created, expires)
    params = ['keyId="%s"' % _quoted(key_id, "keyId"), 'algorithm="%s"' % algorithm]
    if created is not None and "(created)" in names:
        params.append("created=%d" % created)
    if expires is not None and "(expires)" in names:
        params.append("expires=%d" % expires)
    params.append('headers="%s"' % " ".join(names))
    params.append('signature="%s"' % b64(HmacSha256(secret).digest(text)))
    return ",".join(params)


def cavage_header(params, authorization=False):
    """The header that carries the parameters: Signature, or Authorization: Signature ..."""
    return ("Authorization", "Signature " + params) if authorization else ("Signature", params)


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
        date = utc.parse_http_date(field_value(headers, "date"))
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


def digest(body):
    """The Digest header's value (RFC 3230, as draft-cavage and CyberSource sign it)."""
    return "SHA-256=" + b64(hashlib.sha256(body).digest())


# CyberSource's SDKs (HTTPSignatureToken) put a Digest in the signature for these methods only: a
# DELETE's body, if any, is not signed.
CYBERSOURCE_DIGEST_METHODS = ("POST", "PUT", "PATCH")


def sign_cybersource(method, host, target, body, merchant_id, key_id, secret_b64, date=None, legacy=False):
    """Headers for a CyberSource REST request: Date (now unless given), Digest for POST, PUT and
    PATCH (of the body, empty or not), v-c-merchant-id and Signature (keyid,
    algorithm="HmacSHA256", headers, signature) with the base64 shared secret. legacy=True signs
    "(request-target)" instead of "request-target"."""
    date = date or utc.http_date(utc.now())
    out = [("Host", host), ("Date", date)]
    names = ["host", "date", "(request-target)" if legacy else "request-target"]
    if method.upper() in CYBERSOURCE_DIGEST_METHODS:
        out.append(("Digest", digest(body or b"")))
        names.append("digest")
    out.append(("v-c-merchant-id", merchant_id))
    names.append("v-c-merchant-id")
    secret = unb64(secret_b64, "the shared secret")
    sig = b64(HmacSha256(secret).digest(cavage_signing_string(method, target, out, names)))
    out.append(
        (
            "Signature",
            'keyid="%s", algorithm="HmacSHA256", headers="%s", signature="%s"'
            % (_quoted(key_id, "keyid"), " ".join(names), sig),
        )
    )
    return out


def verify_cybersource(method, target, headers, secret_b64, body=None, max_age_s=MAX_AGE_S, skew_s=SKEW_S, now=None):
    required = ["host", "date", "request-target", "v-c-merchant-id"]
    if method.upper() in CYBERSOURCE_DIGEST_METHODS:
        required.append("digest")
    return verify_cavage(
        method, target, headers, unb64(secret_b64, "the shared secret"), required, max_age_s, skew_s, now, body
    )


# -- RFC 9530 Content-Digest -------------------------------------------------------------------

_DIGESTS = (("sha-256", lambda b: hashlib.sha256(b).digest()), ("sha-512", sha512))


def content_digest(body, algorithms=("sha-256",)):
    """The Content-Digest value for body, e.g. sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"""
    parts = []
    for name in algorithms:
        fn = dict(_DIGESTS).get(name)
        if fn is None:
            raise SignatureError("unknown digest algorithm %r (sha-256, sha-512)" % name)
        parts.append("%s=:%s:" % (name, b64(fn(body))))
    return ", ".join(parts)


def check_content_digest(value, body):
    try:
        members = sf.parse_dictionary(value)
    except sf.StructError as e:
        raise SignatureError("Content-Digest is malformed: %s" % e)
    known = 0
    for name, (digest, _) in members:
        fn = dict(_DIGESTS).get(name)
        if fn is None:
            continue
        known += 1
        if not isinstance(digest, sf.Bytes) or digest.value != fn(body):
            raise SignatureError("Content-Digest %s does not match the body" % name)
    if not known:
        raise SignatureError("Content-Digest has no sha-256 or sha-512 digest")


# -- RFC 9421 HTTP Message Signatures ----------------------------------------------------------


def split_url(url):
    """(scheme, authority, path, query or None) of an absolute URL; the fragment is dropped."""
    sep = url.find("://")
    if sep <= 0:
        raise SignatureError("not an absolute URL: %r" % url)
    scheme = url[:sep].lower()
    rest = url[sep + 3 :].split("#")[0]
    end = len(rest)
    for c in "/?":
        i = rest.find(c)
        if 0 <= i < end:
            end = i
    authority, rest = rest[:end].lower(), rest[end:]
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and authority.endswith(default):
        authority = authority[: -len(default)]
    path, q, query = rest.partition("?")
    return scheme, authority, path or "/", query if q else None


def component_value(name, method, url, headers):
    scheme, authority, path, query = split_url(url)
    suffix = "" if query is None else "?" + query
    if name == "@method":
        return method
    if name == "@authority":
        return authority
    if name == "@scheme":
        return scheme
    if name == "@target-uri":
        return scheme + "://" + authority + path + suffix
    if name == "@request-target":
        return path + suffix
    if name == "@path":
        return path
    if name == "@query":
        return "?" + (query or "")
    if name.startswith("@"):
        raise SignatureError("derived component %r is not supported" % name)
    if name != name.lower():
        raise SignatureError("component %r must be lowercase" % name)
    value = field_value(headers, name)
    if value is None:
        raise SignatureError("component %r is not in the request" % name)
    return value


def signature_base(method, url, headers, components, params):
    """(signature base, its @signature-params value) for components and [(param, value)]."""
    lines = []
    for i, name in enumerate(components):
        if name in components[:i]:
            raise SignatureError("component %r is covered twice" % name)
        lines.append(sf.ser_bare(name) + ": " + component_value(name, method, url, headers))
    params_line = sf.ser_inner_list([(c, []) for c in components], params)
    lines.append('"@signature-params": ' + params_line)
    return "\n".join(lines).encode(), params_line


def sign_rfc9421(
    method,
    url,
    headers,
    components,
    key_id,
    secret,
    label="sig1",
    created=None,
    expires=None,
    nonce=None,
    tag=None,
    alg=None,
):
    """Signature-Input and Signature headers (hmac-sha256); created defaults to now."""
    if alg not in (None, "hmac-sha256"):
        raise SignatureError("unsupported alg %r (hmac-sha256)" % alg)
    params: list[tuple[str, int | str]] = [("created", int(utc.now()) if created is None else int(created))]
    for name, value in (("expires", expires), ("nonce", nonce), ("alg", alg), ("keyid", key_id), ("tag", tag)):
        if value is not None:
            params.append((name, int(value) if name == "expires" else value))
    base, params_line = signature_base(method, url, headers, list(components), params)
    sig = HmacSha256(secret).digest(base)
    return [("Signature-Input", label + "=" + params_line), ("Signature", "%s=:%s:" % (label, b64(sig)))]


def _dictionary(headers, name):
    value = field_value(headers, name)
    if value is None:
        raise SignatureError("no %s header" % name)
    try:
        return dict(sf.parse_dictionary(value))
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
