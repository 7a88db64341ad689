# HMAC-SHA256 (RFC 2104) from hashlib alone: MicroPython has no hmac module.
import hashlib

BLOCK_SIZE = 64


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

    def digest(self, msg):
        if self._inner is not None:
            inner = self._inner.copy()  # pyright: ignore[reportAttributeAccessIssue]  # only where hashes copy
            inner.update(msg)
            outer = self._outer.copy()  # pyright: ignore[reportAttributeAccessIssue]  # as above
        else:
            inner = hashlib.sha256(self._ipad)
            inner.update(msg)
            outer = hashlib.sha256(self._opad)
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
