"""Chaos run: the firmware on the unix port delivers N readings through the fault-injecting proxy
to the local DynamoDB while it is killed with SIGKILL at random moments and restarted, optionally
with its clock hours off. At the end the table is read back and every seq accounted for.

With --image the firmware is the 32-bit image of make image, as a board runs it (--mpy: the .mpy
files of make mpy). With --broken the proxy breaks answers (chaosproxy.BROKEN: made-up successes
that are not, framings RFC 9112 forbids, real answers re-framed) instead of the network.

Prints taken, delivered, lost, duplicated, dropped, dead-lettered, retries and the faults
injected by kind; exits 1 unless lost and duplicated are 0 and every seq 1..N is in the table.
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import unixport
from lab import results
from local import chaosproxy
from local.chaosproxy import ChaosProxy
from local.localddb import ROOT, LocalDynamoDB

DEVICE = "chaos-1"
RETRY_LINE = re.compile(r"^(retry|unprocessed|blocked|clock|refused):", re.M)


def chaos(
    readings,
    faults,
    kills,
    skew_s,
    workdir,
    seed=None,
    interval_s=0.01,
    timeout_s=1800,
    code="source",
    out=print,
    kinds=chaosproxy.KINDS,
    heap=None,
):
    rand = random.Random(seed)
    shutil.rmtree(workdir, ignore_errors=True)
    ddb = LocalDynamoDB(workdir).start().provision()
    proxy = None
    try:
        proxy = ChaosProxy(
            ddb.port,
            ddb.ca_pem,
            os.path.join(workdir, "pki", "server.pem"),
            os.path.join(workdir, "pki", "server.key"),
            fault_rate=faults,
            seed=rand.random(),
            client_timeout_s=2,
            credentials=ddb.device_key,
            region=ddb.region,
            kinds=kinds,
        ).start()
        folder = os.path.join(workdir, "device")
        ddb.write_config(
            folder,
            device_id=DEVICE,
            readings=readings,
            interval_s=interval_s,
            host="localhost:%d" % proxy.port,
            extra="HTTP_TIMEOUT_S = 2\nDELIVERY_TIMEOUT_S = 600\n",
        )
        out(
            "chaos (%s): %d readings through %s, faults %.0f%%, %d kills, device clock %+ds"
            % (code, readings, "localhost:%d" % proxy.port, faults * 100, kills, skew_s)
        )
        # kills spread over the time the readings take, each at a random moment
        kill_gap_s = max(0.3, readings * interval_s / (kills + 1))
        log_path = os.path.join(workdir, "firmware.log")
        started = time.time()
        killed = runs = 0
        exit_code = None
        with open(log_path, "w") as log:
            while exit_code is None:
                if time.time() - started > timeout_s:
                    raise RuntimeError("chaos run did not finish in %ds: see %s" % (timeout_s, log_path))
                runs += 1
                skew = {"UNIX_CLOCK_SKEW_S": str(skew_s)} if skew_s else None
                proc = unixport.start_firmware(folder, log, code=code, heap=heap, env=skew)
                try:
                    limit = rand.uniform(0.2, 2 * kill_gap_s) if killed < kills else timeout_s
                    exit_code = proc.wait(limit)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed += 1
        with open(log_path) as f:
            log_text = f.read()
        items = ddb.readings(DEVICE)
        seqs = [int(i["seq"]["N"]) for i in items]
        distinct = set(seqs)
        dropped = sum(int(i["dropped"]["N"]) for i in items if "dropped" in i)
        dead_path = os.path.join(folder, "state", "deadletter.jsonl")
        dead = sum(1 for _ in open(dead_path)) if os.path.exists(dead_path) else 0
        missing = sorted(set(range(1, readings + 1)) - distinct)
        result = {
            "taken": readings,
            "delivered": len(distinct),
            "lost": len(missing) - dropped - dead,
            "duplicated": len(seqs) - len(distinct),
            "dropped": dropped,
            "dead_lettered": dead,
            "retries": len(RETRY_LINE.findall(log_text)),
            "kills": killed,
            "runs": runs,
            "exit_code": exit_code,
            "code": code,
            "seconds": round(time.time() - started, 1),
            "requests": proxy.requests,
            "connections": proxy.connections,
            "faults": dict(proxy.faults),
            "missing": missing[:20],
        }
        out(
            "taken %(taken)d  delivered %(delivered)d  lost %(lost)d  duplicated %(duplicated)d  "
            "dropped %(dropped)d  dead-lettered %(dead_lettered)d  retries %(retries)d" % result
        )
        out(
            "firmware runs %(runs)d (%(kills)d killed with SIGKILL), last exit %(exit_code)s, %(seconds)ss; "
            "%(requests)d requests over %(connections)d TLS connections" % result
        )
        out("faults injected: " + ", ".join("%s %d" % kv for kv in sorted(result["faults"].items())))
        if missing:
            out("missing seqs (first 20): %s" % missing[:20])
        return result
    finally:
        if proxy:
            proxy.stop()
        ddb.stop()


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--readings", type=int, default=1000)
    parser.add_argument("--faults", type=float, default=0.3, help="fault rate per request, 0-1")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs of the firmware")
    parser.add_argument("--skew", type=int, default=0, help="device clock offset in seconds")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between readings")
    parser.add_argument(
        "--broken", action="store_true", help="break answers (chaosproxy.BROKEN) instead of the network"
    )
    parser.add_argument("--heap", help="-X heapsize of the firmware, e.g. 48K")
    parser.add_argument("--workdir", default=os.path.join(ROOT, ".local", "chaos"))
    parser.add_argument("--results", metavar="FILE", help="also rewrite its section of FILE (tools/lab/RESULTS.md)")
    unixport.add_code_options(parser)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    code = unixport.code_option(args)
    kinds = chaosproxy.BROKEN if args.broken else chaosproxy.KINDS
    lines = []

    def out(line):
        print(line, flush=True)
        lines.append(line)

    r = chaos(
        args.readings,
        args.faults,
        args.kills,
        args.skew,
        args.workdir,
        args.seed,
        args.interval,
        code=code,
        kinds=kinds,
        heap=args.heap,
        out=out,
    )
    ok = r["lost"] == 0 and r["duplicated"] == 0 and not r["missing"] and r["exit_code"] == 0
    out("chaos: %s" % ("PASS: every reading delivered exactly once" if ok else "FAIL"))
    if args.results:
        results.record("chaos", "make chaos: faults, SIGKILLs and a skewed clock", "\n".join(lines), args.results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
