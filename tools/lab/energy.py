"""make energy: the awake time of each kind of deep-sleep wake, and the HTTP bytes and TLS handshakes
per reading in both power modes, measured on the unix port against the local DynamoDB over TLS (as
make membudget); turned, with named ESP32 datasheet currents, into energy per reading, mAh a day,
battery life and the interval from which deep sleep beats staying awake.

The unix port's times are not an ESP32's: the model takes a published ESP32 figure for a wake that
brings Wi-Fi and TLS up, and scales the measured CPU time by a stated factor (FIGURES, below)."""

import argparse
import os
import re
import resource
import sys
import time

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import layout
import unixport

# Each figure with its source. Currents in mA at 3.3 V. "WROOM" is the ESP32-WROOM-32 Datasheet
# v3.4 (its §3.4 RTC and Low-Power Management defers the power-mode figures to the ESP32 Series
# Datasheet, "ESP32"); the table names are the documents' own.
FIGURES = {
    "volts": (3.3, "supply, WROOM §5.2 Recommended Operating Conditions (typical VDD33)"),
    "tx_ma": (240.0, "Wi-Fi TX 802.11b 1 Mbps at full power, ESP32 table Current Consumption Depending on RF Modes"),
    "rx_ma": (100.0, "Wi-Fi RX 802.11b/g/n (95-100 mA), same table: while the answers arrive"),
    "cpu_ma": (
        44.0,
        "modem-sleep, CPU at 160 MHz (MicroPython's default), upper figure (27-44 mA), "
        "ESP32 table Power Consumption by Power Modes",
    ),
    "idle_ma": (
        44.0,
        "always-on idle: the station associated in modem-sleep (MicroPython's default power "
        "management) with the CPU at 160 MHz, same table, upper figure",
    ),
    "light_ma": (0.8, "light-sleep, same table (not used by the firmware: for comparison)"),
    "sleep_ma": (0.010, "deep-sleep with the RTC timer and RTC memory on (~10 uA), same table"),
    "secure_wake_s": (
        0.9,
        "a wake that associates to Wi-Fi, gets an address and does one TLS handshake: "
        "published ESP32 measurements of about 0.9 s",
    ),
    "secure_wake_ma": (120.0, "its mean current, about 120 mA (same published work; about 0.36 J at 3.3 V)"),
    "handshake_s": (
        0.5,
        "one more TLS handshake with Wi-Fi already up (ECDHE on a 160 MHz Xtensa): assumed, about half the secure wake",
    ),
    "tx_bps": (1e6, "effective Wi-Fi throughput for the HTTP bytes: assumed 1 Mbit/s each way (pessimistic)"),
    "boot_s": (
        0.25,
        "a deep-sleep wake to main.py (ROM and second-stage bootloader, image check, MicroPython start) "
        "before the measured time: assumed, added to reading wakes (the secure wake includes it)",
    ),
    "wifi_timeout_s": (
        20.0,
        "WIFI_TIMEOUT_S's default (the ESP32 board's field): a sending wake that finds no network waits "
        "this long for it, scanning and trying to associate (at rx_ma: mostly receiving), then sleeps",
    ),
    "cpu_factor": (
        10.0,
        "ESP32 CPU time / unix-port CPU time for the same MicroPython code: assumed, "
        "a 160 MHz Xtensa against one desktop x86 core",
    ),
}


def value(figures, name):
    return figures[name][0]


def awake_s(measured, send_every, figures=FIGURES):
    """(reading wake, sending wake) in seconds on an ESP32, from the unix port's times."""
    f = lambda name: value(figures, name)  # noqa: E731
    reading = f("boot_s") + measured["reading_wake_ms"] / 1000 * f("cpu_factor")
    sending = f("secure_wake_s") + measured["sending_wake_ms"] / 1000 * f("cpu_factor")
    return reading, sending


def no_network_wake(figures=FIGURES):
    """(seconds awake, mJ) of a sending wake that finds no network: the boot, then WIFI_TIMEOUT_S
    of Wi-Fi attempts, then the sleep (the firmware gives up there: nothing else waits for it)."""
    f = lambda name: value(figures, name)  # noqa: E731
    seconds = f("boot_s") + f("wifi_timeout_s")
    return seconds, (f("boot_s") * f("cpu_ma") + f("wifi_timeout_s") * f("rx_ma")) * f("volts")


