# What to do after a failed request, decided as the AWS SDKs decide it for DynamoDB (the kinds of
# failure and which kind a failure is, iotsv_retrykind's, read through here), and how long to
# wait: capped exponential backoff with full jitter, and the rate limiter's pacing after a throttle.
import random
from math import exp

from iotsv_transient import hold

# (base, cap) in milliseconds: the SDKs' DynamoDB backoff, and a slower one while blocked.
TRANSIENT_BACKOFF = (50, 20000)
BLOCKED_BACKOFF = (2000, 60000)


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


# Rate adaptation after throttling, in the spirit of botocore's adaptive retry mode (CUBIC): the
# limiter measures the rates items are sent and readings taken at all the time (cheap: two sums);
# how it paces once throttled, and why, is iotsv_ratecurve's, loaded at a throttle and held only
# while it paces. Its constants (BETA, SCALE, MIN_RATE, ...) and steepness() are read here too.
TAU_MS = 5000  # botocore's 0.5 s buckets fit its many requests a second, not a device's few a minute


# Read through this module (loaded when asked for, see __getattr__): the kinds of failure and what
# kind one was (iotsv_retrykind), asked only after a failure, and the limiter's pacing constants
# and steepness() (iotsv_ratecurve). Named here: a name neither has is no reason to load one.
_KINDS = (
    "TRANSIENT",
    "CLOCK_SKEW",
    "ITEM_REFUSED",
    "BLOCKED",
    "classify",
    "is_throttling",
    "is_clock_skew",
    "SKEW_CODES",
    "ITEM_CODES",
    "AUTH_CODES",
    "THROTTLE_CODES",
)
_CURVE = ("BETA", "SCALE", "FLAT_SCALE", "STEEP_S", "FLAT_S", "MIN_RATE", "CAP", "QUIET_MS", "steepness")


def __getattr__(name):
    """iotsv_retrykind's or iotsv_ratecurve's `name`: neither module is in the heap between
    requests that succeed (what is read here keeps its module only while it is held)."""
    if name in _KINDS:
        return getattr(hold("iotsv_retrykind"), name)
    if name in _CURVE:
        return getattr(hold("iotsv_ratecurve"), name)
    raise AttributeError(name)


class RateLimiter:
    TAU_MS = TAU_MS  # for iotsv_ratecurve, which reads it off the limiter it is handed

    def __init__(self, board, burst=1):
        self.board = board
        self.burst = burst  # the bucket holds at least one request's items
        self.enabled = False
        self.curve = None  # iotsv_ratecurve while it paces: its code is in the heap only then
        self.rate = 0.0  # the bucket's fill rate, items per second, while enabled
        self.ceiling = 0.0  # CAP x the measured rate at the last answer
        self.tokens = 0.0
        self.filled = self.last_fail = self.summed = board.ticks_ms()
        self.w_max = self.k = 0.0
        self.scale = 0.0  # the cubic's steepness, set at each throttle (ratecurve.steepness)
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
        return self.curve.wait_ms(self, cost)  # pyright: ignore[reportOptionalMemberAccess]  # held while enabled

    def sent(self, cost):
        """A request of `cost` items goes now."""
        if self.enabled:
            self.curve.sent(self, cost)  # pyright: ignore[reportOptionalMemberAccess]  # held while enabled

    def taken(self, n):
        """`n` readings were taken since the last call."""
        now = self.board.ticks_ms()
        self.arrivals = self._aged(self.arrivals, self.arrived, now) + n
        self.arrived = now

    def _aged(self, weighted, since, now):
        """A sum of items weighted by exp(-age / TAU_MS) as of `since`, aged to `now`."""
        return weighted * exp(-max(0, self.board.ticks_diff(now, since)) / TAU_MS)

    def answered(self, items, throttled, backlog=0):
        """The answer to a request of `items` items came: throttled (all or some) or not, with
        `backlog` readings still to send."""
        now = self.board.ticks_ms()
        self.sum = self._aged(self.sum, self.summed, now) + items
        self.summed = now
        if not (throttled or self.enabled):
            return
        if self.curve is None:
            self.curve = hold("iotsv_ratecurve")
        if not self.curve.answered(self, now, throttled, backlog):
            self.curve = None  # quiet for long: it steps aside, and its code leaves the heap
