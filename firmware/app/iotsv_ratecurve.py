# The adaptive rate limiter's pacing once the table has throttled the device: loaded by
# iotsv_retry.RateLimiter at a throttle and held by it only while it paces (dropped once it has
# been quiet for QUIET_MS), so a device that is never throttled never has this code in its heap.
# Functions of the limiter (`lim`), whose state they read and set.
#
# Rate adaptation after throttling, in the spirit of botocore's adaptive retry mode (CUBIC), in
# items (write units) per second, as a table's capacity is counted. The device measures the rate
# it sends items at (items of the last TAU_MS or so); once the table throttles it, every request
# first takes its items from a token bucket whose rate drops to BETA x the measured rate, then
# climbs back along a cubic curve of the time since (flat near that rate, steeper past it), at
# most CAP x the rate measured at the last answer. The climb back to the rate it was throttled at
# goes on between answers: a throttle long after the last one cuts from where the curve has got
# to, not again from the last cut (throttles minutes apart with no success between would
# otherwise compound to MIN_RATE, and a fleet back at once would drain at a fraction of its
# table). Past that rate it climbs only on answers: it probes upwards by sending. How steep the
# curve is depends on how far behind the device is, in seconds of its backlog at the measured
# rate: botocore's near caught up, so a short drain probes for the capacity others leave; far
# flatter with a long drain ahead, so cuts compound to a share the table can hold for that long
# (botocore's steepness climbs back between two requests, and a fleet far behind overshoots
# together). Counted in seconds, not readings: a device taking readings every 10 ms is hundreds
# behind but only seconds from caught up, and climbs as one near caught up. It never paces below
# the rate the device takes readings at (measured as the send rate is): slower, it would only move
# them into the spool until it is full and drops them. Never throttled (or not for QUIET_MS), it
# changes nothing. How each of these was found: tools/lab/fleet.md, "The limiter, change by change".
from math import exp

BETA = 0.7
SCALE = 0.4  # the cubic's steepness: items/s per s^3
FLAT_SCALE = 0.0001  # the steepness for a device with a long drain ahead
STEEP_S, FLAT_S = 15, 30  # backlog in seconds at the measured rate: SCALE up to STEEP_S, FLAT_SCALE from FLAT_S
MIN_RATE = 0.5  # items per second
CAP = 1.5
QUIET_MS = 600000


def steepness(drain_s):
    """The cubic's steepness for a device `drain_s` seconds behind: SCALE up to STEEP_S,
    FLAT_SCALE from FLAT_S, geometric between."""
    if drain_s <= STEEP_S:
        return SCALE
    if drain_s >= FLAT_S:
        return FLAT_SCALE
    return SCALE * (FLAT_SCALE / SCALE) ** ((drain_s - STEEP_S) / (FLAT_S - STEEP_S))


def wait_ms(lim, cost):
    """Milliseconds before a request of `cost` items may go (0: now)."""
    refill(lim)
    if lim.tokens >= cost:
        return 0
    return int((cost - lim.tokens) * 1000 / lim.rate) + 1


def sent(lim, cost):
    """A request of `cost` items goes now."""
    refill(lim)
    lim.tokens = max(0.0, lim.tokens - cost)


def _weights(lim, now):
    """What the weights of a steady rate sum to, in ms: TAU_MS, less in a run younger than it."""
    d = lim.board.ticks_diff(now, lim.young_at)
    lim.young = lim.young * exp(-d / lim.TAU_MS) if d >= 0 else 0.0  # (past a ticks wrap: old)
    lim.young_at = now
    tau = lim.TAU_MS
    return max(tau - lim.young, tau / 10.0)


def _rate(lim, weighted, since, now):
    """Items per second of a sum weighted as RateLimiter._aged weights it, as of `now`."""
    return lim._aged(weighted, since, now) * 1000.0 / _weights(lim, now)


def measured(lim, now):
    """The rate the device sends items at (items per second)."""
    return _rate(lim, lim.sum, lim.summed, now)


def floor(lim, now):
    """MIN_RATE, or the rate readings are taken at if higher (items per second)."""
    return max(MIN_RATE, _rate(lim, lim.arrivals, lim.arrived, now))


def answered(lim, now, throttled, backlog):
    """RateLimiter.answered's pacing (the sum of items sent already counts this answer's):
    False once the limiter has stepped aside (quiet for QUIET_MS), True while it paces."""
    # the cut and the ceiling are from the sum over TAU_MS, which is low in a young run: a device
    # restarted a moment ago cuts from low
    sending = lim.sum * 1000.0 / lim.TAU_MS
    if throttled:
        if not lim.enabled:
            lim.enabled, lim.rate, lim.tokens, lim.filled = True, sending, 0.0, now
    elif not 0 <= lim.board.ticks_diff(now, lim.last_fail) <= QUIET_MS:
        lim.enabled = False
        return False
    refill(lim)  # the climb so far, on the curve of the last answer
    lim.ceiling = CAP * sending
    if throttled:
        rate = min(sending, lim.rate)
        lim.w_max = rate
        lim.scale = steepness(backlog / max(measured(lim, now), MIN_RATE))
        lim.k = (rate * (1 - BETA) / lim.scale) ** (1 / 3.0)
        lim.last_fail = now
        _set(lim, rate * BETA)
    else:
        _set(lim, _cubic(lim, now))
    return True


def _cubic(lim, now):
    """The cubic at `now`: BETA x w_max just after the throttle, w_max after k seconds, then up
    (never past the ceiling; its callers hold it to the floor)."""
    x = lim.board.ticks_diff(now, lim.last_fail) / 1000.0 - lim.k
    return min(lim.scale * x * x * x + lim.w_max, lim.ceiling)


def refill(lim):
    now = lim.board.ticks_ms()
    dt = max(0, lim.board.ticks_diff(now, lim.filled))
    rate = max(lim.rate, min(_cubic(lim, now), lim.w_max), floor(lim, now))  # up the curve, not past it
    lim.tokens = min(max(rate, lim.burst), lim.tokens + dt * (lim.rate + rate) / 2000.0)
    lim.rate = rate
    lim.filled = now


def _set(lim, rate):
    lim.rate = max(rate, floor(lim, lim.board.ticks_ms()))
    lim.tokens = min(lim.tokens, max(lim.rate, lim.burst))
