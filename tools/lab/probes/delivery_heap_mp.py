# Runs on MicroPython: where the heap goes as the firmware starts (each figure the live heap after a
# collection, minus the one before), and the heap allocated per delivered reading (25 readings
# spooled and delivered in one batch through the local server, gc disabled around the measured
# block). Prints one JSON object.
import gc
import json
import sys

from putitem import heap_used


def live():
    gc.collect()
    return gc.mem_alloc()


stages = []
mark = [live()]


def stage(name):
    now = live()
    stages.append((name, now - mark[0]))
    mark[0] = now


import config  # noqa: E402
import iotsv_board as board  # noqa: E402
import iotsv_settings as settings  # noqa: E402

b = board.current()
s = settings.load(config)
del settings
sys.modules.pop("iotsv_settings", None)  # as main.py does: validation runs once (its names stay interned)
stage("config, board, the validated settings")

import iotsv_httpclient as httpclient  # noqa: E402
from iotsv_app import ReadingPayload  # noqa: E402
from iotsv_appstart import make_sink  # noqa: E402  (the start's: dropped once the sink is made)
from iotsv_clock import Clock  # noqa: E402
from iotsv_delivery import Delivery  # noqa: E402
from iotsv_spool import Spool  # noqa: E402

stage("the app's modules")
spool = Spool(s.STATE_DIR, s.SPOOL_MAX_BYTES)
clock = Clock(b, s.STATE_DIR)
stage("spool and clock")
conn = httpclient.Connection(s.host, s.port, s.USE_TLS, s.ca_der, s.HTTP_TIMEOUT_S)
conn.tls_context()
stage("connection and TLS context (mbedTLS's own memory is outside the heap)")
sink = make_sink(s, conn, clock, b)
delivery = Delivery(sink, spool, clock, b, s.STATE_DIR + "/deadletter.jsonl")
del make_sink
sys.modules.pop("iotsv_appstart")  # as iotsv_app.run drops it after the start
stage("sink with its prepared signers, delivery")
values = {"load1": 0.12, "mem_free_kb": 24197456, "sim_temp_c": 23.94}
payload = ReadingPayload(sink, s.DEVICE_ID)  # the device's one maker, filled for each reading
n = int(sys.argv[1])


def round_trip():
    for _ in range(n):  # as Device.take_reading and always_on: the seq noted for the latency figure
        delivery.note_taken(spool.append(payload.fill(int(clock.now()), values)))
    while delivery.has_work():
        delivery.step()


round_trip()  # warm: connection open, signer prepared
stage("after a first batch: the open connection, its buffers, the day's signing key")
used = heap_used(round_trip)
print(
    json.dumps(
        {
            "heap_per_reading": used / n,
            "delivered": delivery.delivered,
            "after_start": stages,
            "resident": live(),
        }
    )
)
