"""Fleet simulation: what `make fleet` runs on the unix port, in virtual time, in a second a run: N
devices, each the firmware's own delivery (delivery.Delivery with retry.RateLimiter, spool.Spool,
clock.Clock) taking a reading every INTERVAL_S, writing through a table's capacity
(chaosproxy.Capacity: refused whole, or with --partial written in part with UnprocessedItems), the
network cut for OUTAGE seconds (connections refused; with --restart every device started anew as
it comes back).

Prints, per seed and on average, the figures `make fleet` gives (tools/lab/fleet.py drain: the old
readings against backlog / capacity, the drain against its floor, the share of requests throttled in
the drain, of every request and of those of more than one reading; the shares of the table's
capacity, until the old readings were written, that newer readings took and that went unused), how
together the devices finished their backlogs (the median's moment over the last's), and beside them
the ideal: the same devices back at the same moments, a scheduler that sees the whole fleet giving
the table to the readings left from before the return (the devices caught up sending their new
readings). The limiter's constants can be set (--set BETA=0.6 ...) to try a change before the real
run.
"""

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import sys
import tempfile

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import layout

sys.path[:0] = layout.source_path("lib") + [layout.APP]
import iotsv_dynamodb as dynamodb  # noqa: E402
import iotsv_ratecurve as ratecurve  # noqa: E402  # loaded here: every limiter paces with this one, --set included
import iotsv_retry as retry  # noqa: E402
import iotsv_retrykind  # noqa: E402, F401  # loaded here once, not at each failure a device meets
import tooldoc  # noqa: E402
from iotsv_clock import Clock  # noqa: E402
from iotsv_delivery import Delivery  # noqa: E402
from iotsv_httpclient import ConnectError  # noqa: E402
from iotsv_spool import Spool  # noqa: E402
from lab.fleet import drain, percentile, table_use  # noqa: E402
from local.chaosproxy import Capacity  # noqa: E402

EPOCH = 1795412461  # the devices' clock at the start (seconds): only ages are printed from it
ANSWER_MS = 40  # a request answered over a kept connection (written, or written in part)
REFUSED_MS = 3  # a throttle answered at once, or a connection refused
BOOT_MS = 1000  # a restarted device's first request, after the network came back: within this


class Board:
    """One device's ticks: the virtual time of the moment it acts (devices act one at a time)."""

    def __init__(self):
        self.ms = 0

    def ticks_ms(self):
        return self.ms

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, delta_ms):
        return a + delta_ms

    def time(self):
        return EPOCH + self.ms // 1000


class Device:
    """One simulated device: its delivery, its clock, when its next reading is due, readings taken."""

    def __init__(self, board, delivery, read_at, restarted):
        self.board, self.delivery, self.read_at, self.taken, self.restarted = board, delivery, read_at, 0, restarted


class Conn:
    def close(self):
        pass


class TableSink(dynamodb.Sink):
    """The DynamoDB sink's payload handling, its sending replaced by the table and the network."""

    def __init__(self, board, world):
        self.board, self.world = board, world
        self.conn = Conn()
        self.credentials = None
        self.ignored = 0

    def send(self, payloads, sent=None):
        w, at = self.world, self.board.ms
        seqs = [json.loads(bytes(p))["seq"]["N"] for p in payloads]  # each lent until the next
        if w.down_ms <= at < w.up_ms:
            self.board.ms += REFUSED_MS
            raise ConnectError("cannot connect: connection refused")
        w.now_ms = at
        if at >= w.up_ms:
            w.first_try.setdefault(self.board.device, at)
        fit = w.table.admit([1] * len(payloads), w.partial)  # an item of a reading: one unit
        w.requests.append((at, len(payloads), fit))
        if not fit:
            self.board.ms += REFUSED_MS
            raise dynamodb.DynamoDBError("ProvisionedThroughputExceededException", "over the table's capacity", 400)
        self.board.ms += ANSWER_MS
        for s in seqs[:fit]:
            w.first_write.setdefault((self.board.device, int(s)), self.board.ms / 1000.0)
        return [int(s) for s in seqs[fit:]]


class World:
    def __init__(self, capacity, outage_at_s, outage_s, partial):
        self.now_ms = 0
        self.table = Capacity(capacity, clock=lambda: self.now_ms / 1000.0)
        self.down_ms, self.up_ms = int(outage_at_s * 1000), int((outage_at_s + outage_s) * 1000)
        self.partial = partial
        self.requests = []  # (ms, items, items written)
        self.first_write = {}  # (device, seq) -> s
        self.first_try = {}  # device -> ms of its first request to reach the table after the outage


