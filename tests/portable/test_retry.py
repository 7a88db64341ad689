# The retry classifier for every error code we know, and the bounds of the backoff.
import sys

import iotsv_ratecurve as curve
import iotsv_retry as retry
from iotsv_dynamodb import DynamoDBError
from iotsv_httpclient import ConnectError, HttpTimeout, ProtocolError, ResponseTooLarge, TlsError


def err(code, status=400, message="m"):
    return DynamoDBError(code, message, status)


def test_every_code_is_classified():
    cases = (
        (err("ThrottlingException"), retry.TRANSIENT),
        (err("ProvisionedThroughputExceededException"), retry.TRANSIENT),
        (err("RequestLimitExceeded"), retry.TRANSIENT),
        (err("TransactionInProgressException"), retry.TRANSIENT),
        (err("InternalServerError", 500), retry.TRANSIENT),
        (err("ServiceUnavailable", 503), retry.TRANSIENT),
        (err("HTTP502", 502), retry.TRANSIENT),
        (err("HTTP429", 429), retry.TRANSIENT),
        (err("CRC32Mismatch", 200), retry.TRANSIENT),
        (ConnectError("refused"), retry.TRANSIENT),
        (HttpTimeout("slow"), retry.TRANSIENT),
        (ProtocolError("truncated"), retry.TRANSIENT),
        (
            err("InvalidSignatureException", 400, "Signature expired: 20261123T034101Z is now earlier than ..."),
            retry.CLOCK_SKEW,
        ),
        (err("InvalidSignatureException", 400, "Signature not yet current: ..."), retry.CLOCK_SKEW),
        (err("RequestTimeTooSkewed", 403), retry.CLOCK_SKEW),
        (err("InvalidSignatureException", 400, "The request signature we calculated does not match"), retry.BLOCKED),
        (err("ValidationException"), retry.ITEM_REFUSED),
        (err("ItemCollectionSizeLimitExceededException"), retry.ITEM_REFUSED),
        (err("SignatureDoesNotMatch", 403), retry.BLOCKED),
        (err("UnrecognizedClientException"), retry.BLOCKED),
        (err("InvalidClientTokenId", 403), retry.BLOCKED),
        (err("AccessDeniedException"), retry.BLOCKED),
        (err("ExpiredTokenException"), retry.BLOCKED),
        (err("ResourceNotFoundException"), retry.BLOCKED),
        (TlsError("bad certificate"), retry.BLOCKED),
        (ResponseTooLarge("huge"), retry.BLOCKED),
    )
    for e, kind in cases:
        assert retry.classify(e) == kind, (str(e), retry.classify(e), kind)


def test_backoff_is_full_jitter_under_a_capped_exponential():
    for policy in (retry.TRANSIENT_BACKOFF, retry.BLOCKED_BACKOFF):
        base, cap = policy
        for attempt in range(40):
            ceiling = min(cap, base * 2**attempt)
            assert retry.backoff_ms(attempt, policy, 0) == 0
            assert retry.backoff_ms(attempt, policy, 0xFFFF) == ceiling
            for _ in range(20):
                assert 0 <= retry.backoff_ms(attempt, policy) <= ceiling


def test_backoff_spreads_out():
    waits = set(retry.backoff_ms(10) for _ in range(50))
    assert len(waits) > 10  # jitter, not a fixed delay


def test_a_paced_wait_after_a_throttle_is_spread_from_none_to_spread_times_it():
    assert retry.spread_ms(7143, 0) == 0
    assert retry.spread_ms(7143, 0xFFFF) == int(7143 * retry.SPREAD)
    assert retry.spread_ms(0) == 0
    waits = [retry.spread_ms(7143) for _ in range(200)]
    assert all(0 <= w <= 7143 * retry.SPREAD for w in waits)
    assert len(set(waits)) > 100  # devices cut to one rate at once no longer retry in step
    assert 0.8 * 7143 * retry.SPREAD / 2 < sum(waits) / len(waits) < 1.2 * 7143 * retry.SPREAD / 2


def test_a_408_from_dynamodb_is_transient_not_blocking():
    from iotsv_dynamodb import error_from_response

    assert retry.classify(error_from_response(408, b"")) == retry.TRANSIENT


class Clock:
    """A board's ticks driven by hand; with `wrap`, they wrap as MicroPython's do (2**30 ms)."""

    def __init__(self, ms=1000, wrap=None):
        self.ms, self.wrap = ms, wrap

    def ticks_ms(self):
        return self.ms

    def ticks_add(self, a, d):
        return (a + d) % self.wrap if self.wrap else a + d

    def ticks_diff(self, a, b):
        if not self.wrap:
            return a - b
        half = self.wrap // 2
        return ((a - b + half) % self.wrap) - half

    def advance(self, ms):
        self.ms = self.ticks_add(self.ms, ms)


