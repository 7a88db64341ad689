"""Read a device's readings back (Query by deviceId, a seq or time range) and draw them as a PNG: one
line per sensor value over time (over seq when readings share a time or have none).

The picture's format is its name's: .png, .svg or .pdf.
"""

import datetime
import os

from . import hostclient

EXAMPLE = """iotsig plot --profile ops --table readings --device device-1 --since 2026-11-23T05:00:00Z \\
    --out readings.png"""
FORMATS = (".png", ".svg", ".pdf")

KEYS = ("deviceId", "seq", "ts", "dropped")


def query(client, table, device, first_seq=None, last_seq=None, since=None, until=None):
    """Every item of the device in the seq range, filtered to the ts range, in seq order."""
    cond, values = "deviceId = :d", {":d": {"S": device}}
    if first_seq is not None or last_seq is not None:
        cond += " AND seq BETWEEN :a AND :b"
        values[":a"] = {"N": str(first_seq or 0)}
        values[":b"] = {"N": str(last_seq if last_seq is not None else 2**53)}
    request = {"TableName": table, "KeyConditionExpression": cond, "ExpressionAttributeValues": values}
    if since is not None or until is not None:
        request["FilterExpression"] = "ts BETWEEN :s AND :u"
        request["ExpressionAttributeValues"][":s"] = {"N": str(int(since or 0))}
        request["ExpressionAttributeValues"][":u"] = {"N": str(int(until if until is not None else 2**53))}
    items = []
    while True:
        page = client.query(**request)
        items += page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# units by the name's suffix, as the firmware names its values (sim_temp_c, mem_free_kb, latency_ms)
UNITS = (("_c", "°C"), ("_kb", "KB"), ("_ms", "ms"), ("_s", "s"), ("_pct", "%"), ("_v", "V"))


def by_seq(items):
    """True when readings share a ts (back to back, INTERVAL_S=0) or some have none (JSON put
    without one): time cannot place them, so they are drawn by seq."""
    times = [item.get("ts", {}).get("N") for item in items]
    return None in times or len(set(times)) < len(items)


def series(items, seq=False):
    """{value name: ([time or seq], [value])} of the N attributes other than the keys."""
    out = {}
    for item in items:
        if seq:
            x = int(float(item["seq"]["N"]))
        else:
            x = datetime.datetime.fromtimestamp(int(item["ts"]["N"]), datetime.timezone.utc)
        for name, value in item.items():
            if name in KEYS or "N" not in value:
                continue
            xs, ys = out.setdefault(name, ([], []))
            xs.append(x)
            ys.append(float(value["N"]))
    return out


def label(name):
    """`sim_temp_c (°C)`: the value's name and its unit when the name says it."""
    for suffix, unit in UNITS:
        if name.endswith(suffix):
            return "%s (%s)" % (name, unit)
    return name


def figure(device, data, seq=False):
    """The figure: one panel per value, y in plain numbers (no offset, no scientific notation),
    x in UTC time, or in seq when by_seq."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: straight to PNG
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    names = sorted(data)
    fig, axes = plt.subplots(len(names), 1, figsize=(10, 2.2 * len(names) + 0.8), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        xs, ys = data[name]
        ax.plot(xs, ys, marker=".", linewidth=1)
        ax.set_ylabel(label(name))
        plain = ScalarFormatter(useOffset=False)
        plain.set_scientific(False)
        ax.yaxis.set_major_formatter(plain)
        ax.grid(True, alpha=0.3)
    bottom = axes[-1, 0]
    if seq:
        plain = ScalarFormatter(useOffset=False)
        plain.set_scientific(False)
        bottom.xaxis.set_major_formatter(plain)
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.set_xlabel("seq (readings share their time: drawn in the order taken)")
    else:
        bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
        bottom.set_xlabel("time (UTC)")
    fig.suptitle("%s: %d readings" % (device, max(len(v[0]) for v in data.values())))
    fig.tight_layout()
    return fig


def draw(device, data, path, seq=False):
    import matplotlib.pyplot as plt

    fig = figure(device, data, seq)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _instant(text, option):
    """Unix seconds of an ISO time or of Unix seconds."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise hostclient.ToolError("%s: %r is neither an ISO time (2026-11-23T05:00:00Z) nor Unix seconds"
                                   % (option, text), usage=True)  # fmt: skip


def out_path(path):
    """--out, checked before anything is read: a format matplotlib writes, in a writable folder."""
    if os.path.splitext(path)[1].lower() not in FORMATS:
        raise hostclient.ToolError("--out: %s: the name must end in %s" % (path, ", ".join(FORMATS)), usage=True)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise hostclient.ToolError("--out: %s: no such folder" % os.path.dirname(path))
    if not os.access(folder, os.W_OK):
        raise hostclient.ToolError("--out: %s: the folder is not writable" % os.path.dirname(path))
    return path


def main(argv=None):
    parser = hostclient.parser("plot", __doc__, EXAMPLE)
    parser.add_argument("--table", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--first-seq", type=int)
    parser.add_argument("--last-seq", type=int)
    parser.add_argument("--since", help="ISO time (2026-11-23T05:00:00Z) or Unix seconds")
    parser.add_argument("--until", help="ISO time or Unix seconds")
    parser.add_argument("--out", default="readings.png", help="the picture: .png (default readings.png), .svg, .pdf")
    hostclient.add_connection_args(parser)
    hostclient.add_output_arg(parser)
    args = parser.parse_args(argv)
    since, until = _instant(args.since, "--since"), _instant(args.until, "--until")
    out_path(args.out)
    client = hostclient.client_from_args(args)
    items = query(client, args.table, args.device, args.first_seq, args.last_seq, since, until)
    if not items:
        raise hostclient.ToolError("no readings of %s in that range" % args.device)
    seq = by_seq(items)
    data = series(items, seq)
    if not data:
        raise hostclient.ToolError("the %d readings of %s hold no number to plot" % (len(items), args.device))
    try:
        draw(args.device, data, args.out, seq)
    except OSError as e:
        raise hostclient.ToolError("--out: cannot write %s: %s" % (args.out, e.strerror))
    seqs = [int(float(i["seq"]["N"])) for i in items]
    record = {"device": args.device, "readings": len(items), "first_seq": min(seqs), "last_seq": max(seqs),
              "values": sorted(data), "out": args.out}  # fmt: skip
    text = "%s: %d readings (seq %d..%d), %d values plotted to %s" % (
        args.device, len(items), min(seqs), max(seqs), len(data), args.out)  # fmt: skip
    hostclient.show(args, record, text)
    return 0
