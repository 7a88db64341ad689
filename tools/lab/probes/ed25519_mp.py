# Runs on MicroPython: one Ed25519 verification (ed25519.verify) of a 3 KB message, the size of a
# release manifest: milliseconds per verify (median over rounds), and the live heap at its fullest
# (after a collection at every doubling) above what it was before the call. Arguments: the public
# key and signature in hex (make bench signs on the host).
# Prints one JSON object.
import gc
import json
import sys
import time
from binascii import unhexlify

import iotsv_ed25519 as ed25519

MESSAGE = bytes(range(256)) * 12
public, signature = unhexlify(sys.argv[1]), unhexlify(sys.argv[2])
assert ed25519.verify(public, MESSAGE, signature)
assert not ed25519.verify(public, MESSAGE + b"x", signature)

times = []
for _ in range(7):
    gc.collect()
    t0 = time.ticks_us()
    ed25519.verify(public, MESSAGE, signature)
    times.append(time.ticks_diff(time.ticks_us(), t0) / 1000)
times.sort()
peak = [0]
double = ed25519._double


def measured(point):
    gc.collect()
    peak[0] = max(peak[0], gc.mem_alloc())
    return double(point)


ed25519._double = measured
gc.collect()
before = gc.mem_alloc()
ed25519.verify(public, MESSAGE, signature)
print(json.dumps({"verify_ms": times[len(times) // 2], "live_heap_in_verify": peak[0] - before}))
