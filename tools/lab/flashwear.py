"""make flashwear: the spool's flash erases and programs per reading, measured on MicroPython's own
littlefs (tests/portable/flashwear.py on the unix port: CPython has no littlefs) over a flash that
counts them, and turned into years of flash life at a given interval and partition size."""

import argparse
import os
import sys

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import layout
import unixport

SCRIPT = os.path.join(layout.ROOT, "tests", "portable", "flashwear.py")


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--readings", type=int, default=5000, help="readings of each erase-rate run (1 MB flash)")
    parser.add_argument("--spread-readings", type=int, default=60000, help="readings of each wear-spread run")
    parser.add_argument("--results", metavar="FILE", help="also rewrite its section of FILE (tools/lab/RESULTS.md)")
    args = parser.parse_args()
    run = unixport.run([SCRIPT, str(args.readings), str(args.spread_readings)], [], heap="8M", timeout=1800)
    if run.returncode:
        sys.exit("flashwear: %s failed: %s" % (os.path.relpath(SCRIPT, layout.ROOT), run.stderr.strip() or run.stdout))
    print(run.stdout, end="")
    if args.results:
        from lab import results

        results.record("flashwear", "Flash wear of the spool", run.stdout, path=args.results)


if __name__ == "__main__":
    main()