def per_reading(measured, interval_s, send_every, figures=FIGURES):
    """{mode: charge per reading in mA*s} for always-on and deep sleep. `measured` holds
    reading_wake_ms, sending_wake_ms (unix port) and send_every of that run, and per mode the
    HTTP bytes sent_per_reading and received_per_reading and handshakes_per_reading."""
    f = lambda name: value(figures, name)  # noqa: E731
    radio = lambda mode: (  # noqa: E731
        (measured[mode]["sent_per_reading"] * f("tx_ma") + measured[mode]["received_per_reading"] * f("rx_ma"))
        * 8
        / f("tx_bps")
    )
    always = f("idle_ma") * interval_s
    always += measured["always_on"]["handshakes_per_reading"] * f("handshake_s") * f("secure_wake_ma")
    always += radio("always_on")
    # deep sleep: of SEND_EVERY wakes one sends; the first handshake of a sending wake is in its secure wake
    reading_s, sending_s = awake_s(measured, send_every, figures)
    per_send = measured["deep_sleep"]["handshakes_per_reading"] * measured["send_every"]
    sending = (sending_s - f("secure_wake_s")) * f("cpu_ma") + f("secure_wake_s") * f("secure_wake_ma")
    sending += max(0.0, per_send - 1) * f("handshake_s") * f("secure_wake_ma")
    awake = ((send_every - 1) * reading_s + sending_s) / send_every
    deep = ((send_every - 1) * reading_s * f("cpu_ma") + sending) / send_every
    deep += radio("deep_sleep") + f("sleep_ma") * max(0.0, interval_s - awake)
    return {"always_on": always, "deep_sleep": deep}


def crossing_s(measured, send_every, figures=FIGURES):
    """The reading interval (s) from which deep sleep costs less per reading than always-on: where
    the two costs, straight lines in the interval, meet (0 when deep sleep always wins)."""
    start = awake_s(measured, send_every, figures)[1]  # both lines are straight past the longest wake
    a = per_reading(measured, start, send_every, figures)
    b = per_reading(measured, start + 1000, send_every, figures)
    slope_on, slope_ds = (b["always_on"] - a["always_on"]) / 1000, (b["deep_sleep"] - a["deep_sleep"]) / 1000
    if slope_on <= slope_ds:
        return None  # always-on never loses (not with these currents)
    return max(0.0, start + (a["deep_sleep"] - a["always_on"]) / (slope_on - slope_ds))


def budget(charge_mas, interval_s, battery_mah, figures=FIGURES):
    """(mJ per reading, mAh a day, days on the battery) from the charge per reading in mA*s."""
    mj = charge_mas * value(figures, "volts")
    mah_day = charge_mas * (86400 / interval_s) / 3600
    return mj, mah_day, battery_mah / mah_day


def table(measured, configs, battery_mah, figures=FIGURES):
    """Lines of the energy table, one per config (interval_s, send_every) and mode."""
    lines = ["| INTERVAL_S | SEND_EVERY | mode | mJ/reading | mAh/day | days on %d mAh |" % battery_mah]
    lines.append("|---|---|---|---|---|---|")
    for interval_s, send_every in configs:
        charges = per_reading(measured, interval_s, send_every, figures)
        for mode in ("always_on", "deep_sleep"):
            mj, mah_day, days = budget(charges[mode], interval_s, battery_mah, figures)
            late = mode == "deep_sleep" and awake_s(measured, send_every, figures)[1] > interval_s
            lines.append(
                "| %g | %d | %s | %.1f | %.2f | %.1f%s |"
                % (
                    interval_s,
                    send_every,
                    mode,
                    mj,
                    mah_day,
                    days,
                    " (a sending wake outlasts the interval)" if late else "",
                )
            )
    return lines


def _children_cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the children run and waited for so far
    return (usage.ru_utime + usage.ru_stime) * 1000


def wakes(site, send_every, readings, code="source"):
    """Deep sleep on the unix port: [(wake, kind, awake ms, process ms, process CPU ms)] and the
    proxy's counts. Awake ms is the firmware's own count (from main.py's first call for the board
    to the sleep); process ms the interpreter's whole run, its start and the import of main.py
    included, and its CPU time (which other work on the machine disturbs less)."""
    site.fresh_proxy()
    extra = 'POWER_MODE = "deep_sleep"\nSEND_EVERY = %d\nDELIVERY_TIMEOUT_S = 10\n' % send_every
    folder = site.config("energy-deep", readings, interval_s=60, extra=extra)
    seen = []
    for _ in range(readings):
        started, cpu = time.monotonic(), _children_cpu_ms()
        r = unixport.run_firmware(folder, code, timeout=120)
        process_ms, cpu_ms = int((time.monotonic() - started) * 1000), int(_children_cpu_ms() - cpu)
        found = re.search(r"^wake (\d+) \((\w+)\): .* awake (\d+) ms", r.stdout, re.M)
        if r.returncode != 0 or not found:
            raise RuntimeError("a deep-sleep wake failed: %s" % r.stdout[-2000:])
        seen.append((int(found.group(1)), found.group(2), int(found.group(3)), process_ms, cpu_ms))
    return seen, counts(site.proxy, readings)