def send_at(limiter, clock, items, every_ms, n, throttled=False):
    """n requests of `items` items every `every_ms`, each answered at once."""
    for _ in range(n):
        clock.advance(every_ms)
        limiter.sent(items)
        limiter.answered(items, throttled)


def test_throttling_codes():
    for code in ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"):
        assert retry.is_throttling(err(code))
    assert retry.is_throttling(err("HTTP429", 429))
    for e in (err("InternalServerError", 500), err("ValidationException"), ConnectError("refused")):
        assert not retry.is_throttling(e)


def test_the_limiter_changes_nothing_until_throttled():
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    for items, every in ((1, 1000), (25, 10), (25, 0)):
        for _ in range(50):
            assert lim.wait_ms(items) == 0
            send_at(lim, clock, items, every, 1)
    assert not lim.enabled


def test_a_throttle_cuts_the_rate_to_beta_of_the_measured_rate():
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    send_at(lim, clock, 25, 5000, 20)  # 5 items/s for 100 s: the measured rate settles near it
    sending = curve.measured(lim, clock.ms)
    assert 4 < sending < 8, sending
    send_at(lim, clock, 25, 5000, 1, throttled=True)
    assert lim.enabled
    assert abs(lim.rate - retry.BETA * lim.w_max) < 1e-6 and lim.w_max > 4
    # the throttled request paid for its items: the next batch waits for the bucket to refill
    wait = lim.wait_ms(25)
    assert abs(wait - 25000 / lim.rate) <= 2, (wait, lim.rate)
    clock.advance(wait)
    assert lim.wait_ms(25) == 0


def test_throttles_in_a_row_shrink_it_to_the_floor_and_no_further():
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    rates = []
    for _ in range(30):
        send_at(lim, clock, 25, 10, 1, throttled=True)  # faster than the curve climbs back
        rates.append(lim.rate)
    assert all(b <= a for a, b in zip(rates, rates[1:])), rates
    assert rates[-1] == retry.MIN_RATE
    assert lim.wait_ms(25) <= 25000 / retry.MIN_RATE + 1


def test_a_throttle_after_the_climb_back_cuts_from_where_the_curve_got_to():
    # throttled, then again once the curve is back at the rate of the first throttle, with no
    # success between: the cut is from that rate, not from the first cut (which compounded
    # throttles minutes apart down to MIN_RATE)
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    send_at(lim, clock, 25, 1000, 10)
    send_at(lim, clock, 25, 1000, 1, throttled=True)
    w_max, k = lim.w_max, lim.k
    clock.advance(int(k * 1000) + 50)
    assert lim.wait_ms(0) == 0 and abs(lim.rate - w_max) < 0.01  # climbed back while waiting
    clock.advance(60000)
    assert lim.wait_ms(0) == 0 and lim.rate <= w_max + 1e-6  # no further: it probes by sending
    lim.sum, lim.summed = 1e6, clock.ms  # a measured rate far above the curve: the curve decides
    lim.answered(25, True)
    assert abs(lim.w_max - w_max) < 0.01 and abs(lim.rate - retry.BETA * w_max) < 0.01


def test_it_recovers_along_a_cubic_flat_near_the_rate_it_was_throttled_at():
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    send_at(lim, clock, 25, 1000, 10)  # sending 25 items/s
    send_at(lim, clock, 25, 1000, 1, throttled=True)
    w_max, k = lim.w_max, lim.k
    assert k > 1
    lim.sum = 1e6  # a measured rate far above the curve: the cubic alone decides below
    seen = []
    for ms in (100, int(k * 1000), int(k * 1000) + 900, int((k + 5) * 1000)):
        clock.ms = lim.last_fail + ms
        lim.answered(0, False)
        seen.append(lim.rate)
    assert seen[0] < w_max and abs(seen[1] - w_max) < 0.01 and seen[2] - w_max < 0.4
    assert seen[3] > w_max + 40  # past the plateau it probes upwards
    assert seen == sorted(seen)


def test_it_never_climbs_past_cap_times_the_measured_rate():
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    send_at(lim, clock, 25, 1000, 10)
    send_at(lim, clock, 25, 1000, 1, throttled=True)
    for _ in range(20):
        send_at(lim, clock, 1, 1000, 1)  # one item a second now, well after the plateau
        assert lim.rate <= retry.CAP * curve.measured(lim, clock.ms) + 1e-6


def test_it_never_paces_below_the_rate_readings_are_taken_at():
    # a device taking 100 readings a second, throttled again and again: paced below 100 items a
    # second, its spool would fill and drop readings
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    for _ in range(200):
        clock.advance(250)
        lim.taken(25)
        lim.sent(25)
        lim.answered(25, True)
    assert lim.enabled and 90 < lim.rate < 110, lim.rate
    assert lim.wait_ms(25) <= 25000 / 90 + 1
    # readings stop coming: the floor falls back to MIN_RATE as they age, and throttles cut below 90
    for _ in range(60):
        clock.advance(1000)
        lim.answered(25, True)
    assert curve.floor(lim, clock.ms) == retry.MIN_RATE and lim.rate < 10, lim.rate


