# A batch's heap does not grow with the batch: a full BatchWriteItem of the largest readings a
# spool record holds is delivered at about the live heap of one such reading alone, and a
# batch of 25 at that of a batch of 2 (the payloads are read from the spool one at a time as the
# body is hashed, then sent). On both interpreters; tests/test_portable_on_micropython.py also
# runs it on the 32-bit image in a heap smaller than the batch's payloads.
import gc

import iotsv_dynamodb as dynamodb
from iotsv_clock import Clock
from iotsv_delivery import MAX_BATCH, Delivery
from iotsv_httpclient import Response
from iotsv_spool import Spool
from iotsv_spoolrecord import HEAD_SIZE, MAX_PAYLOAD
from portable import NOW, Board, fresh

try:
    import tracemalloc
except ImportError:  # MicroPython: the heap is read after a collection at each sample()
    tracemalloc = None


class Meter:
    """The live heap's peak above where it stood at start. CPython's tracemalloc sees every
    allocation (refcounting frees garbage at once, so its peak is the live peak); on MicroPython
    the heap is measured after a collection wherever sample() is called: at each piece of a body
    sent, and at each log line (the hash takes the same pieces as the sending, read as it is)."""

    def __init__(self):
        gc.collect()
        self.peak = 0
        if tracemalloc is not None:
            tracemalloc.start()
            self.base = tracemalloc.get_traced_memory()[0]
        else:
            self.base = gc.mem_alloc()  # pyright: ignore[reportAttributeAccessIssue]  # MicroPython's

    def sample(self):
        if tracemalloc is None:
            gc.collect()
            self.peak = max(self.peak, gc.mem_alloc() - self.base)  # pyright: ignore[reportAttributeAccessIssue]

    def stop(self):
        if tracemalloc is not None:
            self.peak = tracemalloc.get_traced_memory()[1] - self.base
            tracemalloc.stop()
            return self.peak
        # the heap at start may hold garbage a stale pointer kept (a payload just appended):
        # where it stands after the step, its garbage collected, is the floor then
        gc.collect()
        floor = min(self.base, gc.mem_alloc())  # pyright: ignore[reportAttributeAccessIssue]
        return self.peak + self.base - floor


METER = [None]  # the Meter of the step being measured


def sample():
    if METER[0] is not None:
        METER[0].sample()


class Sink(dynamodb.Sink):
    def write_summary(self, payload, write):  # the log line: a payload in RAM
        sample()
        return dynamodb.Sink.write_summary(self, payload, write)


class Conn:
    """DynamoDB's side: takes the body piece by piece, as Connection._send does, and
    answers each request with a success."""

    def __init__(self):
        self.targets = []

    def request(self, method, target, headers, body):
        n = 0
        for piece in body:  # a payload in RAM
            n += len(piece)
            sample()
        assert n == body.length
        self.targets.append(dict(headers)["X-Amz-Target"][18:])
        return Response(200, "", [("x-amzn-requestid", "R%d" % len(self.targets))], b"{}")

    def close(self):
        pass


def largest_reading():
    """A payload maker of readings with as many fields as a spool record holds, written as
    dynamodb.Sink.encode writes them (here in one piece: marshalling that many fields takes
    more heap than a small heap has in one piece)."""
    fields = []
    size = 64  # deviceId, seq and ts
    while True:
        field = ',"f%03d":{"N":"%d"}' % (len(fields), 1000000 + len(fields))
        if size + len(field) > MAX_PAYLOAD:
            break
        fields.append(field)
        size += len(field)
    fields = "".join(fields)

    def make(seq, dropped):
        return ('{"deviceId":{"S":"device-1"},"seq":{"N":"%d"},"ts":{"N":"%d"}%s}' % (seq, NOW, fields)).encode()

    return make


def peaks():
    """[live heap peak of delivering 1, 2 and MAX_BATCH of the largest readings, each in one
    request after a first of each kind: the least of two runs], and the bytes of the full
    batch's payloads. Two runs, as on MicroPython a stale pointer (its collector is
    conservative) may keep garbage, a payload read, alive through one: that only ever adds."""
    d = fresh("batch-heap")
    conn = Conn()
    client = dynamodb.Client(conn, dynamodb.Credentials("AKIDEXAMPLE", "secret"), "eu-west-1", "ddb", lambda: NOW)
    sink = Sink(client, "readings")
    spool = Spool(d, (MAX_BATCH + 3) * (HEAD_SIZE + MAX_PAYLOAD))
    board = Board()
    dl = Delivery(sink, spool, Clock(board, d), board, d + "/deadletter.jsonl", adaptive=False)
    make = largest_reading()
    out = []
    for n in (1, 2, 1, 2, MAX_BATCH, 1, 2, MAX_BATCH):  # the first makes the signer and the day's key
        for _ in range(n):
            spool.append(make)
        METER[0] = Meter()
        dl.step()
        out.append(METER[0].stop())
        METER[0] = None
        assert dl.queued() == 0 and conn.targets[-1] == "BatchWriteItem"  # a lone reading too: one signer
    assert len(conn.targets) == 8 and dl.delivered == 9 + 2 * MAX_BATCH
    return [min(a, b) for a, b in zip(out[2:5], out[5:])], MAX_BATCH * len(make(1, 0))


def test_a_full_batch_of_the_largest_readings_peaks_as_one_does():
    (one, two, full), payloads = peaks()
    print(
        "live heap peak: 1 reading %d, 2: %d, %d: %d (their payloads %d bytes)" % (one, two, MAX_BATCH, full, payloads)
    )
    assert payloads > 90 * 1024  # 25 readings of nearly 4 KB each, read from the spool as needed
    # Each reading more in a batch costs its record's three ints (seq, dropped, size), not its
    # payload (on MicroPython a few bytes: one and two may differ by a stale pointer's 32)...
    assert 0 < one and 0 < two < full and (full - two) // (MAX_BATCH - 2) < 256, (one, two, full)
    # ...but for a second one: the spool keeps the payload it read last while it reads the next
    assert two - one < MAX_PAYLOAD + 1024, (one, two)
