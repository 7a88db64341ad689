# Runs on MicroPython: what each rarely run path leaves in the heap once it is done. The device
# starts as main.py starts it (config validated and dropped, iotsv_app, its start); then each rare
# path runs: an update check (the updater, S3, the log upload; its server refuses the connection,
# so it stops there) and another (the first leaves the names it interned, the second should leave
# nothing), a release signature checked (Ed25519, SHA-512). For each: the live heap after a
# collection minus the one before, and the modules it left in sys.modules.
# The config must set UPDATE_BUCKET, UPDATE_PUBLIC_KEY and an UPDATE_HOST nothing listens on.
# Prints one JSON list on the last line: [path, bytes left, [modules left]].
import gc
import json
import sys

import config
import iotsv_board as board_picker
from iotsv_transient import call_alone


def live():
    gc.collect()
    return gc.mem_alloc()


rows = []


def measure(name, run):
    modules, before = set(sys.modules), live()
    kept = run()
    rows.append((name, live() - before, sorted(m for m in sys.modules if m not in modules)))
    return kept


board = board_picker.current(config)


def validate():
    import iotsv_settings as settings

    try:
        return settings.load(config, board.state_dir(), board.FIELDS)
    finally:
        sys.modules.pop("iotsv_settings", None)  # as main.py does


s = measure("config validation (the settings it returns stay)", validate)


def start():
    import iotsv_app as app

    return app.start(s, board)[0]


device = measure("the start (the app's code and the device it makes stay)", start)
if device is None:
    raise SystemExit("the device did not start")
measure("an update check (refused at the connection)", lambda: device.updates.turn(0, device.conn))
device.updates.next_check = None  # due again at once
measure("another update check", lambda: device.updates.turn(0, device.conn))
key = s.update_key


def signature():
    import iotsv_ed25519 as ed25519

    return ed25519.verify_pieces(key, (b"iot-sigv4 latest 1\n",), bytes(64))


measure("a release's signature checked (Ed25519, SHA-512)", lambda: call_alone(signature))
device.close()
print(json.dumps(rows))
