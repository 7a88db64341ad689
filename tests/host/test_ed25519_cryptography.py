# Differential test: ed25519.verify against PyPI cryptography (OpenSSL) on random keys and messages,
# valid signatures and tampered ones (a bit flipped in the message, R, S or the key, S + L, another
# key's signature, random bytes), on CPython and on MicroPython (the 64-bit port and the image):
# every verdict the same as cryptography's.
import json
import os
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import helpers
import iotsv_ed25519 as ed25519
import unixport

L = 2**252 + 27742317777372353535851937790883648493

# On the board: each case's verdict, a line of 0s and 1s ("e" where the key is no point).
DEVICE = """
import json, sys
from binascii import unhexlify
import iotsv_ed25519 as ed25519
with open(sys.argv[1]) as f:
    cases = json.load(f)
out = []
for pk, m, sig in cases:
    try:
        out.append("1" if ed25519.verify(unhexlify(pk), unhexlify(m), unhexlify(sig)) else "0")
    except ed25519.Ed25519Error:
        out.append("e")
print("".join(out))
"""


def flip(data, rng):
    out = bytearray(data)
    bit = rng.randrange(len(out) * 8)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def random_cases(n, seed):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = rng.randbytes(rng.choice((0, 1, 31, 32, 33, rng.randrange(2000))))
        sig = key.sign(message)
        kind = i % 8
        if kind == 1 and message:
            message = flip(message, rng)
        elif kind == 2:
            sig = flip(sig[:32], rng) + sig[32:]  # R
        elif kind == 3:
            sig = sig[:32] + flip(sig[32:], rng)  # S
        elif kind == 4:
            public = flip(public, rng)  # often no point at all
        elif kind == 5:
            s = int.from_bytes(sig[32:], "little") + L
            if s < 2**256:
                sig = sig[:32] + s.to_bytes(32, "little")
        elif kind == 6:
            other = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
            sig = other.sign(message)
        elif kind == 7:
            sig = rng.randbytes(64)
        cases.append((public, message, sig))
    return cases


def cryptography_says(public, message, sig):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def ours(public, message, sig):
    try:
        return ed25519.verify(public, message, sig)
    except ed25519.Ed25519Error:
        return False


def test_cpython_agrees_with_cryptography():
    cases = random_cases(800, 1)
    expected = [cryptography_says(*c) for c in cases]
    assert [ours(*c) for c in cases] == expected
    assert 100 <= sum(expected) <= 150  # an eighth valid (and a few flips of an empty message), the rest refused


@pytest.mark.parametrize("code", ["source", "image"])
def test_micropython_agrees_with_cryptography(tmp_path, code):
    cases = random_cases(240, 2 if code == "source" else 3)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([[a.hex(), b.hex(), c.hex()] for a, b, c in cases]))
    script = tmp_path / "device.py"
    script.write_text(DEVICE)
    r = unixport.run([str(script), str(path)], helpers.portable_path(), code=code, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    got = [v == "1" for v in r.stdout.strip()]
    assert got == [cryptography_says(*c) for c in cases]
    assert "e" in r.stdout  # some flipped keys were no point: refused as such, not crashed on
    assert os.path.getsize(path) > 0


@pytest.mark.image
def test_bench_probe_reports_a_verify_time_on_each_interpreter():
    from lab import bench

    figures = bench.ed25519_figures(rounds=1, n=10)
    for code in ("source", "image"):
        assert figures[code]["verify_ms"] > 0 and 0 < figures[code]["live_heap_in_verify"] < 8192
    assert figures["cryptography_ms"] > 0
