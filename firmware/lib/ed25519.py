# Ed25519 signature verification (RFC 8032, PureEdDSA) in plain Python for MicroPython and CPython:
# what a board needs to check a release's signature, no signing. Integers mod p = 2^255 - 19 are
# ints (MicroPython's are arbitrary precision); points are extended coordinates (X, Y, Z, T) with
# x = X/Z, y = Y/Z, xy = T/Z. The check is RFC 8032's cofactorless one, as OpenSSL (PyPI
# cryptography) does it: S < L, A decodes to a point, and [S]B - [k]A encodes to R's 32 bytes.
# Memory: a handful of 32-byte ints live at a time; SHA-512 over R || A || message is fed in
# pieces (verify_pieces: a manifest read from flash a piece at a time).
import hashlib
import struct

import sha512

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point
_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555  # -121665/121666
_D2 = 2 * _D % P
_SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752  # 2^((p-1)/4)
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960  # 4/5
_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_B = (_BX, _BY, 1, _BX * _BY % P)
_ZERO = (0, 1, 1, 0)


class Ed25519Error(ValueError):
    """A key or signature that is not one: the wrong length, or bytes that are no point."""


def _add(p1, p2):
    """P1 + P2 (RFC 8032 5.1.4, a = -1): 8 multiplications."""
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * _D2 % P * t2 % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _double(p1):
    """2 * P1 (RFC 8032 5.1.4): 4 squarings and 4 multiplications."""
    x1, y1, z1, _ = p1
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    s = x1 + y1
    e = h - s * s % P
    g = a - b
    f = c + g
    return e * f % P, g * h % P, f * g % P, e * h % P


def _encode(point):
    x, y, z, _ = point
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def decode_point(data):
    """The point of a 32-byte encoding (RFC 8032 5.1.3), or Ed25519Error."""
    if len(data) != 32:
        raise Ed25519Error("a point is 32 bytes, got %d" % len(data))
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        raise Ed25519Error("not a point: y is not below p")
    u = (y * y - 1) % P
    v = (_D * y * y + 1) % P
    v3 = v * v % P * v % P
    x = u * v3 % P * pow(u * v3 % P * v3 % P * v % P, (P - 5) // 8, P) % P
    vxx = v * x % P * x % P
    if vxx == (P - u) % P:
        x = x * _SQRT_M1 % P
    elif vxx != u:
        raise Ed25519Error("not a point: no square root for x")
    if x == 0 and sign:
        raise Ed25519Error("not a point: x is 0 with the sign bit set")
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def _compress(h, block, w):
    """sha512.py's compression of one 128-byte block into state h, with the message schedule in
    a rolling window of 16 words (w, reused): no list of 80 big ints grown per block, which a
    32-bit heap of 48K fragments into failure."""
    rotr, m, k = sha512._rotr, sha512._M, sha512._K
    unpacked = struct.unpack(">16Q", block)
    for t in range(16):
        w[t] = unpacked[t]
    del unpacked
    a, b, c, d, e, f, g, hh = h
    for t in range(80):
        if t >= 16:
            w15, w2 = w[(t - 15) & 15], w[(t - 2) & 15]
            s0 = rotr(w15, 1) ^ rotr(w15, 8) ^ (w15 >> 7)
            s1 = rotr(w2, 19) ^ rotr(w2, 61) ^ (w2 >> 6)
            w[t & 15] = (w[t & 15] + s0 + w[(t - 7) & 15] + s1) & m
        t1 = (hh + (rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41)) + ((e & f) ^ (~e & g)) + k[t] + w[t & 15]) & m
        t2 = ((rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))) & m
        a, b, c, d, e, f, g, hh = (t1 + t2) & m, a, b, c, (d + t1) & m, e, f, g
    for i, x in enumerate((a, b, c, d, e, f, g, hh)):
        h[i] = (h[i] + x) & m


class _Sha512:
    """SHA-512 fed in pieces: hashlib's where it has one (CPython), else sha512.py's algorithm
    over 128-byte blocks (never the whole message in memory)."""

    def __init__(self):
        self.h = hashlib.sha512() if hasattr(hashlib, "sha512") else None  # pyright: ignore[reportAttributeAccessIssue]
        self.state = list(sha512._H0)
        self.w = [0] * 16
        self.pending = b""
        self.n = 0

    def update(self, data):
        if self.h is not None:
            self.h.update(data)
            return
        self.n += len(data)
        data = self.pending + bytes(data)
        end = len(data) - len(data) % 128
        view = memoryview(data)
        for i in range(0, end, 128):
            _compress(self.state, view[i : i + 128], self.w)
        self.pending = bytes(view[end:])

    def digest(self):
        if self.h is not None:
            return self.h.digest()
        n = self.n
        tail = self.pending + b"\x80" + bytes((111 - n) % 128) + struct.pack(">QQ", 0, n * 8)
        for i in range(0, len(tail), 128):
            _compress(self.state, tail[i : i + 128], self.w)
        return struct.pack(">8Q", *self.state)


def public_key(data):
    """A 32-byte public key, checked to be a point (ValueError otherwise); returns the bytes."""
    decode_point(bytes(data))
    return bytes(data)


def verify(public, message, signature):
    """True when signature (64 bytes: R, S) is public's Ed25519 signature of message (bytes);
    False for any signature that is not, however malformed. Ed25519Error for a public key that
    is not 32 bytes of a point (a configuration mistake, not a bad signature)."""
    return verify_pieces(public, (message,), signature)


def verify_pieces(public, pieces, signature):
    """verify() of the message that the byte strings of `pieces` (any iterable: a file read a
    piece at a time) make when joined: never the whole message in memory."""
    a = decode_point(bytes(public))
    if len(signature) != 64:
        return False
    r = bytes(signature[:32])
    s = int.from_bytes(bytes(signature[32:]), "little")
    if s >= L:
        return False  # RFC 8032 5.1.7: a non-canonical S is refused (malleability)
    h = _Sha512()
    h.update(r + bytes(public))
    for piece in pieces:
        h.update(piece)
    k = int.from_bytes(h.digest(), "little") % L
    del h
    minus_a = ((P - a[0]) % P, a[1], a[2], (P - a[3]) % P)
    both = _add(_B, minus_a)
    q = _ZERO
    # Straus: [S]B + [k](-A) with one doubling per bit and an addition per bit set in S or k
    for i in range(252, -1, -1):  # S and k are below L < 2^253
        q = _double(q)
        bs, bk = (s >> i) & 1, (k >> i) & 1
        if bs and bk:
            q = _add(q, both)
        elif bs:
            q = _add(q, _B)
        elif bk:
            q = _add(q, minus_a)
    return _encode(q) == r
