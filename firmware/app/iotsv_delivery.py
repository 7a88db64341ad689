# Delivery of spooled readings to a sink (DynamoDB: a BatchWriteItem of up to 25, one when one
# waits; or an HTTP endpoint): items left unprocessed re-sent with backoff, failures handled as
# retry.classify says, an item the sink will never accept dead-lettered, and the spool
# acknowledged only for what the sink accepted. Once the sink throttles, requests are paced by
# retry.RateLimiter (adaptive=False: each request backs off alone). A batch in RAM is its records'
# seqs, with each one's dropped count and size beside it (Delivery.pending); their payloads stay
# in the spool and are read from it, one at a time, by whatever needs them (a sink hashing, then
# sending its body; the log line; a dead letter).
import sys

import iotsv_retry as retry
from iotsv_httpclient import HttpError
from iotsv_refusal import Refusal
from iotsv_transient import run

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


_print = print  # as at import: the log line's pieces all go to sys.stdout, as _write's do
if sys.implementation.name == "micropython":

    def _write(text, start=0, end=None):
        """A part of text (str or bytes) to stdout from where it lies: MicroPython's streams take
        an offset and a length, so no slice is made."""
        sys.stdout.write(text, start, (len(text) if end is None else end) - start)  # pyright: ignore[reportCallIssue]

else:

    def _write(text, start=0, end=None):
        part = text[start:end]
        sys.stdout.write(part if isinstance(part, str) else part.decode())


def _ts(sink, payload):
    """The reading's ts, off the log line's pieces: "ts=", then its text (a reading taken before
    this start: each of a deep-sleeping board's). Only those two are kept: a reading of many
    fields writes hundreds of pieces."""
    parts = []

    def keep(text, start=0, end=None):
        if len(parts) < 2:
            parts.append(text[start:end])

    sink.write_summary(payload, keep)
    return int(parts[1])


MAX_BATCH = const(25)  # BatchWriteItem's limit
MAX_BATCH_BYTES = const(8 * 1024)  # of items: what a sink that joins its body can hold (its MAX_BATCH_BYTES)
# the last readings whose taking time is kept for the latency figure, in a ring by seq made once:
# a dict grown to a backlog's size asked a board for kilobytes at once, and never shrank
TAKEN_RING = const(64)  # two and a half full batches behind: older ones print their age


class Payloads:
    """The payloads of spooled records (their seqs, in order), as a sink's send()
    takes them: read from the spool afresh each time they are iterated, one at a time, so a
    batch holds one reading's payload (each let go before the spool reads the next), however
    many it has. `last`: the seq of the payload last given. Every record from the first to the last
    is read, those between that are done with passed over; the count ends the read at the last.
    One generator, not a chain of them: each would keep a payload it passed on alive till the
    next. `lent`: the payloads may be the spool's one bytearray, good only until the next is
    taken (see Spool.each), for a sink whose send() only hashes and writes each in turn, and
    for the log line."""

    def __init__(self, spool, seqs, lent=False):
        self.spool = spool
        self.seqs = seqs
        self.lent = lent
        self.last = 0  # none given yet

    def __len__(self):
        return len(self.seqs)

    def __iter__(self):
        seqs = self.seqs
        if not seqs:
            return
        i = 0
        first, last = seqs[0], seqs[-1]
        spool = self.spool
        for payload in spool.each(last - first + 1, spool.max_bytes, first - 1, True, self.lent):
            seq = spool.at_seq
            while i < len(seqs) and seqs[i] < seq:
                i += 1  # not in the spool (cannot be, unless its flash failed): nothing to read
            if i < len(seqs) and seqs[i] == seq:
                self.last = seq
                i += 1
                yield payload
            payload = None  # dropped before the spool reads the next: one payload in RAM, not two