def always_on(site, readings, code="source"):
    site.fresh_proxy()
    folder = site.config("energy-on", readings, interval_s=1)  # each reading sent as it comes
    r = unixport.run_firmware(folder, code, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("the always-on run failed: %s" % r.stdout[-2000:])
    return counts(site.proxy, readings)


def counts(proxy, readings):
    return {
        "sent_per_reading": proxy.bytes_in / readings,
        "received_per_reading": proxy.bytes_out / readings,
        "handshakes_per_reading": proxy.connections / readings,
    }


def measure(workdir, send_every, readings, code="source"):
    from local.benchsite import Site

    site = Site(workdir)
    try:
        seen, deep = wakes(site, send_every, readings, code)
        on = always_on(site, readings, code)
    finally:
        site.stop()
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    of = lambda kind, i: median([w[i] for w in seen if w[0] > 1 and w[1] == kind])  # noqa: E731
    return {
        "code": code,
        "send_every": send_every,
        "first_wake_ms": seen[0][2],
        "reading_wake_ms": of("reading", 2),
        "sending_wake_ms": of("sending", 2),
        "process_ms": (seen[0][3], of("reading", 3), of("sending", 3)),
        "process_cpu_ms": (seen[0][4], of("reading", 4), of("sending", 4)),
        "wakes": seen,
        "deep_sleep": deep,
        "always_on": on,
    }


CODE_NAMES = {"source": "source", "mpy": "the .mpy files", "image": "the 32-bit image (frozen)"}
CONFIGS = ((2, 1), (10, 1), (60, 1), (60, 5), (300, 1), (300, 5), (900, 4), (3600, 1))


def report(measured, send_every, battery_mah):
    m = measured
    lines = [
        "unix port, from %s, TLS to the local DynamoDB (SEND_EVERY = %d):" % (CODE_NAMES[m["code"]], send_every),
        "  awake: first boot %d ms, reading wake %d ms, sending wake %d ms (medians)"
        % (m["first_wake_ms"], m["reading_wake_ms"], m["sending_wake_ms"]),
        "  the whole process (interpreter start and main.py's import too): %d ms, %d ms, %d ms; CPU %d ms, %d ms, %d ms"
        % (m["process_ms"] + m["process_cpu_ms"]),
    ]
    for mode in ("always_on", "deep_sleep"):
        lines.append(
            "  %s: %.0f HTTP bytes sent, %.0f received and %.3f TLS handshakes per reading"
            % (mode, m[mode]["sent_per_reading"], m[mode]["received_per_reading"], m[mode]["handshakes_per_reading"])
        )
    lines.append("")
    lines.append("ESP32 estimate from these figures (tools/lab/energy.py FIGURES):")
    for name in sorted(FIGURES):
        lines.append("  %s = %g: %s" % (name, FIGURES[name][0], FIGURES[name][1]))
    lines.append("")
    lines += table(m, CONFIGS, battery_mah)
    lines.append("")
    awake, mj = no_network_wake()
    lines.append(
        "a sending wake that finds no network: %.2f s awake (the boot, then WIFI_TIMEOUT_S), about %.0f mJ"
        % (awake, mj)
    )
    for n in sorted({n for _, n in CONFIGS}):
        cross = crossing_s(m, n)
        lines.append(
            "deep sleep beats always-on (SEND_EVERY = %d) from INTERVAL_S %s"
            % (n, "never" if cross is None else "%.1f s" % cross)
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--send-every", type=int, default=5, help="SEND_EVERY of the measured deep-sleep run")
    parser.add_argument("--readings", type=int, default=10, help="readings (wakes) in each power mode")
    parser.add_argument("--battery-mah", type=float, default=2000)
    parser.add_argument("--workdir", default=os.path.join(layout.ROOT, ".local", "energy"))
    parser.add_argument("--results", metavar="FILE", help="also rewrite its section of FILE (tools/lab/RESULTS.md)")
    unixport.add_code_options(parser)
    args = parser.parse_args()
    measured = measure(args.workdir, args.send_every, args.readings, unixport.code_option(args))
    lines = report(measured, args.send_every, args.battery_mah)
    print("\n".join(lines))
    if args.results:
        from lab import results

        results.record("energy", "Energy per reading", "\n".join(lines), path=args.results)


if __name__ == "__main__":
    main()
