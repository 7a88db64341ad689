"""Fleet run: N firmware processes on the unix port, each a device of its own (device id, folder,
STATE_DIR, a reading every second), write through tools/local/chaosproxy.py modelling a table's write
capacity (a token bucket of write units per second across every device; over it AWS's
ProvisionedThroughputExceededException) in front of the local DynamoDB; the network is cut for
OUTAGE seconds mid-run while the devices keep reading. At the end the table is read back.

Prints and writes as JSON (build/fleet.json) per mode: readings taken, delivered, lost,
duplicated, requests accepted and throttled, the drain after the outage (until the fleet's backlog
is back to one reading per device) against its floor (the backlog / what the table has left while
the devices keep reading: capacity - devices / interval), the throttled share during it (of every
request, and of those of more than one reading: a backlog's batches), the time
until every reading taken before the network came back is written (against backlog / capacity),
and per-device delivery latency percentiles; draws a PNG (requests accepted and throttled per
second, write units per second, total backlog). Modes: `adaptive`
(the firmware as it is) and `baseline` (ADAPTIVE_RATE = False: each request backs off alone).
With `--restart` every device is restarted when the network comes back (power back with it): the
fleet returns at once, with no backoff to spread it. With `--partial` a batch the capacity covers
in part is written in part and the rest answered in UnprocessedItems, as AWS answers it (without,
it is refused whole: the harder case for the devices' batches). With `--image` every device is
the 32-bit image of `make image` (single-precision floats, the firmware frozen in), as a board
runs it (`--mpy`: the .mpy files of `make mpy`).
Exit 1 unless every mode lost and duplicated nothing. `--cost` prints instead what a device costs
in DynamoDB writes, from item sizes measured on the firmware's own items.
"""

import argparse
import bisect
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tooldoc
import unixport
from iotsig import hostclient  # noqa: F401  (puts the firmware's library on the path: items as a board makes them)
from lab import results as results_doc  # the lab's results document (results is the runs' figures here)
from local.chaosproxy import TIMELINE, ChaosProxy, item_size, write_units
from local.localddb import ROOT, LocalDynamoDB

DELIVERED = re.compile(r"^delivered seq=(\d+) .*latency_ms=(\d+)$", re.M)
MODES = ("baseline", "adaptive")


