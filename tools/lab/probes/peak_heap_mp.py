# Runs on MicroPython: the firmware's main, with the live heap measured (after a collection) each
# time a request is sent, when the batch, its signature and the request head are all in RAM.
# Prints the peak as JSON on the last line; exits with the firmware's exit code.
import gc
import json
import sys

import iotsv_httpclient as httpclient

peak = [0]
send = httpclient.Connection._send


def measured(self, head, body):
    gc.collect()
    peak[0] = max(peak[0], gc.mem_alloc())
    return send(self, head, body)


httpclient.Connection._send = measured
code = 0
try:
    import main  # noqa: F401  (runs the firmware, then raises SystemExit)
except SystemExit as e:
    code = e.args[0] if e.args else 0
print(json.dumps({"peak_live_heap": peak[0]}))
sys.exit(code)
