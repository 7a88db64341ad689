# The delivery engine with a scripted client, a real spool and a hand-driven clock.
import json
import random

import iotsv_delivery as delivery
import iotsv_dynamodb as dynamodb
import iotsv_retry as retry
from iotsv_clock import Clock
from iotsv_delivery import Delivery
from iotsv_dynamodb import DynamoDBError
from iotsv_httpclient import ConnectError
from iotsv_httpdate import http_date
from iotsv_spool import Spool
from iotsv_spoolrecord import MIN_BUDGET
from portable import NOW, Board, fresh, reading


class Conn:
    closed = 0

    def close(self):
        self.closed += 1


class Sink(dynamodb.Sink):
    """The DynamoDB sink (its payload reading: decode, summary) with a scripted send: each send
    takes the next outcome: an exception to raise, a list of seqs to leave unprocessed, or None
    for success; a seq in `refuse` fails any batch that holds it."""

    def __init__(self, script=(), refuse=()):
        self.script = list(script)
        self.refuse = refuse
        self.calls = []
        self.conn = Conn()
        self.credentials = None
        self.ignored = 0

    def send(self, payloads, sent=None):  # each payload read in turn, as STREAMS_PAYLOADS promises
        seqs = [int(json.loads(bytes(p))["seq"]["N"]) for p in payloads]
        self.calls.append(("PutItem" if len(seqs) == 1 else "BatchWriteItem", seqs))
        for s in seqs:
            if s in self.refuse:
                raise DynamoDBError("ValidationException", "item %d is bad" % s, 400)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome or []


def setup(name, n, script=(), refuse=()):
    d = fresh(name)
    sp = Spool(d, 64 * 1024)
    for _ in range(n):
        sp.append(reading)
    board = Board()
    sink = Sink(script, refuse)
    return Delivery(sink, sp, Clock(board, d), board, d + "/deadletter.jsonl"), sink, sp, board


def run_until_idle(dl, board, limit=100):
    for _ in range(limit):
        w = dl.wait_ms()
        if w is None:
            return
        board.ms += w
        dl.step()
    raise AssertionError("still busy")


def test_batches_of_25_then_the_rest():
    dl, client, sp, board = setup("dl-batch", 30)
    run_until_idle(dl, board)
    assert [(op, len(s)) for op, s in client.calls] == [("BatchWriteItem", 25), ("BatchWriteItem", 5)]
    assert sp.count == 0 and sp.acked == 30 and dl.delivered == 30


def test_each_delivered_reading_is_one_log_line_written_in_pieces():
    out = []

    def write(text, start=0, end=None):
        part = text[start:end]
        out.append(part if isinstance(part, str) else part.decode())

    def print_(n, end="\n"):
        out.append("%d%s" % (n, end))

    real = delivery._write, delivery._print
    delivery._write, delivery._print = write, print_
    try:
        dl, _, _, board = setup("dl-log", 3)
        dl.note_taken(2)  # 1 and 3: taken before this start, only their age is known
        board.epoch = NOW + 42
        board.ms += 7
        run_until_idle(dl, board)
    finally:
        delivery._write, delivery._print = real
    assert "".join(out).split("\n") == [
        "delivered seq=1 ts=1795412461 v=10 age_s=42",
        "delivered seq=2 ts=1795412461 v=20 latency_ms=7",
        "delivered seq=3 ts=1795412461 v=30 age_s=42",
        "",
    ], out


def test_the_latency_of_the_last_readings_taken_is_kept_in_a_ring_made_once():
    dl, _, _, board = setup("dl-ring", 1)
    ring = dl.taken
    first = 5
    last = first + delivery.TAKEN_RING + 9  # a backlog longer than the ring
    for seq in range(first, last + 1):
        dl.note_taken(seq)
        board.ms += 1
    assert dl.taken is ring and len(ring) == delivery.TAKEN_RING  # nothing grows with the backlog
    assert dl._taken_at(last) == board.ms - 1
    assert dl._taken_at(last - delivery.TAKEN_RING + 1) == board.ms - delivery.TAKEN_RING
    assert dl._taken_at(last - delivery.TAKEN_RING) is None  # its slot holds a newer reading's time
    assert dl._taken_at(first - 1) is None and dl._taken_at(last + 1) is None