def _payload(device, ts):
    def make(seq, dropped):
        return ('{"deviceId":{"S":"%s"},"seq":{"N":"%d"},"ts":{"N":"%d"}}' % (device, seq, ts)).encode()

    return make


def _start(board, w, folder, adaptive):
    """A device's delivery as the firmware starts it: from the spool and clock in its folder."""
    return Delivery(TableSink(board, w), Spool(folder, 262144), Clock(board, folder), board,
                    os.path.join(folder, "deadletter.jsonl"), adaptive=adaptive)  # fmt: skip


def simulate(devices=40, readings=180, outage_s=60, capacity=100.0, outage_at_s=30, interval_s=1, seed=1,
             partial=False, adaptive=True, restart=False):  # fmt: skip
    """One run; returns its figures and the ideal's (a dict). `restart`: every device started anew
    (no backoff, no limiter) within BOOT_MS of the network coming back, as `make fleet RESTART=1`."""
    rand = random.Random(seed)
    retry.random.seed(seed)  # the backoffs' jitter
    w = World(capacity, outage_at_s, outage_s, partial)
    work = tempfile.mkdtemp(prefix="fleetsim-")
    fleet, taken_at = [], {}
    try:
        for i in range(devices):
            board = Board()
            board.device = i
            folder = os.path.join(work, str(i))
            os.makedirs(folder)
            fleet.append(Device(board, _start(board, w, folder, adaptive), int(rand.uniform(0, 1000)), not restart))
        with contextlib.redirect_stdout(io.StringIO()):  # the firmware's log lines
            while True:
                due = []
                for i, dev in enumerate(fleet):
                    if dev.taken < readings:
                        due.append((dev.read_at, i))
                    wait = dev.delivery.wait_ms()
                    if wait is not None:
                        due.append((dev.board.ms + wait, i))
                if not due:
                    break
                at, i = min(due)
                dev = fleet[i]
                if not dev.restarted and at >= w.up_ms:  # power back with the network: started anew
                    dev.board.ms = max(dev.board.ms, w.up_ms + int(rand.uniform(0, BOOT_MS)))
                    dev.delivery = _start(dev.board, w, os.path.join(work, str(i)), adaptive)
                    dev.restarted = True
                    continue
                dev.board.ms = max(dev.board.ms, at)
                if dev.taken < readings and dev.read_at <= dev.board.ms:
                    seq = dev.delivery.spool.append(_payload(i, dev.board.time()))
                    taken_at[(i, seq)] = dev.read_at / 1000.0
                    dev.read_at += interval_s * 1000
                    dev.taken += 1
                elif dev.delivery.wait_ms() == 0:
                    dev.delivery.step()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    up = w.up_ms / 1000.0
    d = drain(taken_at, w.first_write, up, devices, capacity, interval_s)
    during = [r for r in w.requests if up * 1000 <= r[0] <= d["drained_at"] * 1000]
    whole = sum(1 for r in during if r[2] == 0)
    in_part = sum(1 for r in during if 0 < r[2] < r[1])
    batches = [r for r in during if r[1] > 1]
    backlog = d["backlog"]
    old_floor = len(backlog) / float(capacity)
    ideal_s, ideal_done = ideal(backlog, w.first_try, w.up_ms, capacity, interval_s)
    _, newer, unused = table_use(d, up, capacity) or (0, 0, 0)
    return {
        "lost": devices * readings - len(w.first_write),
        "old_readings_vs_floor": (d["old_at"] - up) / old_floor,
        "drain_vs_floor": d["drain_s"] / d["floor_s"],
        "drain_throttled_share": whole / float(max(1, len(during))),
        "drain_in_part_share": in_part / float(max(1, len(during))),
        "drain_batches_throttled_share": sum(1 for r in batches if r[2] == 0) / float(max(1, len(batches))),
        "drain_requests": len(during),
        # of the table's capacity until the backlog was written: newer readings, and unused
        "newer_share": newer / 100.0,
        "unused_share": unused / 100.0,
        "ideal_old_readings_vs_floor": ideal_s / old_floor,
        # the median device's backlog written, against the last's: near 1 when the devices share the
        # table alike, near 0.5 when they are served in turn
        "together": _together(d["done_s"]),
        "ideal_together": _together(ideal_done),
    }


