# HTTP Signatures for REST APIs that do not speak SigV4, the signing side: draft-cavage-http-signatures
# (hmac-sha256 and hs2019), its CyberSource profile, and RFC 9421 HTTP Message Signatures
# (hmac-sha256), with RFC 9530 Content-Digest. What a board imports; the verifiers, the RFC 8941
# parser they need and SHA-512 are not loaded by it (iotsv_httpverify.py verifies, on the host).
import hashlib
from binascii import a2b_base64, b2a_base64

import iotsv_httpdate as httpdate
import iotsv_structfield as sf
import iotsv_utc as utc
from iotsv_hmac_sha256 import HmacSha256
from iotsv_url import split_url as url_parts

# CyberSource's SDKs (HTTPSignatureToken) put a Digest in the signature for these methods only: a
# DELETE's body, if any, is not signed.
try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


CYBERSOURCE_DIGEST_METHODS = ("POST", "PUT", "PATCH")


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


SCHEMES = ("cavage", "cybersource", "rfc9421")  # what this module signs (the HTTP sink's HTTP_AUTH)
MIN_SECRET_BYTES = const(16)  # an HMAC key shorter than this is guessable; RFC 2104 asks for the hash's length


def shared_secret(text, what):
    """The HMAC key from its base64 text: strict base64, at least MIN_SECRET_BYTES once decoded
    (the one rule for the firmware's config and the host tool)."""
    secret = unb64(text, what)
    if len(secret) < MIN_SECRET_BYTES:
        raise SignatureError("%s: the decoded secret is shorter than %d bytes" % (what, MIN_SECRET_BYTES))
    return secret


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


# -- CyberSource ---------------------------------------------------------------------------------


def digest(body):
    """The Digest header's value (RFC 3230, as draft-cavage and CyberSource sign it)."""
    return "SHA-256=" + b64(hashlib.sha256(body).digest())


def sign_cybersource(method, host, target, body, merchant_id, key_id, secret_b64, date=None, legacy=False):
    """Headers for a CyberSource REST request: Date (now unless given), Digest for POST, PUT and
    PATCH (of the body, empty or not), v-c-merchant-id and Signature (keyid,
    algorithm="HmacSHA256", headers, signature) with the base64 shared secret. legacy=True signs
    "(request-target)" instead of "request-target"."""
    date = date or httpdate.http_date(utc.now())
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


# -- RFC 9530 Content-Digest -------------------------------------------------------------------


def _sha256(body):
    return hashlib.sha256(body).digest()


def _sha512(body):
    # Imported here, not at the top: a board that signs sha-256 digests never loads its 2.7 KB.
    from iotsv_sha512 import sha512

    return sha512(body)


DIGESTS = (("sha-256", _sha256), ("sha-512", _sha512))  # Content-Digest's names, and their hashes


def content_digest(body, algorithms=("sha-256",)):
    """The Content-Digest value for body, e.g. sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"""
    parts = []
    for name in algorithms:
        fn = dict(DIGESTS).get(name)
        if fn is None:
            raise SignatureError("unknown digest algorithm %r (sha-256, sha-512)" % name)
        parts.append("%s=:%s:" % (name, b64(fn(body))))
    return ", ".join(parts)


# -- RFC 9421 HTTP Message Signatures ----------------------------------------------------------


def split_url(url):
    """(scheme, authority, path, query or None) of an absolute URL; the fragment is dropped."""
    try:
        return url_parts(url)
    except ValueError as e:
        raise SignatureError(str(e))


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