def percentile(values, p):
    """The p-th percentile (nearest rank) of values; None when there are none."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def table(workdir, capacity, partial=False):
    """The local DynamoDB behind the capacity proxy, both started: (ddb, proxy). moto speaks plain
    HTTP behind it: the devices' TLS ends at the proxy, as at AWS's edge."""
    ddb = LocalDynamoDB(workdir, tls=False).start().provision()
    pki = os.path.join(ddb.workdir, "pki")
    proxy = ChaosProxy(
        ddb.port,
        None,
        os.path.join(pki, "server.pem"),
        os.path.join(pki, "server.key"),
        credentials=ddb.device_key,
        capacity_wcu=capacity,
        partial=partial,
    ).start()
    return ddb, proxy


def fleet(
    devices,
    readings,
    outage_s,
    capacity,
    workdir,
    mode="adaptive",
    outage_at_s=None,
    interval_s=1,
    seed=None,
    code="source",
    timeout_s=None,
    restart=False,
    partial=False,
    out=print,
):
    """One fleet run; returns its figures (a dict, as written to the JSON)."""
    rand = random.Random(seed)
    shutil.rmtree(workdir, ignore_errors=True)
    if outage_at_s is None:
        outage_at_s = min(30, readings * interval_s / 4)
    if timeout_s is None:
        timeout_s = readings * interval_s + outage_s + 600
    ddb, proxy = table(workdir, capacity, partial)
    procs = []
    try:
        extra = "HTTP_TIMEOUT_S = 5\nDELIVERY_TIMEOUT_S = %d\n" % timeout_s
        if mode == "baseline":
            extra += "ADAPTIVE_RATE = False\n"
        names = ["fleet-%02d" % (i + 1) for i in range(devices)]
        folders = {}
        for name in names:
            folders[name] = os.path.join(workdir, "devices", name)
            ddb.write_config(
                folders[name],
                device_id=name,
                readings=readings,
                interval_s=interval_s,
                host="localhost:%d" % proxy.port,
                extra=extra,
            )
        out(
            "fleet (%s, %s): %d devices x %d readings (one every %ss) through localhost:%d, capacity %s WCU/s, "
            "%s, network cut for %ds at %ds"
            % (
                mode,
                code,
                devices,
                readings,
                interval_s,
                proxy.port,
                capacity,
                "a batch over it written in part" if partial else "a batch over it refused whole",
                outage_s,
                outage_at_s,
            )
        )
        logs = {}
        t0 = time.time()
        for name in names:  # devices switched on at random moments of a second, as a fleet is
            time.sleep(rand.uniform(0, 1.0 / devices))
            logs[name] = open(os.path.join(folders[name], "firmware.log"), "w")
            procs.append((name, unixport.start_firmware(folders[name], logs[name], code=code)))
        cut = {}

        def cut_network():
            time.sleep(max(0, t0 + outage_at_s - time.time()))
            cut["down"] = time.time()
            proxy.outage(outage_s)
            cut["up"] = time.time()
            if restart:  # power back with the network: every device starts again at once
                for i, (name, proc) in enumerate(procs):
                    proc.kill()
                    proc.wait()
                    procs[i] = (name, unixport.start_firmware(folders[name], logs[name], code=code))

        cutter = threading.Thread(target=cut_network, daemon=True)
        cutter.start()
        cutter.join()  # (with --restart it replaces the processes waited on below)
        codes = {}
        for name, proc in procs:
            try:
                codes[name] = proc.wait(max(1, t0 + timeout_s - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[name] = "timeout"
            logs[name].close()
        seconds = time.time() - t0
        result = _figures(ddb, proxy, names, folders, readings, capacity, interval_s, cut, codes, t0)
        result.update(
            mode=mode,
            code=code,
            devices=devices,
            readings_per_device=readings,
            interval_s=interval_s,
            capacity_wcu=capacity,
            outage_s=outage_s,
            restarted_at_return=restart,
            partial_batches=partial,
            outage_at_s=round(cut["down"] - t0, 1),
            seconds=round(seconds, 1),
        )
        _report(result, out)
        return result
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        proxy.stop()
        ddb.stop()


def drain(taken_at, first_write, up, devices, capacity, interval_s):
    """The drain after the network came back at `up`, from when each reading was taken and first
    written ({key: seconds}; a reading never written counts as not yet written): the backlog the
    outage left (readings taken before `up`, not written then), when its last one was written (and
    each device's first and last), how many newer readings were written meanwhile,
    when the fleet's backlog was back to one reading per device (at 0.1 s steps), and its floor:
    the backlog / what the table has left while the devices keep reading."""
    backlog = [k for k, ts in taken_at.items() if ts < up and first_write.get(k, up) >= up]
    first, done = {}, {}  # device -> when the first, and the last, of its backlog was written
    for k in backlog:
        if k in first_write:
            first[k[0]] = min(first.get(k[0], first_write[k]), first_write[k])
            done[k[0]] = max(done.get(k[0], up), first_write[k])
    old_at = max(list(done.values()) or [up])
    old = set(backlog)
    # written while the backlog was: where the table's capacity went until then, beside the backlog
    newer = sum(1 for k, t in first_write.items() if up <= t <= old_at and k not in old)
    taken_sorted = sorted(taken_at.values())
    written_sorted = sorted(first_write.values())
    drained_at = up
    while drained_at < up + 3600:
        waiting = bisect.bisect_right(taken_sorted, drained_at) - bisect.bisect_right(written_sorted, drained_at)
        if waiting <= devices:
            break
        drained_at += 0.1
    return {
        "backlog": backlog,
        "old_at": old_at,
        "newer_meanwhile": newer,
        "drained_at": drained_at,
        "drain_s": drained_at - up,
        "floor_s": len(backlog) / float(capacity - devices / float(interval_s)),
        # each device's backlog written, seconds after the return, in order: a fleet sharing the table
        # alike finishes together (the median near the last); one served in turn, spread evenly
        "done_s": sorted(t - up for t in done.values()),
        "first_s": sorted(t - up for t in first.values()),
        "taken_sorted": taken_sorted,  # the moments, in order (the backlog per second is counted from them)
        "written_sorted": written_sorted,
    }


def table_use(d, up, capacity):
    """Of the table's capacity from the return until the backlog was written (a reading is a write
    unit): the shares, in percent, that wrote the backlog, that wrote newer readings, and unused
    (none when the burst the bucket held at the return covered it all); None with no backlog."""
    units = capacity * (d["old_at"] - up)
    if units <= 0:
        return None
    old, newer = 100.0 * len(d["backlog"]) / units, 100.0 * d["newer_meanwhile"] / units
    return [old, newer, max(0.0, 100.0 - old - newer)]


def _spread(values):
    """[min, p10, median, p90, max] of sorted values (seconds, to 0.1), or None."""
    if not values:
        return None
    return [round(values[0], 1)] + [round(percentile(values, p), 1) for p in (10, 50, 90)] + [round(values[-1], 1)]


def _figures(ddb, proxy, names, folders, readings, capacity, interval_s, cut, codes, t0):
    taken_at = {}  # (device, seq) -> ts (device clock = this machine's: when it was taken)
    lost = duplicated = 0
    for name in names:
        items = ddb.readings(name)
        seqs = [int(i["seq"]["N"]) for i in items]
        duplicated += len(seqs) - len(set(seqs))
        lost += len(set(range(1, readings + 1)) - set(seqs))
        for i in items:
            taken_at[(name, int(i["seq"]["N"]))] = int(i["ts"]["N"])
    first_write = {}
    for at, device, seq in proxy.writes:
        key = (device, seq)
        if key not in first_write or at < first_write[key]:
            first_write[key] = at
    rewritten = len(proxy.writes) - len(first_write)
    up, down = cut["up"], cut["down"]
    d = drain(taken_at, first_write, up, len(names), capacity, interval_s)
    backlog, old_at, drained_at, drain_s, floor_s = (d["backlog"], d["old_at"], d["drained_at"], d["drain_s"],
                                                      d["floor_s"])  # fmt: skip
    taken_sorted, written_sorted = d["taken_sorted"], d["written_sorted"]
    start_s, end_s = int(up - proxy.started), int(drained_at - proxy.started)
    rows = proxy.timeline
    zero = [0] * len(TIMELINE)
    during = [rows.get(s, zero) for s in range(start_s, end_s + 1)]
    acc, thr, part = sum(r[0] for r in during), sum(r[1] for r in during), sum(r[4] for r in during)
    batch_acc, batch_thr = sum(r[5] for r in during), sum(r[6] for r in during)
    sizes = {}  # (when, device) -> items: the writes of one request share its moment
    for at, device, _ in proxy.writes:
        if up <= at <= drained_at:
            sizes[(at, device)] = sizes.get((at, device), 0) + 1
    batches = [n for n in sizes.values() if n > 1]
    back = d["first_s"]
    latencies = {}
    for name in names:
        with open(os.path.join(folders[name], "firmware.log")) as f:
            latencies[name] = [int(m.group(2)) for m in DELIVERED.finditer(f.read())]
    per_device = {}
    for name in names:
        v = latencies[name]
        per_device[name] = dict(("p%d" % p, percentile(v, p)) for p in (50, 90, 99)) if v else {}
        if v:
            per_device[name]["max"] = max(v)
    every = [x for v in latencies.values() for x in v]
    # per second since the run started: requests accepted and throttled, units written, backlog
    last = max(list(rows) + [0])
    shift = proxy.started - t0
    series = []
    ti = wi = 0
    for s in range(0, last + 1):
        edge = proxy.started + s + 1
        while ti < len(taken_sorted) and taken_sorted[ti] < edge:
            ti += 1
        while wi < len(written_sorted) and written_sorted[wi] < edge:
            wi += 1
        r = rows.get(s, zero)
        series.append([round(s + shift, 1), r[0], r[1], r[3], max(0, ti - wi), r[4]])
    total_acc = sum(r[0] for r in rows.values())
    total_thr = sum(r[1] for r in rows.values())
    total_part = sum(r[4] for r in rows.values())
    items_in_drain = sum(r[2] for r in during)
    use = table_use(d, up, capacity)
    return {
        "taken": readings * len(names),
        "delivered": len(taken_at),
        "lost": lost,
        "duplicated": duplicated,
        "rewritten_at_proxy": rewritten,
        "exit_codes": sorted(set(str(c) for c in codes.values())),
        "requests_accepted": total_acc,
        "requests_throttled": total_thr,
        "throttled_share": round(total_thr / float(max(1, total_acc + total_thr)), 4),
        "requests_in_part": total_part,  # of the accepted: answered with UnprocessedItems
        "backlog_after_outage": len(backlog),
        "drain_s": round(drain_s, 1),
        "drain_floor_s": round(floor_s, 1),
        "drain_vs_floor": round(drain_s / floor_s, 2) if floor_s > 0 else None,
        "old_readings_s": round(old_at - up, 1),
        "old_readings_floor_s": round(len(backlog) / float(capacity), 1),
        "old_readings_vs_floor": round((old_at - up) * capacity / len(backlog), 2) if backlog else None,
        "old_readings_table_use": None if use is None else [round(v, 1) for v in use],
        "first_write_after_outage_s": [round(back[0], 1), round(percentile(back, 50), 1), round(back[-1], 1)]
        if back
        else None,
        "backlog_done_per_device_s": _spread(d["done_s"]),
        "drain_requests_accepted": acc,
        "drain_requests_throttled": thr,
        "drain_throttled_share": round(thr / float(max(1, acc + thr)), 4),
        "drain_requests_in_part": part,
        "drain_throttled_or_in_part_share": round((thr + part) / float(max(1, acc + thr)), 4),
        "drain_items_per_request": round(items_in_drain / float(max(1, acc)), 1),
        # the requests of more than one reading (a backlog's batches): the share above counts a
        # caught-up device's single readings too, which the table seldom refuses
        "drain_batches": batch_acc + batch_thr,
        "drain_batches_throttled": batch_thr,
        "drain_batches_throttled_share": round(batch_thr / float(max(1, batch_acc + batch_thr)), 4),
        "drain_items_per_batch": round(sum(batches) / float(len(batches)), 1) if batches else None,
        "outage_at_s": round(down - t0, 1),
        "network_back_at_s": round(up - t0, 1),
        "latency_ms": dict(("p%d" % p, percentile(every, p)) for p in (50, 90, 99)),
        "latency_ms_per_device": per_device,
        "series": series,  # [s since start, accepted, throttled, units written, backlog, accepted in part]
    }


def _report(r, out):
    out(
        "taken %(taken)d  delivered %(delivered)d  lost %(lost)d  duplicated %(duplicated)d  "
        "(re-sent writes seen by the proxy %(rewritten_at_proxy)d)  exit codes %(exit_codes)s" % r
    )
    out(
        "requests accepted %(requests_accepted)d (%(requests_in_part)d of them in part)  throttled "
        "%(requests_throttled)d (%(throttled_share).1f%%)" % dict(r, throttled_share=100 * r["throttled_share"])
    )
    out(
        "drain: %(backlog_after_outage)d readings waiting when the network came back at %(network_back_at_s)ss; "
        "back to one per device in %(drain_s)ss, floor %(drain_floor_s)ss (backlog / (capacity - devices' "
        "reading rate)): %(drain_vs_floor)sx; throttled %(drain_throttled_share_pct).1f%% of %(drain_requests)d "
        "requests (%(drain_either_pct).1f%% throttled or answered in part), %(drain_items_per_request)s items per "
        "accepted request, %(drain_items_per_batch)s per BatchWriteItem; of the %(drain_batches)d requests of "
        "more than one reading %(drain_batches_throttled)d throttled (%(drain_batches_pct).1f%%)"
        % dict(
            r,
            drain_batches_pct=_pct(r["drain_batches_throttled"], r["drain_batches"]),
            drain_throttled_share_pct=_pct(r["drain_requests_throttled"], _drain_requests(r)),
            drain_either_pct=100 * r["drain_throttled_or_in_part_share"],
            drain_requests=_drain_requests(r),
        )
    )
    out(
        "the readings taken before the network came back all written in %(old_readings_s)ss, floor "
        "%(old_readings_floor_s)ss (backlog / capacity): %(old_readings_vs_floor)sx; each device's first write "
        "after the outage (min, median, max) %(first_write_after_outage_s)s s; each device's backlog written "
        "(min, p10, median, p90, max) %(backlog_done_per_device_s)s s; of the table's capacity until then "
        "(backlog, newer readings, unused) %(old_readings_table_use)s %%" % r
    )
    lat = r["latency_ms"]
    worst = max((d.get("p99") or 0, n) for n, d in r["latency_ms_per_device"].items())
    out(
        "delivery latency (reading taken -> acknowledged, ms): p50 %s  p90 %s  p99 %s; worst device p99 %s (%s)"
        % (lat["p50"], lat["p90"], lat["p99"], worst[0], worst[1])
    )


def _drain_requests(r):
    return r["drain_requests_accepted"] + r["drain_requests_throttled"]


def _pct(n, of):
    """n of `of` in percent (0 of none)."""
    return 100.0 * n / max(1, of)


def _share(n, of):
    return "%.1f%% (%d/%d)" % (_pct(n, of), n, of)


def _ms(v):
    return "-" if v is None else "%.1f s" % (v / 1000.0) if v >= 1000 else "%d ms" % v


def _use(shares):
    """The table's use while the backlog was written, as a row shows it (None in a run from before
    it was kept)."""
    return None if shares is None else " / ".join("%.0f%%" % v for v in shares)


def _code(r):
    """The code a run's firmware ran from (unixport.CODES), None for the source (the figures of
    runs from before it was recorded name none)."""
    code = r.get("code", "source")
    return None if code == "source" else code


def _summary_rows(r):
    """(label, this mode's figure, note) for the side-by-side table; a note that is a number is the
    mode's floor for the figure, in seconds."""
    requests = _drain_requests(r)
    first = r["first_write_after_outage_s"] or [0, 0, 0]
    in_part = _share(r["drain_requests_in_part"], requests) if r["drain_requests_in_part"] else None
    return [
        ("readings taken / delivered / lost / duplicated", "%(taken)d/%(delivered)d/%(lost)d/%(duplicated)d" % r, ""),
        ("backlog when the network came back", str(r["backlog_after_outage"]), ""),
        ("drain (backlog back to 1 reading per device)", "%.1f s = %.2fx" % (r["drain_s"], r["drain_vs_floor"] or 0),
         r["drain_floor_s"]),
        ("throttled during the drain", _share(r["drain_requests_throttled"], requests), "goal < 10%"),
        ("  of its requests of more than one reading", _share(r["drain_batches_throttled"], r["drain_batches"]), ""),
        ("answered in part during the drain", in_part, ""),
        ("readings taken before the return all written",
         "%.1f s = %.2fx" % (r["old_readings_s"], r["old_readings_vs_floor"] or 0), r["old_readings_floor_s"]),
        ("  table until then: backlog / newer / unused", _use(r.get("old_readings_table_use")), ""),
        ("first write after the outage, median / last", "%.1f s / %.1f s" % (first[1], first[2]), ""),
        ("delivery latency p50 / p90 / p99", " / ".join(_ms(r["latency_ms"][p]) for p in ("p50", "p90", "p99")), ""),
        ("the firmware run as (unixport's code)", _code(r), ""),
    ]  # fmt: skip


def summary(results):
    """The figures of each mode side by side, a column a mode, as lines, with what the goals are
    read against (the drain within 1.5x its floor, under 10% of its requests throttled). A row no
    mode has (answers in part, when every batch was refused whole; the code the firmware ran from,
    when it was the source) is left out."""
    modes = [m for m in MODES if m in results]
    columns = [_summary_rows(results[m]) for m in modes]
    widths = [max(len(m), max(len(v or "-") for _, v, _ in c)) + 2 for m, c in zip(modes, columns)]
    lines = [" " * 47 + "".join(m.ljust(w) for m, w in zip(modes, widths))]
    for row in zip(*columns):
        if all(value is None for _, value, _ in row):
            continue
        notes = [note for _, _, note in row]
        note = notes[0] if isinstance(notes[0], str) else "floor " + " / ".join("%.1f s" % n for n in notes)
        values = "".join((value or "-").ljust(w) for (_, value, _), w in zip(row, widths))
        lines.append("%-47s" % row[0][0] + values + note)
    return [line.rstrip() for line in lines]


def plot(results, path):
    """One column per mode: requests per second (accepted, throttled), write units per second
    against the capacity, and the fleet's backlog; the outage shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [m for m in MODES if m in results]
    fig, axes = plt.subplots(3, len(modes), figsize=(7 * len(modes), 9), sharex="col", squeeze=False)
    top = [max([r[1] + r[2] for r in results[m]["series"]] + [1]) for m in modes]
    most = max([max([r[4] for r in results[m]["series"]] + [1]) for m in modes])
    for col, mode in enumerate(modes):
        r = results[mode]
        t = [row[0] for row in r["series"]]
        ax = axes[0][col]
        whole = [row[1] - row[5] for row in r["series"]]
        ax.bar(t, whole, width=1.0, color="tab:green", label="accepted")
        if r["partial_batches"]:
            ax.bar(t, [row[5] for row in r["series"]], width=1.0, bottom=whole, color="tab:orange", label="in part")
        ax.bar(
            t,
            [row[2] for row in r["series"]],
            width=1.0,
            bottom=[row[1] for row in r["series"]],
            color="tab:red",
            label="throttled",
        )
        ax.set_ylim(0, max(top) * 1.05)
        ax.set_ylabel("requests per second")
        ax.set_title(
            "%s: %d devices%s, throttled %.1f%%%s in the drain, drain %ss = %sx floor"
            % (
                mode,
                r["devices"],
                " (%s)" % _code(r) if _code(r) else "",
                _pct(r["drain_requests_throttled"], _drain_requests(r)),
                " (%.1f%% with those in part)" % (100 * r["drain_throttled_or_in_part_share"])
                if r["partial_batches"]
                else "",
                r["drain_s"],
                r["drain_vs_floor"],
            ),
            fontsize=10,
        )
        ax.legend(loc="upper right", fontsize=8)
        ax = axes[1][col]
        ax.plot(t, [row[3] for row in r["series"]], color="tab:blue", label="write units written")
        ax.axhline(r["capacity_wcu"], color="black", linestyle="--", linewidth=1, label="capacity")
        ax.set_ylim(0, r["capacity_wcu"] * 2.2)
        ax.set_ylabel("write units per second")
        ax.legend(loc="upper right", fontsize=8)
        ax = axes[2][col]
        ax.plot(t, [row[4] for row in r["series"]], color="tab:purple")
        ax.set_ylim(0, most * 1.05)
        ax.set_ylabel("backlog (readings taken, not written)")
        ax.set_xlabel("seconds since the fleet started")
        for a in axes[:, col]:
            a.axvspan(r["outage_at_s"], r["network_back_at_s"], color="grey", alpha=0.2, lw=0)
            a.axvspan(r["network_back_at_s"], r["network_back_at_s"] + r["drain_s"], color="gold", alpha=0.15, lw=0)
            a.grid(alpha=0.3)
        axes[2][col].text(r["outage_at_s"], most * 0.95, " network cut", fontsize=8, va="top", color="dimgrey")
        axes[2][col].text(r["network_back_at_s"], most * 0.85, " drain", fontsize=8, va="top", color="darkgoldenrod")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# Typical readings, as the firmware's sensors give them (unix port; an ESP32 with a BME280, the
# battery and the MCU's temperature), and one with many values under long names.
READINGS = (
    ("unix port", {"deviceId": "device-1", "seq": 1234, "ts": 1795412909, "load1": 0.12, "mem_free_kb": 24197456,
                   "sim_temp_c": 23.94}),
    ("ESP32 + BME280", {"deviceId": "greenhouse-esp32-07", "seq": 123456, "ts": 1795412909, "temp_c": 21.37,
                        "humidity_pct": 45.2, "pressure_hpa": 1013.25, "battery_v": 3.912, "mcu_temp_c": 41.0}),
    ("40 values, 27-letter names", dict([("deviceId", "greenhouse-esp32-07"), ("seq", 123456), ("ts", 1795412909)]
                                        + [("soil_moisture_probe_%03d_pct" % i, 31.25) for i in range(40)])),
    ("40 values, 4-letter names", dict([("deviceId", "greenhouse-esp32-07"), ("seq", 123456), ("ts", 1795412909)]
                                       + [("m%03d" % i, 31.25) for i in range(40)])),
)  # fmt: skip
MONTH_S = 30 * 24 * 3600


def cost(price_write_million, price_wcu_hour, headroom, intervals=(60, 300), out=print):
    """What a device's readings cost in DynamoDB writes per month (30 days), per reading kind."""
    import iotsv_dynamodb as dynamodb  # the firmware's, from its library

    out("one reading as DynamoDB bills it (attribute names + values), and as the spool and the wire carry it:")
    rows = []
    for name, reading in READINGS:
        item = dynamodb.marshal_item(reading)
        wire = len(json.dumps(item, separators=(",", ":")))
        units = write_units(item)
        rows.append((name, units))
        out("  %-28s %4d bytes billed, %d write unit(s); %d bytes of compact DynamoDB JSON" % (
            name, item_size(item), units, wire))  # fmt: skip
    out("per device per month: on demand $%s per million write request units; provisioned $%s per WCU-hour "
        "at %sx the average rate" % (price_write_million, price_wcu_hour, headroom))  # fmt: skip
    out("  %-28s %10s %12s %14s %14s" % ("reading", "INTERVAL_S", "writes/month", "on demand $", "provisioned $"))
    for name, units in rows:
        for interval in intervals:
            writes = MONTH_S // interval * units
            demand = writes / 1e6 * price_write_million
            provisioned = units / float(interval) * headroom * 24 * 30 * price_wcu_hour
            out("  %-28s %10d %12d %14.4f %14.4f" % (name, interval, writes, demand, provisioned))


def main():
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("--devices", type=int, default=40)
    parser.add_argument("--readings", type=int, default=180, help="readings per device")
    parser.add_argument("--outage", type=int, default=60, help="seconds the network is cut")
    parser.add_argument("--outage-at", type=float, default=None, help="seconds after start (default: 30)")
    parser.add_argument("--capacity", type=float, default=100, help="the table's write units per second")
    parser.add_argument(
        "--restart", action="store_true", help="every device restarted when the network comes back (all at once)"
    )
    parser.add_argument(
        "--partial", action="store_true", help="a batch over capacity written in part, UnprocessedItems for the rest"
    )
    parser.add_argument("--modes", default="baseline,adaptive", help="comma-separated: baseline, adaptive")
    unixport.add_code_options(parser)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", default=os.path.join(ROOT, "build", "fleet.json"))
    parser.add_argument("--png", default=os.path.join(ROOT, "build", "fleet.png"))
    parser.add_argument("--workdir", default=os.path.join(ROOT, ".local", "fleet"))
    parser.add_argument("--results", metavar="FILE", help="also rewrite its section of FILE (tools/lab/RESULTS.md)")
    parser.add_argument("--cost", action="store_true", help="print what a device costs in writes, run nothing")
    parser.add_argument(
        "--summary", metavar="JSON", help="print the side-by-side table of an earlier run's figures, run nothing"
    )
    parser.add_argument("--price-write-million", type=float, default=0.625, help="$ per million write request units")
    parser.add_argument("--price-wcu-hour", type=float, default=0.00065, help="$ per provisioned WCU-hour")
    parser.add_argument("--headroom", type=float, default=2.5, help="provisioned capacity / the fleet's average rate")
    args = parser.parse_args()
    if args.summary:
        try:
            with open(args.summary) as f:
                print("\n".join(summary(json.load(f))))
        except (OSError, ValueError, KeyError, TypeError) as e:
            parser.error(
                "--summary: %s is not the figures of a fleet run (%s: %s)" % (args.summary, type(e).__name__, e)
            )
        return 0
    if args.cost:
        cost(args.price_write_million, args.price_wcu_hour, args.headroom)
        return 0
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            parser.error("--modes: %r is not one of %s" % (m, ", ".join(MODES)))
    if args.devices < 1 or args.readings < 1 or args.outage < 0 or args.capacity <= 0:
        parser.error("--devices, --readings and --capacity must be positive, --outage at least 0")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {}
    for mode in modes:
        results[mode] = fleet(
            args.devices,
            args.readings,
            args.outage,
            args.capacity,
            os.path.join(args.workdir, mode),
            mode=mode,
            outage_at_s=args.outage_at,
            seed=args.seed,
            restart=args.restart,
            partial=args.partial,
            code=unixport.code_option(args),
        )
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    plot(results, args.png)
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 for r in results.values())
    text = "\n".join(
        summary(results)
        + [
            "fleet: figures in %s, plot in %s" % (os.path.relpath(args.json), os.path.relpath(args.png)),
            "fleet: %s" % ("PASS: every reading delivered exactly once" if ok else "FAIL: readings lost or duplicated"),
        ]
    )
    print(text)
    if args.results:
        results_doc.record("fleet", "make fleet: a fleet back from an outage", text, args.results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
