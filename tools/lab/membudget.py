"""make membudget: the firmware on the unix port with a small heap, READINGS readings delivered in
batches over TLS to the local DynamoDB (moto behind the keep-alive TLS proxy, as in make bench);
for each interpreter and code (64-bit .mpy, 32-bit .mpy, the 32-bit image) prints the peak live
heap and the smallest -X heapsize that runs it."""

import argparse
import json
import os
import sys

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import layout
import unixport
from lab import results
from local.benchsite import Site
from local.localddb import free_port

# The heap each code must run in (make test holds the image and the 64-bit port to theirs), and
# the goal it is measured against (the 32-bit .mpy's is the heap an ESP32 starts MicroPython with).
BUDGETS = {"mpy": "128K", "mpy32": "64K", "image": "32K"}  # the goals: only ever lowered
GOALS = {"mpy": 128, "mpy32": 64, "image": 32}
READINGS = 200
# A heap counts as enough when it delivers in each of this many runs: where objects land, and so
# how the free heap is cut up, moves with timings (how a response arrives, a sensor's digits), and
# near the edge one run in three may deliver where the next fails.
RUNS = 3
WHAT = {
    "mpy": "64-bit unix port, .mpy from the filesystem",
    "mpy32": "32-bit unix port, .mpy from the filesystem",
    "image": "32-bit unix port, firmware frozen in (make image)",
}


def delivers(site, heap, readings, code):
    """(whether every reading was delivered with -X heapsize=heap, the firmware's output)."""
    site.fresh_proxy()
    folder = site.config("heap-%s-%s" % (code, heap), readings)
    r = unixport.run_firmware(folder, code, heap=heap, timeout=300)
    done = "done: %d readings delivered" % readings in r.stdout
    return r.returncode == 0 and done, r.stdout


def peak_live_heap(site, readings, code, heap="4M", modules=False):
    """Bytes live at the fullest moment (a request being sent), measured after a collection; with
    modules, (bytes, {module loaded then: what its globals hold then}) (probes/modulestate.py)."""
    site.fresh_proxy()
    folder = site.config("peak-%s" % code, readings)
    entry = (os.path.join(unixport.PROBES, "peak_heap_mp.py"),) + (("modules",) if modules else ())
    r = unixport.run_firmware(folder, code, heap=heap, timeout=300, entry=entry)
    if r.returncode != 0:
        raise RuntimeError("firmware failed under the probe: %s" % r.stdout[-2000:])
    got = json.loads(r.stdout.strip().splitlines()[-1])
    return (got["peak_live_heap"], got["modules"]) if modules else got["peak_live_heap"]


def module_cost(folder, code, name):
    """What module `name` costs resident on code's interpreter, the modules it imports loaded
    first: {"import": bytes, "after_pop": bytes left once dropped, "globals": what they hold}."""

    def probe(args):
        r = unixport.run_probe("module_cost_mp.py", args, [folder], heap="4M", code=code, cwd=folder)
        if r.returncode != 0:
            raise RuntimeError("the module probe failed on %s: %s" % (name, (r.stdout + r.stderr)[-2000:]))
        return json.loads(r.stdout.strip().splitlines()[-1])

    return probe([name] + probe([name])["imports"])


def module_table(site, code, at_peak):
    """[(module, import bytes, bytes left once dropped, what it holds at the peak beyond its import)]
    for every module loaded at the peak (main runs the firmware when imported: left out)."""
    folder = site.config("modules-%s" % code, 0)
    rows = []
    for name in sorted(at_peak):
        if name in ("main", "__main__"):
            continue
        cost = module_cost(folder, code, name)
        grown = sorted("%s %s" % (key, held) for key, held in at_peak[name].items() if cost["globals"].get(key) != held)
        rows.append((name, cost["import"], cost["after_pop"], ", ".join(grown)))
    return rows