def test_one_waiting_reading_goes_as_put_item():
    dl, client, sp, board = setup("dl-one", 1)
    run_until_idle(dl, board)
    assert client.calls == [("PutItem", [1])]


def test_unprocessed_items_are_resent_after_a_backoff_and_ack_waits_for_them():
    dl, client, sp, board = setup("dl-unproc", 5, script=[[2, 4]])
    dl.limiter = None  # without adaptation; with it, see test_unprocessed_items_are_paced_by_the_limiter
    dl.step()
    assert sp.acked == 1 and dl.pending == [2, 4]
    assert dl.retries == 1 and 0 <= dl.wait_ms() <= retry.TRANSIENT_BACKOFF[0]
    run_until_idle(dl, board)
    assert client.calls[1] == ("BatchWriteItem", [2, 4])
    assert sp.acked == 5 and sp.count == 0 and dl.delivered == 5


def test_refused_item_is_dead_lettered_and_never_blocks_the_rest():
    dl, client, sp, board = setup("dl-dead", 6, refuse=(3,))
    run_until_idle(dl, board)
    assert client.calls[0] == ("BatchWriteItem", [1, 2, 3, 4, 5, 6])
    assert [c for c in client.calls[1:4]] == [("PutItem", [1]), ("PutItem", [2]), ("PutItem", [3])]
    assert client.calls[-1] == ("BatchWriteItem", [4, 5, 6])  # batching again after the bad one
    assert sp.count == 0 and dl.dead == 1 and dl.delivered == 5
    with open(dl.deadletter_path) as f:
        lines = [json.loads(line) for line in f]
    assert len(lines) == 1 and lines[0]["seq"] == 3 and "ValidationException" in lines[0]["error"]
    assert lines[0]["item"]["seq"] == "3"


def test_auth_failure_keeps_everything_and_waits_longer():
    dl, client, sp, board = setup("dl-auth", 3, script=[DynamoDBError("SignatureDoesNotMatch", "bad", 403)] * 2)
    dl.step()
    assert sp.count == 3 and sp.acked == 0 and dl.failing_since == board.ms
    assert client.conn.closed == 1  # re-opened after any failure
    assert dl.wait_ms() <= retry.BLOCKED_BACKOFF[0]
    board.ms += 5000
    dl.step()
    assert dl.stalled_ms() == 5000 and dl.wait_ms() <= 2 * retry.BLOCKED_BACKOFF[0]
    run_until_idle(dl, board)
    assert sp.count == 0 and dl.failing_since is None and dl.attempt == 0


def test_transient_failures_back_off_exponentially():
    dl, client, sp, board = setup("dl-transient", 2, script=[ConnectError("refused")] * 4)
    bounds = []
    for _ in range(4):
        dl.step()
        bounds.append(dl.wait_ms())
        board.ms += dl.wait_ms()
    for attempt, w in enumerate(bounds):
        assert 0 <= w <= retry.TRANSIENT_BACKOFF[0] << attempt
    run_until_idle(dl, board)
    assert sp.count == 0 and dl.retries == 4


def test_clock_skew_is_corrected_from_the_date_header_and_kept():
    skewed = DynamoDBError(
        "InvalidSignatureException", "Signature expired: 20261123T074101Z is now later than ...", 400
    )
    skewed.date = http_date(NOW)
    dl, client, sp, board = setup("dl-clock", 1, script=[skewed])
    board.epoch = NOW + 7200  # the device runs two hours ahead
    dl.step()
    assert dl.clock.offset == -7200 and dl.wait_ms() == 0
    assert abs(dl.clock.now() - NOW) <= 1
    dl.step()
    assert sp.count == 0
    assert Clock(board, sp.path.rsplit("/", 1)[0]).offset == -7200  # persisted for the next start


def test_clock_skew_without_date_is_retried_as_transient():
    skewed = DynamoDBError("RequestTimeTooSkewed", "too skewed", 403)
    dl, client, sp, board = setup("dl-nodate", 1, script=[skewed])
    dl.step()
    assert dl.clock.offset == 0 and dl.retries == 1 and sp.count == 1


