"""make bench: every comparison side by side, one process run per figure, printed as a table of
ratios with the absolute numbers behind them (this machine's).

 1. SigV4 signing of a DynamoDB PutItem: ours on the MicroPython unix port and on CPython, each
    against botocore's SigV4Auth.add_auth on CPython.
 2. Ours against the SHA-256 floor, in the same MicroPython process.
 3. Heap allocated per signed request and per delivered reading on MicroPython (64-bit, and the
    32-bit image); the smallest -X heapsize that runs the firmware (from .mpy files, 64-bit, and
    frozen in the 32-bit image of make image).
 4. Flash: the firmware as .mpy, total and per module.
 5. Delivery to the local DynamoDB over TLS: the seed-style client (a new TLS connection and one
    PutItem per reading) against the firmware (kept-alive connection, BatchWriteItem).
 6. End to end: milliseconds from a reading taken to its item acknowledged, median and p99.
 7. Ed25519 verification of a 3 KB release manifest (the updater's check): ours on MicroPython
    (64-bit, and the 32-bit image) against PyPI cryptography (OpenSSL) on CPython.

The local DynamoDB is moto (plain HTTP on this machine) behind tools/local/chaosproxy.py with no faults:
the proxy ends the device's TLS and keeps its connection alive as AWS's edge does (moto closes
every connection), and counts bytes and handshakes.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import sys
import time
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import layout
import unixport
from lab import results
from local.benchsite import Site

sys.path[:0] = layout.source_path("unix") + [unixport.PROBES]
from putitem import BODY, DATE, HEADERS, KEY_ID, SECRET  # noqa: E402

import iotsv_sigv4signer as sigv4signer  # noqa: E402

ROOT = layout.ROOT


probe = unixport.run_probe


def last_json(result):
    if result.returncode != 0:
        raise RuntimeError("micropython failed: %s %s" % (result.stdout[-2000:], result.stderr[-2000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


def cpython_signing(rounds=15, n=2000):
    """µs per signature: our prepared signer on CPython, and botocore's add_auth."""
    signer = sigv4signer.Signer("POST", "/", "", HEADERS, KEY_ID, SECRET, "eu-west-1", "dynamodb")
    auth = SigV4Auth(Credentials(KEY_ID, SECRET), "dynamodb", "eu-west-1")
    now = datetime.datetime(2026, 11, 23, 5, 41, 1)

    def ours():
        signer.sign(BODY, DATE)

    def botocore():
        request = AWSRequest(
            method="POST",
            url="https://dynamodb.eu-west-1.amazonaws.com/",
            data=BODY,
            headers={"Content-Type": HEADERS[1][1], "X-Amz-Target": HEADERS[2][1]},
        )
        auth.add_auth(request)

    def per_call(fn):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n * 1e6

    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        times = [(per_call(ours), per_call(botocore)) for _ in range(rounds)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def ed25519_figures(rounds=7, n=200):
    """ms per Ed25519 verify of a 3 KB message: the probe on each MicroPython, cryptography here."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    message = bytes(range(256)) * 12  # what the probe verifies
    signature = key.sign(message)
    public = key.public_key()
    args = [public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex(), signature.hex()]
    out = {code: last_json(probe("ed25519_mp.py", args, code=code)) for code in ("source", "image")}
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            public.verify(signature, message)
        times.append((time.perf_counter() - t0) / n * 1000)
    out["cryptography_ms"] = statistics.median(times)
    return out


def row(what, ours, peer, ratio, target, met):
    return (what, ours, peer, ratio, target, "yes" if met else ("NO" if met is not None else ""))


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--readings", type=int, default=1000, help="readings for the delivery comparison")
    parser.add_argument("--seed-readings", type=int, default=150, help="readings for the seed-style client")
    parser.add_argument("--workdir", default=os.path.join(ROOT, ".local", "bench"))
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--results", metavar="FILE", help="also rewrite its section of FILE (tools/lab/RESULTS.md)")
    args = parser.parse_args()

    figures = {}
    print("bench: signing on MicroPython ...", flush=True)
    figures["mp"] = last_json(probe("signing_mp.py"))
    print("bench: signing on CPython and botocore ...", flush=True)
    figures["cpython_sign_us"], figures["botocore_sign_us"] = cpython_signing()
    print("bench: Ed25519 verification ...", flush=True)
    figures["ed25519"] = ed25519_figures()
    print("bench: .mpy sizes ...", flush=True)
    figures["mpy"] = layout.build_mpy(unixport.MPY_DIR)
    figures["py_bytes"] = sum(os.path.getsize(p) for p in layout.board_modules("unix").values())

    site = Site(args.workdir)
    try:
        print("bench: seed-style client, %d readings ..." % args.seed_readings, flush=True)
        proxy = site.fresh_proxy()
        folder = site.config("seed", args.seed_readings)
        seed = last_json(probe("seed_client_mp.py", [str(args.seed_readings)], [folder], cwd=folder))
        figures["seed"] = {
            "readings": args.seed_readings,
            "seconds": seed["seconds"],
            "handshakes": proxy.connections,
            "bytes_in": proxy.bytes_in,
            "bytes_out": proxy.bytes_out,
        }

        print("bench: the firmware, %d readings ..." % args.readings, flush=True)
        proxy = site.fresh_proxy()
        folder = site.config("ours", args.readings)
        t0 = time.perf_counter()
        r = unixport.run_firmware(folder, timeout=600)
        seconds = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError("firmware failed: " + r.stdout[-2000:])
        figures["ours"] = {
            "readings": args.readings,
            "seconds": seconds,
            "handshakes": proxy.connections,
            "bytes_in": proxy.bytes_in,
            "bytes_out": proxy.bytes_out,
        }

        print("bench: end-to-end latency ...", flush=True)
        site.fresh_proxy()
        folder = site.config("latency", 300, interval_s=0.05)
        r = unixport.run_firmware(folder, timeout=600)
        lat = sorted(int(x) for x in re.findall(r"latency_ms=(\d+)", r.stdout))
        figures["latency_ms"] = {
            "n": len(lat),
            "median": statistics.median(lat),
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        }

        print("bench: heap per delivered reading ...", flush=True)
        site.fresh_proxy()
        folder = site.config("heap-reading", 0)
        figures["heap_per_reading"] = last_json(probe("delivery_heap_mp.py", ["25"], [folder], heap="4M", cwd=folder))[
            "heap_per_reading"
        ]
        figures["heap_per_reading_image"] = last_json(
            probe("delivery_heap_mp.py", ["25"], [folder], heap="4M", code="image", cwd=folder)
        )["heap_per_reading"]

        print("bench: smallest heap for the firmware, from .mpy and frozen in the image ...", flush=True)
        from lab import membudget

        figures["min_heap_kb"] = membudget.smallest_heap(site, 200, "mpy")
        figures["min_heap_kb_image"] = membudget.smallest_heap(site, 200, "image")
    finally:
        site.stop()

    text = table_text(figures)
    print("\n" + text)
    if args.results:
        results.record("bench", "make bench: benchmarks", text, args.results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


def per_reading(what, ours, peer, key):
    """A row comparing one counter of two delivery runs, per reading."""
    o, p = ours[key] / ours["readings"], peer[key] / peer["readings"]
    return row(what, "%.0f" % o, "%.0f" % p, "%.2f" % (o / p), "", None)


def table_text(f):
    """The figures as a table of this machine's, then the flash per module."""
    m = f["mp"]
    seed, ours = f["seed"], f["ours"]
    seed_rps = seed["readings"] / seed["seconds"]
    ours_rps = ours["readings"] / ours["seconds"]
    hs_per_1000 = ours["handshakes"] * 1000 / ours["readings"]
    rows = [
        row(
            "1. sign PutItem, MicroPython vs botocore on CPython (us)",
            "%.1f" % m["sign_us"],
            "%.1f" % f["botocore_sign_us"],
            "%.2f" % (m["sign_us"] / f["botocore_sign_us"]),
            "<= 1.0",
            m["sign_us"] <= f["botocore_sign_us"],
        ),
        row(
            "1. sign PutItem, CPython vs botocore (us; ratio = botocore/ours)",
            "%.1f" % f["cpython_sign_us"],
            "%.1f" % f["botocore_sign_us"],
            "%.1fx" % (f["botocore_sign_us"] / f["cpython_sign_us"]),
            ">= 3x",
            f["botocore_sign_us"] >= 3 * f["cpython_sign_us"],
        ),
        row(
            "2. sign vs SHA-256 floor, MicroPython (us)",
            "%.1f" % m["sign_us"],
            "%.1f" % m["floor_us"],
            "%.2f" % m["sign_over_floor"],
            "<= 3",
            m["sign_over_floor"] <= 3,
        ),
        row(
            "1. generic sigv4.sign(), MicroPython vs botocore on CPython (us)",
            "%.1f" % m["generic_sign_us"],
            "%.1f" % f["botocore_sign_us"],
            "%.2f" % (m["generic_sign_us"] / f["botocore_sign_us"]),
            "< 1.0",
            m["generic_sign_us"] < f["botocore_sign_us"],
        ),
        row(
            "3. heap per signed request, MicroPython (bytes)",
            "%d" % m["heap_per_sign"],
            "",
            "",
            "<= 4096",
            m["heap_per_sign"] <= 4096,
        ),
        row(
            "3. heap per generic sigv4.sign(), MicroPython (bytes)",
            "%d" % m["heap_per_generic_sign"],
            "",
            "",
            "<= 3072",
            m["heap_per_generic_sign"] <= 3072,
        ),
        row(
            "3. heap per delivered reading, MicroPython 64-bit (bytes)",
            "%d" % f["heap_per_reading"],
            "",
            "",
            "< 2048",
            f["heap_per_reading"] < 2048,
        ),
        row(
            "3. heap per delivered reading, 32-bit image (bytes)",
            "%d" % f["heap_per_reading_image"],
            "",
            "",
            "< 2048",
            f["heap_per_reading_image"] < 2048,
        ),
        row("3. smallest -X heapsize, firmware from .mpy, 64-bit", "%sK" % f["min_heap_kb"], "", "", "", None),
        row(
            "3. smallest -X heapsize, firmware frozen in the 32-bit image",
            "%sK" % f["min_heap_kb_image"],
            "",
            "",
            "32K",
            f["min_heap_kb_image"] is not None and f["min_heap_kb_image"] <= 32,
        ),
        row(
            "4. flash: firmware as .mpy (bytes; peer = .py source)",
            "%d" % sum(f["mpy"].values()),
            "%d" % f["py_bytes"],
            "%.2f" % (sum(f["mpy"].values()) / f["py_bytes"]),
            "",
            None,
        ),
        row(
            "5. delivery, readings per second (peer = seed-style client)",
            "%.0f" % ours_rps,
            "%.1f" % seed_rps,
            "%.0fx" % (ours_rps / seed_rps),
            ">= 25x",
            ours_rps >= 25 * seed_rps,
        ),
        per_reading("5. HTTP bytes sent per reading", ours, seed, "bytes_in"),
        per_reading("5. HTTP bytes received per reading", ours, seed, "bytes_out"),
        row(
            "5. TLS handshakes per 1000 readings",
            "%.1f" % hs_per_1000,
            "%.0f" % (seed["handshakes"] * 1000 / seed["readings"]),
            "",
            "<= 1",
            hs_per_1000 <= 1,
        ),
        row(
            "6. reading taken -> acknowledged, median / p99 (ms)",
            "%d / %d" % (f["latency_ms"]["median"], f["latency_ms"]["p99"]),
            "",
            "",
            "",
            None,
        ),
        row(
            "7. Ed25519 verify, 3 KB manifest, MicroPython 64-bit / image (ms)",
            "%.1f / %.1f" % (f["ed25519"]["source"]["verify_ms"], f["ed25519"]["image"]["verify_ms"]),
            "%.2f" % f["ed25519"]["cryptography_ms"],
            "%.0fx" % (f["ed25519"]["source"]["verify_ms"] / f["ed25519"]["cryptography_ms"]),
            "",
            None,
        ),
    ]
    widths = [max(len(r[i]) for r in rows + [("figure", "ours", "peer", "ratio", "target", "met")]) for i in range(6)]

    def line(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    lines = ["figures of this machine (%s, %d cores), medians" % (os.uname().machine, os.cpu_count())]
    lines.append(line(("figure", "ours", "peer", "ratio", "target", "met")))
    lines += [line(r) for r in rows]
    lines += [
        "",
        "flash per module (.mpy bytes): "
        + ", ".join("%s %d" % kv for kv in sorted(f["mpy"].items(), key=lambda kv: -kv[1])),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