def heap_map(site, code, readings=25):
    """Where the heap goes after start ([(stage, bytes)]), what stays resident, and the heap
    allocated per delivered reading."""
    site.fresh_proxy()
    folder = site.config("map-%s" % code, 0)
    r = unixport.run_probe("delivery_heap_mp.py", [str(readings)], [folder], heap="4M", code=code, cwd=folder)
    if r.returncode != 0:
        raise RuntimeError("the heap probe failed: %s" % (r.stdout + r.stderr)[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


# RFC 8032's first test key: a valid point, so the config validates; nothing here is signed with it
RELEASE_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def rare_paths(site, code):
    """[(path, bytes it leaves in the heap, [modules it leaves loaded])] of the rarely run paths
    (probes/rare_paths_mp.py), with updates configured against a server that is not there."""
    site.fresh_proxy()
    extra = 'UPDATE_BUCKET = "firmware"\nUPDATE_PUBLIC_KEY = "%s"\nUPDATE_HOST = "127.0.0.1:%d"\n' % (
        RELEASE_KEY,
        free_port(),
    )
    folder = site.config("rare-%s" % code, 0, extra=extra + 'UPDATE_LOG_PREFIX = "logs"\n')
    r = unixport.run_probe("rare_paths_mp.py", [], [folder], heap="4M", code=code, cwd=folder)
    if r.returncode != 0:
        raise RuntimeError("the rare paths probe failed: %s" % (r.stdout + r.stderr)[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def churn(site, code):
    """[(part, bytes allocated per reading)] of taking and delivering readings."""
    site.fresh_proxy()
    folder = site.config("churn-%s" % code, 0)
    r = unixport.run_probe("churn_mp.py", [], [folder], heap="4M", code=code, cwd=folder)
    if r.returncode != 0:
        raise RuntimeError("the churn probe failed: %s" % (r.stdout + r.stderr)[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def smallest_heap(site, readings, code, lo=16, hi=256, step=1, runs=RUNS):
    """Bisect -X heapsize in KB between lo (assumed to fail) and hi for the smallest that
    delivers in each of `runs` runs (a failure ends a heap's runs); None when hi fails too."""

    def enough(kb):
        return all(delivers(site, "%dK" % kb, readings, code)[0] for _ in range(runs))

    if not enough(hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return hi


def build(code):
    """The code a measurement runs: .mpy files built for its interpreter (the image is make image's)."""
    if code == "mpy":
        layout.build_mpy(unixport.MPY_DIR)
    elif code == "mpy32":
        layout.build_mpy(unixport.MPY32_DIR, arch="x86", mpy_cross=unixport.IMAGE_MPY_CROSS)


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--readings", type=int, default=READINGS)
    parser.add_argument("--code", action="append", choices=sorted(BUDGETS), help="only these (default: all)")
    parser.add_argument("--workdir", default=os.path.join(layout.ROOT, ".local", "membudget"))
    parser.add_argument("--json", default=os.path.join(layout.ROOT, "build", "membudget.json"))
    parser.add_argument("--results", metavar="FILE", help="also rewrite its section of FILE (tools/lab/RESULTS.md)")
    args = parser.parse_args()
    site = Site(args.workdir)
    figures = {}
    lines = []

    def out(line):
        print(line, flush=True)
        lines.append(line)

    try:  # the last run's figures: the module table says which module grew since
        with open(args.json) as fh:
            last = json.load(fh)["codes"]
    except (OSError, ValueError, KeyError):
        last = {}
    failed = False
    try:
        for code in args.code or ("mpy", "mpy32", "image"):
            build(code)
            ok, out_text = delivers(site, BUDGETS[code], args.readings, code)
            where = heap_map(site, code)
            peak = peak_live_heap(site, args.readings, code)
            at_peak = peak_live_heap(site, args.readings, code, modules=True)[1]  # the note takes heap itself
            figures[code] = {
                "budget": BUDGETS[code],
                "delivers_in_budget": ok,
                "peak_live_heap": peak,
                "smallest_heap_kb": smallest_heap(site, args.readings, code),
                "after_start": where["after_start"],
                "resident": where["resident"],
                "heap_per_reading": where["heap_per_reading"],
                "churn": churn(site, code),
                "modules": module_table(site, code, at_peak),
                "rare_paths": rare_paths(site, code),
            }
            f = figures[code]
            out("%s, %d readings over TLS in batches of up to 25:" % (WHAT[code], args.readings))
            out("  budget -X heapsize=%s: %s" % (f["budget"], "delivered" if ok else "FAILED"))
            out("  peak live heap: %.1f KB (resident between requests %.1f KB)" % (f["peak_live_heap"] / 1024,
                                                                                 f["resident"] / 1024))  # fmt: skip
            for name, size in f["after_start"]:
                out("    %+7.1f KB  %s" % (size / 1024, name))
            out("  modules loaded at the peak: KB resident once imported (its imports loaded first), KB left")
            out("  once dropped from sys.modules (interned names), and what its globals hold at the peak")
            out("  beyond what they held after its import:")
            before = {row[0]: row[1] for row in last.get(code, {}).get("modules", ())}
            for name, size, left, grown in f["modules"]:
                was = before.get(name)
                change = "" if was is None or was == size else " (%+.1f)" % ((size - was) / 1024)
                out(
                    "    %6.1f %5.1f  %s%s%s"
                    % (size / 1024, left / 1024, name, change, "  holds " + grown if grown else "")
                )
            out("    %6.1f        all of them" % (sum(row[1] for row in f["modules"]) / 1024))
            out("  rare paths, each run once after the start: KB they leave in the heap, modules left loaded:")
            for path, left, names in f["rare_paths"]:
                out("    %6.1f  %s%s" % (left / 1024, path, ": " + " ".join(names) if names else ""))
            out("  allocated per delivered reading: %d bytes" % f["heap_per_reading"])
            for part, size in f["churn"]:
                out("    %6d  %s" % (size, part))
            smallest, goal = f["smallest_heap_kb"], GOALS[code]
            out(
                "  smallest -X heapsize: %s%s"
                % (
                    "%dK" % smallest if smallest else "over 256K",
                    "" if not goal else "; goal %dK %s" % (goal, "met" if smallest and smallest <= goal else "NOT met"),
                )
            )
            if not ok:
                failed = True
                print(out_text[-3000:])
    finally:
        site.stop()
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump({"readings": args.readings, "codes": figures}, fh, indent=2)
    if args.results:
        results.record("membudget", "make membudget: the firmware's heap", "\n".join(lines), args.results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