def test_readings_dropped_for_room_are_not_sent():
    dl, client, sp, board = setup("dl-gen", 3, script=[ConnectError("down")])
    dl.step()  # loads 1..3, fails
    sp.generation += 1  # as after a drop: the sender must re-read the spool
    sp.ack(2)
    board.ms += 10000
    dl.step()
    assert client.calls[-1] == ("PutItem", [3])


def test_readings_dropped_for_room_are_counted_once_through_a_partial_batch_and_a_dead_letter():
    """Each record carries the count dropped just before it: counted when it is done with,
    whether delivered or dead-lettered, and not while the sink has left it to send again."""
    d = fresh("dl-dropped")
    sp = Spool(d, MIN_BUDGET)
    for _ in range(40):
        sp.append(
            lambda seq, dropped: (
                '{"seq":{"N":"%d"},"ts":{"N":"%d"},"pad":{"S":"%s"}}' % (seq, NOW, "x" * 900)
            ).encode()
        )
    records = [(seq, dropped) for seq, dropped, _ in sp.read(100, 1 << 30)]
    carriers = [seq for seq, dropped in records if dropped]
    assert len(carriers) > 1 and sum(dropped for _, dropped in records) == 40 - len(records)
    board = Board()
    sink = Sink(script=[[carriers[0]]], refuse=(carriers[-1],))  # left once, then refused for good
    dl = Delivery(sink, sp, Clock(board, d), board, d + "/deadletter.jsonl")
    run_until_idle(dl, board)
    assert [s for _, seqs in sink.calls for s in seqs].count(carriers[0]) >= 2  # it was left, then sent
    assert sp.count == 0 and dl.dead == 1 and dl.delivered == len(records) - 1
    assert dl.dropped == 40 - len(records)


class SlowSink(Sink):
    """A sink whose every send takes `ms` of the board's time before its outcome."""

    def __init__(self, board, ms, script=()):
        Sink.__init__(self, script)
        self.board, self.ms = board, ms

    def send(self, payloads, sent=None):
        self.board.ms += self.ms
        return Sink.send(self, payloads)


