# What both SigV4 signers share (sigv4's generic sign() and sigv4signer's prepared Signer): the
# algorithm's name, the date format, the payload hash and the day's signing key.
from binascii import hexlify
from hashlib import sha256

from iotsv_hmac_sha256 import HmacSha256

ALGORITHM = "AWS4-HMAC-SHA256"
STS_HEAD = b"AWS4-HMAC-SHA256\n"  # the string to sign's first line


def check_amz_date(amz_date):
    ok = isinstance(amz_date, str) and len(amz_date) == 16 and amz_date[8] == "T" and amz_date[15] == "Z"
    if ok:
        for i in (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14):
            if not "0" <= amz_date[i] <= "9":  # an ASCII character of a str is no new object
                ok = False
    if not ok:
        raise ValueError("amz_date must be YYYYMMDDTHHMMSSZ")


def declared_payload_hash(headers):
    """The X-Amz-Content-Sha256 header's value (S3's UNSIGNED-PAYLOAD, a precomputed hash) as
    bytes, or None: when it is there, the body is not hashed."""
    for name, value in headers:
        if len(name) == 20 and name.lower() == "x-amz-content-sha256":  # lowercase only what may match
            return value.encode()
    return None


def body_hash(body):
    """Hex SHA-256 of the body: bytes, or a list of parts (hashed in turn, never joined)."""
    if isinstance(body, list):
        return pieces_hash(body)[0]
    return hexlify(sha256(body).digest())


def pieces_hash(pieces):
    """(hex SHA-256, length) of the body the pieces (any iterable of bytes) make, in one pass
    over them: a body made piece by piece is hashed without being held."""
    h = sha256()
    n = 0
    for piece in pieces:
        h.update(piece)
        n += len(piece)
        piece = None  # not held while the next is made (it may be read from flash)
    return hexlify(h.digest()), n


def payload_hash(headers, body):
    """The last line of the canonical request."""
    return declared_payload_hash(headers) or body_hash(body)


# One day key at a time (a device signs with one secret, region and service): its identity
# (secret, date, region, service), and the HMAC prepared with it.
_day_key: list = [None, "", None, None, None]


def signing_key(secret_key, date, region, service):
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
    ready for HMAC; derived once per (date, region, service) and reused. date: YYYYMMDD, or an
    amz_date (its first 8 characters: no slice made per signature)."""
    k = _day_key  # compared field by field: no tuple made per signature
    if k[0] != secret_key or len(k[1]) != 8 or not date.startswith(k[1]) or k[2] != region or k[3] != service:
        date = date[:8]
        h = HmacSha256(("AWS4" + secret_key).encode()).digest(date.encode())
        h = HmacSha256(h).digest(region.encode())
        h = HmacSha256(h).digest(service.encode())
        h = HmacSha256(h).digest(b"aws4_request")
        k[0], k[1], k[2], k[3], k[4] = secret_key, date, region, service, HmacSha256(h)
    return k[4]
