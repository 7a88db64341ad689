# HMAC-SHA256 against RFC 4231 test cases 1 to 7 (case 5's output is truncated to 128 bits;
# cases 6 and 7 use a 131-byte key, longer than the block, which must be hashed first).
from binascii import hexlify, unhexlify

from iotsv_hmac_sha256 import HmacSha256, compare_digest, hmac_sha256

_LONG_KEY = b"\xaa" * 131

RFC4231 = (
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (
        unhexlify("0102030405060708090a0b0c0d0e0f10111213141516171819"),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (
        _LONG_KEY,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        _LONG_KEY,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
)


def test_rfc4231_cases_1_to_7():
    for n, (key, data, expected) in enumerate(RFC4231, 1):
        got = hexlify(hmac_sha256(key, data)).decode()[: len(expected)]
        assert got == expected, "RFC 4231 case %d: %s" % (n, got)


def test_prepared_key_gives_the_same_digest_every_time():
    key = HmacSha256(b"Jefe")
    first = key.digest(b"what do ya want for nothing?")
    assert key.digest(b"what do ya want for nothing?") == first
    assert key.digest(b"something else") != first
    assert hexlify(first).decode() == RFC4231[1][2]


def test_key_of_exactly_one_block_is_not_hashed():
    key = bytes(range(64))
    # A 64-byte key and its SHA-256 must give different MACs: only longer keys are hashed.
    import hashlib

    assert hmac_sha256(key, b"m") != hmac_sha256(hashlib.sha256(key).digest(), b"m")


def test_compare_digest():
    assert compare_digest(b"abc", b"abc")
    assert not compare_digest(b"abc", b"abd")
    assert not compare_digest(b"abc", b"ab")
    assert compare_digest(b"", b"")
