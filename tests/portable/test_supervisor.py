# Never a crash loop: failures are logged, restarts back off, a clean run clears the count; the
# safe-mode pin keeps the app from starting.
import os
import sys

import fake_esp32
import iotsv_crash as crash
import iotsv_supervisor as supervisor
from portable import scratch


class Board:
    def __init__(self):
        self.slept = []
        self.restarts = 0

    def time(self):
        return 1795412461

    def sleep_ms(self, ms):
        self.slept.append(ms)

    def restart(self):
        self.restarts += 1
        return 3


def paths(name):
    return scratch(name + ".log"), scratch(name + ".count")


def boom():
    raise RuntimeError("sensor bus stuck")


def test_crashes_are_logged_and_restarts_back_off():
    log, count = paths("sv-a")
    board = Board()
    for _ in range(4):
        assert supervisor.supervise(boom, board, log, count) == 3
    assert board.slept == [1000, 2000, 4000, 8000] and board.restarts == 4
    with open(log) as f:
        text = f.read()
    assert text.count("--- crash at 1795412461") == 4 and "RuntimeError: sensor bus stuck" in text
    assert supervisor.supervise(lambda: 0, board, log, count) == 0
    assert supervisor.crashes(count) == 0  # a clean run clears the count
    supervisor.supervise(boom, board, log, count)
    assert board.slept[-1] == 1000


def test_backoff_is_capped_and_the_log_bounded():
    assert supervisor.backoff_ms(1) == 1000 and supervisor.backoff_ms(20) == 300000
    log, count = paths("sv-b")
    board = Board()
    for _ in range(200):
        supervisor.supervise(boom, board, log, count)
    assert os.stat(log)[6] <= crash.MAX_LOG


def test_safe_mode_pin_held_low():
    fake_esp32.install()
    sys.modules.pop("iotsv_board_esp32", None)
    import iotsv_board_esp32 as board_esp32

    class Config:
        SAFE_MODE_PIN = 0

    fake_esp32.Pin.held_low = (0,)
    assert board_esp32.Board(Config).safe_mode() is True
    fake_esp32.Pin.held_low = ()
    assert board_esp32.Board(Config).safe_mode() is False
    assert board_esp32.Board(None).safe_mode() is False


def test_a_crash_that_cannot_be_logged_still_restarts():
    log, count = paths("sv-nolog")
    board = Board()
    real = crash.log_failure

    def no_room(*args):
        raise MemoryError("memory allocation failed, allocating 752 bytes")

    crash.log_failure = no_room
    try:
        assert supervisor.supervise(boom, board, log, count) == 3
    finally:
        crash.log_failure = real
    assert board.restarts == 1 and board.slept == [1000] and supervisor.crashes(count) == 1


def test_the_crash_count_is_written_only_when_it_changes():
    import iotsv_atomicload as atomicload

    log, count = paths("sv-clean")
    board = Board()
    for _ in range(3):  # clean starts, as a board's every wake is: no flash write for the count
        assert supervisor.supervise(lambda: 0, board, log, count) == 0
    assert not atomicload.exists(count)
    supervisor.supervise(boom, board, log, count)
    assert supervisor.crashes(count) == 1
    supervisor.supervise(lambda: 0, board, log, count)  # cleared once
    assert supervisor.crashes(count) == 0


def test_the_crash_code_is_loaded_only_by_a_crash():
    log, count = paths("sv-lazy")
    sys.modules.pop("iotsv_crash", None)
    assert supervisor.supervise(lambda: 0, Board(), log, count) == 0
    assert "iotsv_crash" not in sys.modules  # a clean run: the crash path's code is not loaded
    assert supervisor.supervise(boom, Board(), log, count) == 3
    assert "iotsv_crash" in sys.modules


def test_a_crash_whose_code_cannot_load_still_waits_and_restarts():
    from portable import capture

    log, count = paths("sv-noload")
    board = Board()
    folder = scratch("sv-noload-code")
    try:
        os.mkdir(folder)
    except OSError:
        pass
    with open(folder + "/iotsv_crash.py", "w") as f:  # its import fails, as in a heap with no room for it
        f.write('raise MemoryError("memory allocation failed, allocating 800 bytes")\n')
    saved = sys.modules.pop("iotsv_crash", None)
    sys.path.insert(0, folder)
    try:
        code, out = capture(lambda: supervisor.supervise(boom, board, log, count))
    finally:
        sys.path.remove(folder)
        sys.modules.pop("iotsv_crash", None)
        if saved is not None:
            sys.modules["iotsv_crash"] = saved
    assert code == 3 and board.slept == [1000] and board.restarts == 1
    assert "crash not logged: MemoryError: memory allocation failed" in out, out
