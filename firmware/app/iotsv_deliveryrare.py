# Delivery's rarely run code (iotsv_delivery): what follows a failed request (the retry's wait,
# a clock correction, the refused item found and dead-lettered). iotsv_delivery loads this module
# for the call and drops it after (iotsv_transient), so between readings its code is not in the
# heap. Each function works on the Delivery it is handed.
import iotsv_retry as retry
from iotsv_refusal import Refusal
from iotsv_transient import hold

MAX_SKEW_FIXES = 3  # clock corrections in a row before the refusal is treated as transient


def failed(d, err, batch, started, payloads):
    """The request for batch, begun at `started` (ticks_ms), failed with err: its wait set, as
    retry.classify says; a refused item is sent alone till it is found, then dead-lettered
    (`payloads`: iotsv_delivery's Payloads, which reads it from the spool)."""
    kinds = hold("iotsv_retrykind")  # classify and the kinds retry reads through: loaded once here
    now = d.board.ticks_ms()
    throttled = d.limiter is not None and kinds.is_throttling(err)
    if not throttled:  # a throttling answer came whole: its connection goes on
        d.sink.conn.close()  # a failed connection is never reused
    d.last_error = err
    if d.failing_since is None:
        d.failing_since = started
    kind = kinds.classify(err)
    if kind == kinds.CLOCK_SKEW and d.skew_fixes < MAX_SKEW_FIXES and d.clock.correct(err.date):
        d.skew_fixes += 1
        print(
            "clock: refused as off by more than the server allows (%s); offset now %+ds, re-signing"
            % (err.code, d.clock.offset)
        )
        d.next_at = now
        return
    d.retries += 1
    if kind == kinds.ITEM_REFUSED:
        if len(batch) > 1:
            d.single_until = batch[-1]
            print("refused: %s; sending seq %d-%d one by one to find the item" % (err, batch[0], batch[-1]))
        else:
            dead_letter(d, batch[0], err, payloads)
        d.next_at = now
        return
    if kind == kinds.BLOCKED and isinstance(err, Refusal) and err.code in kinds.AUTH_CODES and d.sink.auth_refused():
        delay = retry.backoff_ms(d.attempt)
        print("credentials: refused (%s); fetching new ones, retrying in %d ms" % (err.code, delay))
    elif kind == kinds.BLOCKED:
        delay = retry.backoff_ms(d.attempt, retry.BLOCKED_BACKOFF)
        print(
            "blocked: %s; %d reading(s) kept in the spool; retrying in %d s"
            % (err, d.spool.count, (delay + 999) // 1000)
        )
    elif throttled and d.limiter is not None:  # (throttled holds only with a limiter)
        d.limiter.answered(len(batch), True, d.queued())
        delay = d._throttled_ms(len(batch))
        print("throttled: %s; sending at %.1f items/s, next in %d ms" % (err.code, d.limiter.rate, delay))
    else:
        delay = retry.backoff_ms(d.attempt)
        print("retry: %s; in %d ms" % (err, delay))
    d.attempt += 1
    d.next_at = d.board.ticks_add(now, delay)


def dead_letter(d, seq, err, payloads):
    """The reading seq (pending's first) refused for good: kept in the dead letters,
    acknowledged (its payload read by `payloads`, iotsv_delivery's Payloads)."""
    if d.dead_letters is None:
        from iotsv_deadletter import DeadLetters

        d.dead_letters = DeadLetters(d.deadletter_path)
    for payload in payloads(d.spool, [seq]):
        d.dead_letters.add(seq, err, d.sink.decode(payload))
    d.dropped += d._forget(1, ())
    d.single_until = 0  # found it: batch the rest again (one more bad item repeats this)
    d.dead += 1
    d._ack()