def test_a_device_restarted_a_second_ago_measures_its_rates_as_they_are():
    # killed and restarted, a device's sums start empty: its floor must not sit at a fifth of the
    # rate it takes readings at for the first seconds (the chaos run restarts every few seconds),
    # nor the seconds its backlog takes be counted at a fifth of the rate it sends at
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    for _ in range(10):
        clock.advance(100)
        lim.taken(10)  # 100 readings a second
        lim.answered(10, False)  # and as many items sent
    assert 95 < curve.floor(lim, clock.ms) < 105, curve.floor(lim, clock.ms)
    assert 95 < curve.measured(lim, clock.ms) < 105, curve.measured(lim, clock.ms)
    lim.answered(10, True, 300)  # 3 s behind at 100 items/s (not 15 s at the 20 of 5 s): botocore's climb
    assert lim.scale == retry.SCALE, lim.scale
    clock.advance(4 * retry.TAU_MS)
    assert curve.floor(lim, clock.ms) == retry.MIN_RATE  # stopped long ago: back to the least rate


def test_the_climb_is_botocores_near_caught_up_and_flat_with_a_long_drain_ahead():
    assert retry.steepness(0) == retry.steepness(retry.STEEP_S) == retry.SCALE
    assert retry.steepness(retry.FLAT_S) == retry.steepness(3600) == retry.FLAT_SCALE
    mid = [retry.steepness(s) for s in range(retry.STEEP_S, retry.FLAT_S + 1)]
    assert mid == sorted(mid, reverse=True)
    climbs = []
    for backlog in (0, 1000):  # 5 items/s measured: 0 s and 200 s of backlog
        clock = Clock()
        lim = retry.RateLimiter(clock, 25)
        send_at(lim, clock, 25, 5000, 20)
        lim.answered(25, True, backlog)
        w_max = lim.w_max
        lim.sum = 1e6  # a measured rate far above the curve: the cubic alone decides
        clock.advance(10000)
        lim.answered(0, False, backlog)
        climbs.append((lim.k, lim.rate / w_max))
    (k_near, near), (k_far, far) = climbs
    assert k_near < 3 and near > 10, climbs  # back in two seconds, then probing far above
    assert k_far > 20 and far < 1, climbs  # still below the rate it was throttled at


def test_quiet_for_long_it_steps_aside():
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    send_at(lim, clock, 25, 1000, 1, throttled=True)
    assert lim.enabled
    send_at(lim, clock, 1, retry.QUIET_MS + 1, 1)
    assert not lim.enabled and lim.wait_ms(25) == 0


def test_the_limiter_is_right_across_a_ticks_wrap():
    wrap = 2**30
    for start in (wrap - 3000, wrap - 1):
        clock = Clock(start, wrap)
        lim = retry.RateLimiter(clock, 25)
        send_at(lim, clock, 25, 1000, 5)
        send_at(lim, clock, 25, 1000, 1, throttled=True)
        wait = lim.wait_ms(25)
        assert 0 < wait <= 25000 / retry.MIN_RATE + 1
        clock.advance(wait)
        assert lim.wait_ms(25) == 0  # the refill counted across the wrap, not a negative interval
        send_at(lim, clock, 25, 100, 1)
        assert retry.MIN_RATE <= lim.rate < 100 and lim.enabled


def test_the_pacing_code_is_in_the_heap_only_while_the_limiter_paces():
    sys.modules.pop("iotsv_ratecurve", None)
    clock = Clock()
    lim = retry.RateLimiter(clock, 25)
    send_at(lim, clock, 25, 1000, 5)
    assert lim.curve is None and "iotsv_ratecurve" not in sys.modules  # never throttled: never loaded
    send_at(lim, clock, 25, 1000, 1, throttled=True)
    assert lim.curve is not None and lim.curve.BETA == retry.BETA  # held by the limiter alone
    assert "iotsv_ratecurve" not in sys.modules
    send_at(lim, clock, 1, retry.QUIET_MS + 1, 1)
    assert lim.curve is None and not lim.enabled  # stepped aside: let go


def test_which_kind_of_failure_is_read_through_retry_and_not_kept():
    sys.modules.pop("iotsv_retrykind", None)
    assert retry.classify(err("ValidationException")) == retry.ITEM_REFUSED
    assert "ExpiredTokenException" in retry.AUTH_CODES and retry.is_throttling(err("HTTP429", 429))
    assert "iotsv_retrykind" not in sys.modules


def test_retry_reads_through_only_the_names_its_rare_modules_have():
    import iotsv_retrykind as kind

    assert all(hasattr(kind, n) for n in retry._KINDS) and all(hasattr(curve, n) for n in retry._CURVE)
    assert not hasattr(retry, "NO_SUCH_NAME")  # answered without loading either module
