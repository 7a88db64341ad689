# Runs on MicroPython: the firmware's main, with the live heap measured (after a collection) each
# time a request is sent, when the batch, its signature and the request head are all in RAM. With
# the argument "modules" it also notes, at the peak, the modules loaded and the data each one's
# globals hold (modulestate; the note takes heap, and its bytes are left out of the figure).
# Prints {"peak_live_heap", "modules"} as JSON on the last line; exits with the firmware's exit code.
import gc
import json
import sys

import iotsv_httpclient as httpclient

peak = [0, None, 0]  # bytes, the modules then, the bytes that note of them holds (not the firmware's)
send = httpclient.Connection._send
NOTE = "modules" in sys.argv[1:]
if NOTE:
    from modulestate import globals_of


def measured(self, head, body):
    gc.collect()
    live = gc.mem_alloc() - peak[2]
    if live > peak[0]:
        peak[0] = live
        if NOTE:
            peak[1] = None
            gc.collect()
            before = gc.mem_alloc()
            peak[1] = {name: globals_of(sys.modules[name]) for name in sys.modules if name != "modulestate"}
            gc.collect()
            peak[2] = gc.mem_alloc() - before
    return send(self, head, body)


httpclient.Connection._send = measured
code = 0
try:
    import main  # noqa: F401  (runs the firmware, then raises SystemExit)
except SystemExit as e:
    code = e.args[0] if e.args else 0
print(json.dumps({"peak_live_heap": peak[0], "modules": peak[1]}))
sys.exit(code)
