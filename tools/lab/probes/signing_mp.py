# Runs on MicroPython: our signer on a DynamoDB PutItem request against the SHA-256 floor, and heap
# allocated per signed request. Prints one JSON object. Rounds alternate signer and floor, so a
# slower or faster stretch of the machine touches both; the figures are medians over rounds.
import gc
import hashlib
import json
import time

from putitem import BODY, DATE, HEADERS, KEY_ID, SECRET, heap_used

import iotsv_sigv4 as sigv4
import iotsv_sigv4signer as sigv4signer

ROUNDS, N = 15, 1000

signer = sigv4signer.Signer("POST", "/", "", HEADERS, KEY_ID, SECRET, "eu-west-1", "dynamodb")
signer.sign(BODY, DATE)
lines = sigv4.canonical_request_lines(
    "POST", "/", "", HEADERS + [("X-Amz-Date", DATE)], sigv4.payload_hash(HEADERS, BODY)
)
creq = b"\n".join(lines)
sts = sigv4.string_to_sign(
    DATE, sigv4.credential_scope(DATE, "eu-west-1", "dynamodb"), sigv4.canonical_request_hash(lines)
)
key = sigv4.signing_key(SECRET, DATE[:8], "eu-west-1", "dynamodb")
ipad, opad = key.pads()
sha256 = hashlib.sha256


def floor():
    """What a signature cannot avoid: hash of the body, of the canonical request, and the two
    hashes of one HMAC with the derived key's pads precomputed."""
    sha256(BODY).digest()
    sha256(creq).digest()
    h = sha256(ipad)
    h.update(sts)
    inner = h.digest()
    h = sha256(opad)
    h.update(inner)
    h.digest()


def prepared():
    signer.sign(BODY, DATE)


def generic():
    sigv4.sign("POST", "/", "", HEADERS, BODY, KEY_ID, SECRET, "eu-west-1", "dynamodb", DATE)


def per_call_us(fn):
    gc.collect()
    t0 = time.ticks_us()
    for _ in range(N):
        fn()
    return time.ticks_diff(time.ticks_us(), t0) / N


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


t_floor, t_prepared, t_generic, ratio = [], [], [], []
for _ in range(ROUNDS):
    f, p, g = per_call_us(floor), per_call_us(prepared), per_call_us(generic)
    t_floor.append(f)
    t_prepared.append(p)
    t_generic.append(g)
    ratio.append(p / f)
print(
    json.dumps(
        {
            "floor_us": median(t_floor),
            "sign_us": median(t_prepared),
            "generic_sign_us": median(t_generic),
            "sign_over_floor": median(ratio),
            "heap_per_sign": heap_used(prepared),
            "heap_per_generic_sign": heap_used(generic),
        }
    )
)