class Delivery:
    def __init__(self, sink, spool, clock, board, deadletter_path, adaptive=True):
        self.sink = sink
        self.spool = spool
        self.clock = clock
        self.board = board
        self.deadletter_path = deadletter_path
        self.dead_letters = (
            None  # deadletter.DeadLetters, loaded at the first: its code stays out of the heap till then
        )
        # The records loaded from the spool and not yet done: their seqs in order, and beside
        # each its dropped count and payload size. Ints in three lists made once at the batch's
        # size, not a tuple a reading: those, made among a batch's takes and freed together,
        # left 800 bytes of holes across a small heap, where the first request found no room.
        self.pending, self.drops, self.sizes = [0] * MAX_BATCH, [0] * MAX_BATCH, [0] * MAX_BATCH
        self._forget(MAX_BATCH, ())
        self.loaded_upto = spool.acked
        self.generation = spool.generation
        self.single_until = 0  # send one at a time up to this seq, to find a refused item
        self.attempt = 0  # failures in a row
        self.next_at = board.ticks_ms()
        self.failing_since = None  # ticks_ms when the first failed attempt since a success began
        self.last_error = None
        self.skew_fixes = 0
        self.delivered = self.retries = self.dead = self.dropped = 0
        self.taken = [0] * TAKEN_RING  # ticks_ms when taken, at seq % TAKEN_RING
        self.first_taken = self.last_taken = 0  # seqs noted in this run (none while 0)
        self.limiter = retry.RateLimiter(board, MAX_BATCH) if adaptive else None
        self.seen_seq = spool.last_seq  # readings taken up to here are told to the limiter
        self.max_batch = getattr(sink, "MAX_BATCH", MAX_BATCH)  # SNS's Publish: one a request
        self.max_batch_bytes = getattr(sink, "MAX_BATCH_BYTES", MAX_BATCH_BYTES)  # DynamoDB's: streamed

    def note_taken(self, seq):
        self.taken[seq % TAKEN_RING] = self.board.ticks_ms()
        self.first_taken = self.first_taken or seq
        self.last_taken = seq

    def _taken_at(self, seq):
        """ticks_ms when seq was taken in this run, None if before it or out of the ring since."""
        # with none noted last_taken is 0, below every seq
        if self.first_taken <= seq <= self.last_taken and self.last_taken - seq < TAKEN_RING:
            return self.taken[seq % TAKEN_RING]
        return None

    def has_work(self):
        return bool(self.pending) or self.spool.last_seq > max(self.loaded_upto, self.spool.acked)

    def wait_ms(self):
        """Milliseconds until the next attempt is due (0: now); None when there is no work."""
        if not self.has_work():
            return None
        return max(0, self.board.ticks_diff(self.next_at, self.board.ticks_ms()))

    def stalled_ms(self):
        """How long nothing has been delivered: from the start of the first attempt that failed
        since the last delivery (a request that hung for a minute counts its minute)."""
        if self.failing_since is None:
            return 0
        return self.board.ticks_diff(self.board.ticks_ms(), self.failing_since)

    def stall(self, limit_s):
        """The stall as printed: the measured figure, the limit it passed, and the last cause."""
        return "nothing delivered for %ds (DELIVERY_TIMEOUT_S=%s): %s" % (
            self.stalled_ms() // 1000,
            limit_s,
            self.last_error,
        )

    def step(self):
        """Make at most one request."""
        if self.spool.generation != self.generation:  # readings were dropped for room
            self.generation = self.spool.generation
            self._forget(len(self.pending), ())
            self.loaded_upto = self.spool.acked
        self._refill()
        if self.limiter is not None and self.spool.last_seq > self.seen_seq:
            self.limiter.taken(self.spool.last_seq - self.seen_seq)
            self.seen_seq = self.spool.last_seq
        if not self.pending:
            return
        first = self.pending[0]
        one = len(self.pending) == 1 or first <= self.single_until
        batch = self.pending[:1] if one else self.pending[: self.max_batch]
        if self.limiter is not None:  # paced after throttling: the batch waits for its items' tokens
            wait = self.limiter.wait_ms(len(batch))
            if wait:
                self.next_at = self.board.ticks_add(self.board.ticks_ms(), wait)
                return
            self.limiter.sent(len(batch))
        started = self.board.ticks_ms()  # a failure counts from when its attempt began
        try:
            ignored = self.sink.ignored
            lent = getattr(self.sink, "STREAMS_PAYLOADS", False)
            left = self.sink.send(Payloads(self.spool, batch, lent), batch)
        except (Refusal, HttpError) as e:
            self._failed(e, batch, started)
            return
        if self.sink.ignored > ignored:
            print("unprocessed: ignored %d listed item(s) this batch did not send" % (self.sink.ignored - ignored))
        self._succeeded(batch, left, started)

    def _refill(self):
        used = 0
        for size in self.sizes:
            used += size
        cap = self.max_batch_bytes
        if len(self.pending) < MAX_BATCH and used < cap:
            spool = self.spool
            after = max(self.loaded_upto, spool.acked)
            for size in spool.each(MAX_BATCH - len(self.pending), cap - used, after, False):
                self.pending.append(spool.at_seq)
                self.drops.append(spool.at_dropped)
                self.sizes.append(size)
                self.loaded_upto = spool.at_seq

    def _forget(self, n, kept):
        """The first n records done with, but for those whose seqs are in `kept`, which stay
        first in their order; returns the dropped count of those that went. In place: each list
        keeps its room (del of a slice does not shrink it)."""
        pending, drops, sizes = self.pending, self.drops, self.sizes
        k = dropped = 0
        for i in range(n):
            if pending[i] in kept:
                pending[k], drops[k], sizes[k] = pending[i], drops[i], sizes[i]
                k += 1
            else:
                dropped += drops[i]
        del pending[k:n], drops[k:n], sizes[k:n]
        return dropped

    def _ack(self):
        self.spool.ack(self.pending[0] - 1 if self.pending else self.loaded_upto)

    def _succeeded(self, batch, left, started):
        now = self.board.ticks_ms()
        # the batch is pending's head: what the sink left stays first, in order; the rest goes
        self.dropped += self._forget(len(batch), left)
        done = [seq for seq in batch if seq not in left] if left else batch
        read = Payloads(self.spool, done, True)  # read again: a batch's payloads are not kept
        for payload in read:
            self._print_delivered(read.last, payload, now)
        self.delivered += len(done)
        self._ack()
        if done:
            self.failing_since = None
        self.skew_fixes = 0
        if self.limiter is not None:
            self.limiter.answered(len(batch), bool(left), self.queued())
        if left:  # throttled within the batch: re-send the rest after a backoff
            self.retries += 1
            delay = self._throttled_ms(len(left))
            self.attempt += 1
            self.next_at = self.board.ticks_add(now, delay)
            if self.failing_since is None and not done:
                self.failing_since = started
            print("unprocessed: DynamoDB left %d of %d items; re-sending in %d ms" % (len(left), len(batch), delay))
        else:
            self.attempt = 0
            self.next_at = now
        if done:
            print(
                "batch: delivered %d (seq %d-%d) queued %d retries %d dropped %d clock_offset_s %+d"
                % (len(done), done[0], done[-1], self.queued(), self.retries, self.dropped, self.clock.offset)
            )

    def queued(self):
        """Readings taken and not yet delivered."""
        return len(self.pending) + max(0, self.spool.last_seq - max(self.loaded_upto, self.spool.acked))

    def _print_delivered(self, seq, payload, now):
        """delivered seq=N ts=... name=value ... latency_ms=N, written in pieces: one line a
        reading, and formatted whole it would be a string per reading and one per piece."""
        taken = self._taken_at(seq)
        if taken is not None:
            when, n = " latency_ms=", self.board.ticks_diff(now, taken)
        else:  # taken before this start: only its age is known
            when, n = " age_s=", int(self.clock.now() - _ts(self.sink, payload))
        _write("delivered seq=")
        _print(seq, end="")
        _write(" ")
        self.sink.write_summary(payload, _write)
        _write(when)
        _print(n)

    def _throttled_ms(self, cost):
        """The wait after throttling: the rate limiter's for `cost` items, spread (retry.SPREAD;
        full jitter under 50 ms at least), or without one the backoff of the failures in a row.
        Spread because devices cut to one rate at one moment (a fleet restarted at once) would
        retry in step: the table took the same few of each burst and idled between (simulated, a
        restarted fleet's one-minute drain took 1.5x its floor; spread, 1.2x)."""
        if self.limiter is None:
            return retry.backoff_ms(self.attempt)
        return max(retry.spread_ms(self.limiter.wait_ms(cost)), retry.backoff_ms(0))

    def _failed(self, err, batch, started):
        """A request that failed: iotsv_deliveryrare's, loaded for the call (see there); handed
        Payloads, as it may not import this module back."""
        run("iotsv_deliveryrare", "failed", self, err, batch, started, Payloads)
