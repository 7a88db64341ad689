# What to do after a failed request, decided as the AWS SDKs decide it for DynamoDB, and how
# long to wait: capped exponential backoff with full jitter.
import random
from math import exp

from iotsv_httpclient import HttpError
from iotsv_refusal import Refusal

TRANSIENT = "transient"  # throttled, 5xx, 429, reset, timeout, truncated: back off and retry
CLOCK_SKEW = "clock"  # the request's time is too far from the server's: fix the clock, re-sign
ITEM_REFUSED = "item"  # this item can never be written: dead-letter it, go on with the rest
BLOCKED = "blocked"  # credentials, permissions, table, certificate: keep everything, retry later

SKEW_CODES = ("RequestTimeTooSkewed", "RequestExpired", "SignatureExpired", "InvalidSignatureException")
ITEM_CODES = (
    "ValidationException",
    "ItemCollectionSizeLimitExceededException",
    "ConditionalCheckFailedException",
    "HTTP400",  # a plain HTTP endpoint refusing what it was sent
    "HTTP413",
    "HTTP422",
)

# Refusals of the credentials themselves: temporary ones may just have expired.
AUTH_CODES = (
    "ExpiredTokenException",
    "ExpiredToken",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
)

# (base, cap) in milliseconds: the SDKs' DynamoDB backoff, and a slower one while blocked.
TRANSIENT_BACKOFF = (50, 20000)
BLOCKED_BACKOFF = (2000, 60000)


def is_clock_skew(err):
    if err.code not in SKEW_CODES:
        return False
    if err.code != "InvalidSignatureException":
        return True
    msg = err.message.lower()
    return "expired" in msg or "not yet current" in msg


def classify(err):
    if isinstance(err, HttpError):
        return TRANSIENT if err.retryable else BLOCKED
    if isinstance(err, Refusal):
        if is_clock_skew(err):
            return CLOCK_SKEW
        if err.retryable:
            return TRANSIENT
        if err.code in ITEM_CODES:
            return ITEM_REFUSED
    return BLOCKED


def full_jitter(ceiling, rand16=None):
    """A uniform wait in [0, ceiling] milliseconds."""
    if rand16 is None:
        rand16 = random.getrandbits(16)
    return ceiling * rand16 // 0xFFFF


def backoff_ms(attempt, policy=TRANSIENT_BACKOFF, rand16=None):
    """Full jitter: a uniform wait in [0, min(cap, base * 2**attempt)] milliseconds."""
    base, cap = policy
    return full_jitter(min(cap, base << min(attempt, 24)), rand16)


# A paced wait after a throttle is spread over [0, SPREAD x] itself, full jitter around it, so that
# devices cut to one rate at one moment do not retry in step and leave the table idle between their
# bursts; a batch sent before its tokens are there still waits for them, so on average it is about
# 1.25x longer. Twice: a wider spread refuses less and drains slower (tools/lab/fleet.md, "Why the fleet
# restarted at once drains slowest").
SPREAD = 2


def spread_ms(ms, rand16=None):
    """A uniform wait in [0, SPREAD * ms] milliseconds."""
    return full_jitter(ms * SPREAD, rand16)


# Throttling refusals: the table (or the account) is over its capacity, not the request wrong.
THROTTLE_CODES = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "HTTP429")


def is_throttling(err):
    return isinstance(err, Refusal) and err.code in THROTTLE_CODES


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
BETA = 0.7
SCALE = 0.4  # the cubic's steepness: items/s per s^3
FLAT_SCALE = 0.0001  # the steepness for a device with a long drain ahead
STEEP_S, FLAT_S = 15, 30  # backlog in seconds at the measured rate: SCALE up to STEEP_S, FLAT_SCALE from FLAT_S
MIN_RATE = 0.5  # items per second
CAP = 1.5
TAU_MS = 5000  # botocore's 0.5 s buckets fit its many requests a second, not a device's few a minute
QUIET_MS = 600000


def steepness(drain_s):
    """The cubic's steepness for a device `drain_s` seconds behind: SCALE up to STEEP_S,
    FLAT_SCALE from FLAT_S, geometric between."""
    if drain_s <= STEEP_S:
        return SCALE
    if drain_s >= FLAT_S:
        return FLAT_SCALE
    return SCALE * (FLAT_SCALE / SCALE) ** ((drain_s - STEEP_S) / (FLAT_S - STEEP_S))