def _together(done_s):
    return percentile(done_s, 50) / done_s[-1] if done_s and done_s[-1] > 0 else 1.0


def ideal(backlog, first_try, up_ms, capacity, interval_s, step_s=0.01):
    """Seconds to write the backlog if a scheduler that saw the whole fleet gave the table to the
    readings left from before the return, shared alike among the devices back (each from its first
    request after the return), less the new readings of the devices caught up; and the moments
    (seconds after the return, in order) each device's backlog was written."""
    left = {}
    for device, _ in backlog:
        left[device] = left.get(device, 0) + 1
    back = dict((i, (ms - up_ms) / 1000.0) for i, ms in first_try.items())
    t = 0.0
    done = []
    while any(v > 1e-9 for v in left.values()):
        active = [i for i, v in left.items() if v > 1e-9 and back.get(i, 1e9) <= t]
        caught = sum(1 for i, b in back.items() if b <= t and left.get(i, 0) <= 1e-9)
        room = max(0.0, capacity - caught / float(interval_s)) * step_s
        while room > 1e-12 and active:
            share = room / len(active)
            for i in list(active):
                take = min(share, left[i])
                left[i] -= take
                room -= take
                if left[i] <= 1e-9:
                    active.remove(i)
                    done.append(t + step_s)
        t += step_s
    return t, done


def _row(label, r):
    return "%4s  %19.2fx  %12.2fx  %8.1f%%  %6.1f%%  %7.1f%%  %8d  %5.0f%%  %5.0f%%  %8.2f  %25.2fx  %13.2f" % (
        label,
        r["old_readings_vs_floor"],
        r["drain_vs_floor"],
        100 * r["drain_throttled_share"],
        100 * r["drain_in_part_share"],
        100 * r["drain_batches_throttled_share"],
        r["drain_requests"],
        100 * r["newer_share"],
        100 * r["unused_share"],
        r["together"],
        r["ideal_old_readings_vs_floor"],
        r["ideal_together"],
    )


def _numbers(module):
    return [n for n, v in vars(module).items() if n.isupper() and type(v) in (int, float)]


def constants():
    """The retry module's numeric constants (BETA, SPREAD, STEEP_S, ...) with its rate limiter's
    pacing (iotsv_ratecurve, read through it): what --set may change, read from the modules so
    that a constant added there can be tried here."""
    return sorted(_numbers(retry) + _numbers(ratecurve))


def number(text, kind):
    """`text` as a number for a constant of type `kind`: an int stays one only when the value is
    whole (SPREAD=2.5 is 2.5, not 2)."""
    value = float(text)
    return int(value) if kind is int and value == int(value) else value


def main():
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("--devices", type=int, default=40)
    parser.add_argument("--readings", type=int, default=180, help="readings per device")
    parser.add_argument("--outage", type=int, default=60, help="seconds the network is cut")
    parser.add_argument("--capacity", type=float, default=100, help="the table's write units per second")
    parser.add_argument("--partial", action="store_true", help="a batch over capacity written in part")
    parser.add_argument("--baseline", action="store_true", help="ADAPTIVE_RATE = False: each retry backs off alone")
    parser.add_argument("--restart", action="store_true", help="every device restarted as the network comes back")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a retry module constant for this run: %s" % ", ".join(constants()))  # fmt: skip
    args = parser.parse_args()
    for item in args.set:
        name, _, value = item.partition("=")
        if name not in constants():
            parser.error("--set: %r is not one of the retry module's numeric constants" % name)
        try:
            module = retry if name in vars(retry) else ratecurve  # where the code reads it
            setattr(module, name, number(value, type(getattr(module, name))))
        except (ValueError, OverflowError):  # int(nan) and int(inf): not a constant's value either
            parser.error("--set: %s=%r is not a number" % (name, value))
    print("seed  old readings / floor  drain / floor  throttled  in part  batches  requests  newer  unused  together"
          "  ideal old readings / floor  ideal together")  # fmt: skip
    runs = []
    for seed in range(1, args.seeds + 1):
        r = simulate(args.devices, args.readings, args.outage, args.capacity, seed=seed, partial=args.partial,
                     adaptive=not args.baseline, restart=args.restart)  # fmt: skip
        runs.append(r)
        print(_row(str(seed), r))
    print(_row("mean", dict((k, sum(r[k] for r in runs) / len(runs)) for k in runs[0])))
    lost = sum(r["lost"] for r in runs)
    print("lost %d" % lost)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
