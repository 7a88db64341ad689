# Runs on MicroPython: heap allocated per delivered reading (25 readings spooled and delivered in
# one batch through the local server), gc disabled around the measured block. Prints JSON.
import json
import sys

from putitem import heap_used

import board
import config
import httpclient
from app import make_sink, reading_payload
from clock import Clock
from delivery import Delivery
from settings import load
from spool import Spool

s = load(config)
b = board.current()
spool = Spool(s.STATE_DIR, s.SPOOL_MAX_BYTES)
clock = Clock(b, s.STATE_DIR)
conn = httpclient.Connection(s.host, s.port, s.USE_TLS, s.ca_der, s.HTTP_TIMEOUT_S)
sink = make_sink(s, conn, clock)
delivery = Delivery(sink, spool, clock, b, s.STATE_DIR + "/deadletter.jsonl")
values = {"load1": 0.12, "mem_free_kb": 24197456, "sim_temp_c": 23.94}
n = int(sys.argv[1])


def round_trip():
    for _ in range(n):
        spool.append(reading_payload(sink, s.DEVICE_ID, int(clock.now()), values))
    while delivery.has_work():
        delivery.step()


round_trip()  # warm: connection open, signer prepared
used = heap_used(round_trip)
print(json.dumps({"heap_per_reading": used / n, "delivered": delivery.delivered}))