class RateLimiter:
    def __init__(self, board, burst=1):
        self.board = board
        self.burst = burst  # the bucket holds at least one request's items
        self.enabled = False
        self.rate = 0.0  # the bucket's fill rate, items per second, while enabled
        self.ceiling = 0.0  # CAP x the measured rate at the last answer
        self.tokens = 0.0
        self.filled = self.last_fail = self.summed = board.ticks_ms()
        self.w_max = self.k = 0.0
        self.scale = SCALE
        self.sum = 0.0  # items sent, each weighted by exp(-its age / TAU_MS)
        self.arrivals = 0.0  # readings taken, weighted the same way
        self.arrived = self.young_at = self.summed
        # the weights a run younger than TAU_MS lacks: without them a device restarted a second
        # ago would measure its rates at a fifth of what they are (aged as the sums are)
        self.young = float(TAU_MS)

    def wait_ms(self, cost):
        """Milliseconds before a request of `cost` items may go (0: now)."""
        if not self.enabled:
            return 0
        self._refill()
        if self.tokens >= cost:
            return 0
        return int((cost - self.tokens) * 1000 / self.rate) + 1

    def sent(self, cost):
        """A request of `cost` items goes now."""
        if self.enabled:
            self._refill()
            self.tokens = max(0.0, self.tokens - cost)

    def taken(self, n):
        """`n` readings were taken since the last call."""
        now = self.board.ticks_ms()
        self.arrivals = self._aged(self.arrivals, self.arrived, now) + n
        self.arrived = now

    def _aged(self, weighted, since, now):
        """A sum of items weighted by exp(-age / TAU_MS) as of `since`, aged to `now`."""
        return weighted * exp(-max(0, self.board.ticks_diff(now, since)) / TAU_MS)

    def _weights(self, now):
        """What the weights of a steady rate sum to, in ms: TAU_MS, less in a run younger than it."""
        d = self.board.ticks_diff(now, self.young_at)
        self.young = self.young * exp(-d / TAU_MS) if d >= 0 else 0.0  # (past a ticks wrap: old)
        self.young_at = now
        return max(TAU_MS - self.young, TAU_MS / 10.0)

    def _rate(self, weighted, since, now):
        """Items per second of a sum weighted as `_aged` weights it, as of `now`."""
        return self._aged(weighted, since, now) * 1000.0 / self._weights(now)

    def measured(self, now):
        """The rate the device sends items at (items per second)."""
        return self._rate(self.sum, self.summed, now)

    def _floor(self, now):
        """MIN_RATE, or the rate readings are taken at if higher (items per second)."""
        return max(MIN_RATE, self._rate(self.arrivals, self.arrived, now))

    def answered(self, items, throttled, backlog=0):
        """The answer to a request of `items` items came: throttled (all or some) or not, with
        `backlog` readings still to send."""
        b = self.board
        now = b.ticks_ms()
        self.sum = self._aged(self.sum, self.summed, now) + items
        self.summed = now
        # the cut and the ceiling are from the sum over TAU_MS, which is low in a young run: a device
        # restarted a moment ago cuts from low
        sending = self.sum * 1000.0 / TAU_MS
        if throttled:
            if not self.enabled:
                self.enabled, self.rate, self.tokens, self.filled = True, sending, 0.0, now
        elif not self.enabled:
            return
        elif not 0 <= b.ticks_diff(now, self.last_fail) <= QUIET_MS:
            self.enabled = False
            return
        self._refill()  # the climb so far, on the curve of the last answer
        self.ceiling = CAP * sending
        if throttled:
            rate = min(sending, self.rate)
            self.w_max = rate
            self.scale = steepness(backlog / max(self.measured(now), MIN_RATE))
            self.k = (rate * (1 - BETA) / self.scale) ** (1 / 3.0)
            self.last_fail = now
            self._set(rate * BETA)
        else:
            self._set(self._curve(now))

    def _curve(self, now):
        """The cubic at `now`: BETA x w_max just after the throttle, w_max after k seconds, then up
        (never past the ceiling; its callers hold it to the floor)."""
        x = self.board.ticks_diff(now, self.last_fail) / 1000.0 - self.k
        return min(self.scale * x * x * x + self.w_max, self.ceiling)

    def _refill(self):
        now = self.board.ticks_ms()
        dt = max(0, self.board.ticks_diff(now, self.filled))
        rate = max(self.rate, min(self._curve(now), self.w_max), self._floor(now))  # up the curve, not past it
        self.tokens = min(max(rate, self.burst), self.tokens + dt * (self.rate + rate) / 2000.0)
        self.rate = rate
        self.filled = now

    def _set(self, rate):
        self.rate = max(rate, self._floor(self.board.ticks_ms()))
        self.tokens = min(self.tokens, max(self.rate, self.burst))
