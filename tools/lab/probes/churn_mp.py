# Runs on MicroPython: the heap allocated per reading by each part of taking and delivering it, 25
# readings a batch through the local server (gc off around each measured call). Prints one JSON
# list: [part, bytes per reading], in order (parts indented are within the one above; the take
# is the device's own given the values, as delivery_heap_mp.py measures it, and the sensors' read
# apart).
import json

from putitem import heap_used

import config
import iotsv_board as board
import iotsv_httpclient as httpclient
import iotsv_settings as settings
from iotsv_app import ReadingPayload, read_sensors
from iotsv_appstart import make_sink
from iotsv_clock import Clock
from iotsv_delivery import Delivery, Payloads
from iotsv_spool import Spool

N = 25
s = settings.load(config)
b = board.current()
spool = Spool(s.STATE_DIR, s.SPOOL_MAX_BYTES)
clock = Clock(b, s.STATE_DIR)
sink = make_sink(s, httpclient.Connection(s.host, s.port, s.USE_TLS, s.ca_der, s.HTTP_TIMEOUT_S), clock, b)
delivery = Delivery(sink, spool, clock, b, s.STATE_DIR + "/deadletter.jsonl")
values = {"load1": 0.12, "mem_free_kb": 24197456, "sim_temp_c": 23.94}
payload = ReadingPayload(sink, s.DEVICE_ID)  # the device's one maker, filled for each reading


def take():
    for _ in range(N):  # as Device.take_reading and always_on: the seq noted for the latency figure
        delivery.note_taken(spool.append(payload.fill(int(clock.now()), values)))


def deliver():
    while delivery.has_work():
        delivery.step()


take()
deliver()  # warm: connection open, signers ready
out = [["take (payload and spool append)", heap_used(take) / N]]
out.append(["  the payload", heap_used(lambda: payload.fill(1796116616, values)(1, 0))])


class Fixed:  # a sensor that allocates nothing itself: what read_sensors costs apart from the board's
    name = "fixed"

    def read(self):
        return values


sensors = [Fixed()]
out.append(["read_sensors (its checks and dict, apart from take)", heap_used(lambda: read_sensors(sensors))])
out.append(["deliver (read, send, log line, ack)", heap_used(deliver) / N])
take()
batch = spool.read(N, 8192)
seqs = [r[0] for r in batch]  # what delivery keeps of a batch (with each size and dropped count)


def spool_pass(payloads):
    """One pass over the batch as delivery makes it: sizes (its refill), or lent payloads (the
    hash, the send and the log line each make one)."""
    for _ in spool.each(N, 8192, 0, payloads, True):
        pass


out.append(["  spool pass, sizes (refill)", heap_used(lambda: spool_pass(False)) / N])
out.append(["  spool pass, payloads lent", heap_used(lambda: spool_pass(True)) / N])
# the payloads read from the spool as the body is hashed, then again as it is sent
out.append(["  request and response", heap_used(lambda: sink.send(Payloads(spool, seqs), seqs)) / N])


def log_lines():
    now = b.ticks_ms()
    for seq, _, spooled in batch:
        delivery._print_delivered(seq, spooled, now)


for r in batch:
    delivery.note_taken(r[0])
out.append(["  log line", heap_used(log_lines) / N])
out.append(["  acknowledgement", heap_used(lambda: spool.ack(spool.last_seq)) / N])
print(json.dumps(out))
