# HMAC-SHA256 (RFC 2104) from hashlib, with the key's padded blocks prepared once and handed out:
# SigV4's prepared signer feeds the pads to sha256 itself, so one HMAC costs two hashes and no copy
# (MicroPython has no hmac module, and its hashes cannot be copied).
import hashlib

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


BLOCK_SIZE = const(64)


def _same(s):
    return s


# utf8(s): a str's UTF-8 bytes for a hash's update() or a bytearray's +=. MicroPython's take the
# str as it is (no bytes object made, where a request's pieces are hashed or a body is written);
# CPython's want it encoded.
try:
    bytearray().extend("a")  # pyright: ignore[reportArgumentType]  # MicroPython takes it
    utf8 = _same
except TypeError:
    utf8 = str.encode


class HmacSha256:
    """A key prepared once (padded, XORed into its inner and outer pads) for many messages."""

    def __init__(self, key):
        if len(key) > BLOCK_SIZE:
            key = hashlib.sha256(key).digest()
        key = bytes(key) + bytes(BLOCK_SIZE - len(key))
        self._ipad = bytes(b ^ 0x36 for b in key)
        self._opad = bytes(b ^ 0x5C for b in key)
        # Where hash objects can be copied (CPython), hash the pads once per key.
        inner = hashlib.sha256(self._ipad)
        if hasattr(inner, "copy"):
            self._inner = inner
            self._outer = hashlib.sha256(self._opad)
        else:
            self._inner = None

    def pads(self):
        """(key XOR ipad, key XOR opad), 64 bytes each: HMAC(key, m) = H(opad + H(ipad + m))."""
        return self._ipad, self._opad

    def digest(self, msg):
        """HMAC of msg: bytes, or a tuple of parts hashed in turn (never joined)."""
        if self._inner is not None:
            inner = self._inner.copy()  # pyright: ignore[reportAttributeAccessIssue]  # only where hashes copy
            outer = self._outer.copy()  # pyright: ignore[reportAttributeAccessIssue]  # as above
        else:
            inner = hashlib.sha256(self._ipad)
            outer = hashlib.sha256(self._opad)
        if type(msg) is tuple:
            for part in msg:
                inner.update(part)
        else:
            inner.update(msg)
        outer.update(inner.digest())
        return outer.digest()


def hmac_sha256(key, msg):
    return HmacSha256(key).digest(msg)


def compare_digest(a, b):
    """Equality in time that depends on the length only, not on where the first difference is."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