def test_stall_counts_from_the_start_of_the_first_failed_attempt():
    dl, _, sp, board = setup("dl-stall", 2)
    slow = SlowSink(board, 20000, [ConnectError("hung")] * 2)
    dl.sink = slow
    board.ms += 60000  # idle time before the first attempt is no stall
    started = board.ms
    dl.step()  # the request hangs 20 s, then fails
    assert dl.failing_since == started and dl.stalled_ms() == 20000
    board.ms += dl.wait_ms()
    dl.step()  # a second one: the stall runs on from the first
    assert dl.stalled_ms() == board.ms - started >= 40000
    assert dl.stall(15) == "nothing delivered for %ds (DELIVERY_TIMEOUT_S=15): hung" % (dl.stalled_ms() // 1000)
    run_until_idle(dl, board)  # delivered: no stall any more
    assert dl.stalled_ms() == 0 and sp.count == 0


def test_stall_after_a_delivery_counts_from_the_next_failure_not_the_delivery():
    dl, _, sp, board = setup("dl-stall-again", 1)
    slow = SlowSink(board, 5000, [None, ConnectError("down")])
    dl.sink = slow
    dl.step()  # delivered after 5 s
    sp.append(reading)
    board.ms += 30000  # the next reading waits 30 s before its attempt
    started = board.ms
    dl.step()
    assert dl.failing_since == started and dl.stalled_ms() == 5000


def test_unprocessed_batch_counts_its_stall_from_its_start():
    dl, _, sp, board = setup("dl-stall-unproc", 3)
    slow = SlowSink(board, 7000, [[1, 2, 3]])
    dl.sink = slow
    started = board.ms
    dl.step()
    assert dl.failing_since == started and dl.stalled_ms() == 7000


def throttle():
    return DynamoDBError("ProvisionedThroughputExceededException", "over the table's capacity", 400)


def test_unthrottled_the_limiter_sends_exactly_as_without_it():
    runs = []
    for adaptive in (True, False):
        script = [None, ConnectError("x"), DynamoDBError("InternalServerError", "oops", 500), None]
        dl, client, sp, board = setup("dl-same-%s" % adaptive, 80, script=script)
        if not adaptive:
            dl.limiter = None
        retry.random.seed(5)  # the same jitter for both
        waits = []
        for _ in range(20):
            w = dl.wait_ms()
            if w is None:
                break
            waits.append(w)
            board.ms += w
            dl.step()
        runs.append((client.calls, waits, sp.count, client.conn.closed))
    assert runs[0] == runs[1] and runs[0][2] == 0 and runs[0][3] == 2


def test_unprocessed_items_are_paced_by_the_limiter():
    dl, client, sp, board = setup("dl-unproc-paced", 5, script=[[2, 4]])
    dl.step()
    assert sp.acked == 1 and dl.pending == [2, 4]
    assert dl.limiter.enabled and dl.retries == 1
    tokens_ms = 2000 / dl.limiter.rate
    assert abs(dl.limiter.wait_ms(2) - tokens_ms) <= 2  # the tokens for the 2 items left
    assert 0 <= dl.wait_ms() <= max(retry.SPREAD * tokens_ms, retry.TRANSIENT_BACKOFF[0]) + 2  # spread
    run_until_idle(dl, board)
    assert client.calls[1] == ("BatchWriteItem", [2, 4]) and sp.count == 0 and dl.delivered == 5


def test_the_limiter_is_told_of_readings_taken_since_the_start():
    dl, client, sp, board = setup("dl-taken", 30, script=[throttle()])
    dl.step()  # the 30 in the spool before the start are a backlog, not readings coming in
    assert dl.limiter.arrivals == 0 and dl.limiter.enabled
    for _ in range(10):
        sp.append(reading)
    board.ms += dl.wait_ms()
    dl.step()
    assert 9 < dl.limiter.arrivals <= 10 and dl.seen_seq == sp.last_seq


def test_the_limiter_is_told_how_far_behind_the_device_is():
    steep = []
    for backlog in (30, 1000):
        dl, client, sp, board = setup("dl-behind-%d" % backlog, backlog, script=[throttle()])
        board.ms += 5000
        dl.step()  # 25 items in 5 s measured: 1 s or 195 s of backlog behind them
        steep.append(dl.limiter.scale)
    assert steep == [retry.SCALE, retry.FLAT_SCALE], steep


def test_a_throttled_batch_keeps_its_connection_and_waits_for_the_limiter():
    dl, client, sp, board = setup("dl-throttle", 60, script=[throttle()])
    board.ms += 25  # a batch of 25 went out every 25 ms before: about 1000 items/s
    dl.step()
    assert client.conn.closed == 0 and dl.limiter.enabled and sp.acked == 0
    # the limiter asks the whole batch's token wait; the delivery spreads its retry over
    # [0, SPREAD x] of it (a batch early for its tokens waits again for them)
    tokens_ms = 25000 / dl.limiter.rate
    assert dl.limiter.wait_ms(25) >= tokens_ms - 2
    assert 1 <= dl.wait_ms() <= retry.SPREAD * tokens_ms + 2
    assert dl.retries == 1 and dl.failing_since is not None
    run_until_idle(dl, board)
    assert sp.count == 0 and dl.delivered == 60
    # while paced, a backlog still goes in full batches
    assert [len(s) for _, s in client.calls] == [25, 25, 25, 10]


def test_paced_it_makes_no_request_before_the_bucket_holds_the_batch():
    dl, client, sp, board = setup("dl-paced", 200, script=[throttle()])
    dl.step()
    sent = len(client.calls)
    for _ in range(6):
        w = dl.limiter.wait_ms(25)  # the tokens' (the wait after the throttle is spread past it)
        board.ms += w // 2  # too early: nothing is sent, the wait shrinks
        dl.step()
        assert len(client.calls) == sent
        board.ms += dl.wait_ms()
        dl.step()
        sent += 1
        assert len(client.calls) == sent and len(client.calls[-1][1]) == 25


def test_without_adaptation_a_throttle_is_backed_off_alone_as_before():
    dl, client, sp, board = setup("dl-no-adapt", 3, script=[throttle()] * 3)
    dl.limiter = None
    for attempt in range(3):
        dl.step()
        assert client.conn.closed == attempt + 1  # re-opened after any failure
        assert dl.wait_ms() <= retry.TRANSIENT_BACKOFF[0] << attempt
        board.ms += dl.wait_ms()
    run_until_idle(dl, board)
    assert sp.count == 0


class Table:
    """A table's write capacity shared by devices: a token bucket of `wcu` items a second."""

    def __init__(self, board, wcu):
        self.board, self.wcu = board, wcu
        self.tokens, self.at = float(wcu), board.ms
        self.accepted = self.throttled = 0

    def take(self, n):
        self.tokens = min(float(self.wcu), self.tokens + (self.board.ms - self.at) * self.wcu / 1000.0)
        self.at = self.board.ms
        if n > self.tokens:
            self.throttled += 1
            return False
        self.tokens -= n
        self.accepted += 1
        return True


class TableSink(Sink):
    def __init__(self, table):
        Sink.__init__(self)
        self.table = table

    def send(self, payloads, sent=None):
        if not self.table.take(len(payloads)):
            raise throttle()
        return []


def drain(name, adaptive, devices=8, backlog=100, wcu=40, apart_ms=300):
    """Devices back from an outage with `backlog` readings each, at moments `apart_ms` apart,
    sharing a table of `wcu` items a second; (seconds to deliver everything, the table)."""
    random.seed(7)  # the backoffs' jitter: the same draws on every run (on each interpreter)
    board = Board()
    table = Table(board, wcu)
    fleet = []
    for i in range(devices):
        dl, _, sp, _ = setup("%s-%d" % (name, i), backlog)
        dl.board = dl.clock.board = board
        dl.limiter = retry.RateLimiter(board, 25) if adaptive else None
        dl.next_at = board.ms + i * apart_ms
        dl.sink = TableSink(table)
        fleet.append(dl)
    start = board.ms
    while board.ms - start < 300000:
        waits = [(dl.wait_ms(), i) for i, dl in enumerate(fleet) if dl.wait_ms() is not None]
        if not waits:
            break
        w, i = min(waits)
        board.ms += w
        fleet[i].step()
        board.ms += 5  # each request takes a few ms
    assert all(dl.spool.count == 0 for dl in fleet)
    return (board.ms - start) / 1000.0, table


def test_a_fleet_back_from_an_outage_is_throttled_far_less_when_adaptive():
    floor_s = 8 * 100 / 40.0
    adaptive_s, adaptive = drain("dl-fleet-a", True)
    alone_s, alone = drain("dl-fleet-b", False)
    assert adaptive.accepted == alone.accepted == 32  # full batches either way
    assert adaptive.throttled * 4 < alone.throttled, (adaptive.throttled, alone.throttled)
    assert adaptive_s < 2 * floor_s and alone_s < 2 * floor_s, (adaptive_s, alone_s)


def test_a_fleet_back_at_once_drains_near_its_table_not_at_the_floor_rate():
    # 16 devices at the same moment (a site's power back, or deep-sleep devices that keep no
    # backoff between wakes): all throttled together, cut together; throttles far apart must not
    # compound every device down to MIN_RATE (which took 14x the floor, 580 s here)
    floor_s = 16 * 100 / 40.0
    adaptive_s, table = drain("dl-fleet-once", True, devices=16, apart_ms=0)
    assert adaptive_s < 4 * floor_s, adaptive_s
    assert table.accepted == 64


def test_a_reading_delivered_as_it_comes_is_read_from_its_small_files_once():
    # its size (the batch), the sink's read of it and the log line: one read of each part, as on
    # littlefs each open allocates the file's cache
    import iotsv_spool

    dl, sink, sp, board = setup("dl-read-once", 0)
    opened = []
    real = open

    def counting(path, mode="r"):
        opened.append((tuple(path.rsplit("/", 2)[-2:]), mode))
        return real(path, mode)

    iotsv_spool.open = counting
    try:
        for n in (1, 2):
            sp.append(reading)
            del opened[:]
            dl.step()
            assert sink.calls[-1] == ("PutItem", [n]) and dl.delivered == n
            reads = [name for name, mode in opened if mode == "rb" and name[0] == "new"]
            assert reads and sorted(reads) == sorted(set(reads)), opened  # each part once
    finally:
        iotsv_spool.open = real
