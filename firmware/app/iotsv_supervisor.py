# Never a crash loop: a failure of the app is logged to flash with the time, the board waits
# longer after each crash in a row (1 s doubling to 5 minutes) and starts again; a clean run
# clears the count. The count and the log sit beside config.py (the board's root), apart from
# STATE_DIR, so a broken STATE_DIR is logged too. What a crash does is iotsv_crash's, and a
# rollback iotsv_versions', loaded when one happens: while the app runs, only the wrapper below is
# in the heap.
import gc

import iotsv_atomicfile as atomicfile
from iotsv_transient import run

BACKOFF_MS = (1000, 300000)


class CannotStart(Exception):
    """The app's code could not be imported (main.py raises it with the cause's text)."""


def crashes(count_path):
    return run("iotsv_atomicload", "read_int", count_path, 0)  # a torn count reads 0: the backoff starts over


def backoff_ms(crash_count):
    return min(BACKOFF_MS[0] << min(crash_count - 1, 20), BACKOFF_MS[1]) if crash_count > 0 else 0


def supervise(run, board, log_path="crash.log", count_path="crash.count", trial=False):
    """run() is the app; returns its exit code, or after a crash waits and asks the board to
    restart (on unix: returns 3 so the caller exits). trial: the version booted is on trial; one
    that cannot start, or crashes TRIAL_CRASHES times in a row, is rolled back and the board
    restarts at once into the previous good one (iotsv_crash.crashed)."""
    before = crashes(count_path)
    try:
        code = run()
    except KeyboardInterrupt:
        raise
    except Exception as e:
        gc.collect()  # what the app held is garbage now: a crash in a full heap must still be logged
        try:
            import iotsv_crash as crash
        except Exception as load_error:  # no room for its code, or a release without it that loads
            why = "crash not logged: %s: %s" % (type(load_error).__name__, load_error)
            print(why)
            if trial:  # the boot stage's rollback still comes
                import iotsv_versions as versions

                version = versions.state()
                if version.trial:  # still: not judged good since it booted
                    print(versions.rolled_back_line(version, why))
                    versions.rollback(version, why)
                    return board.restart(versions.RESTART)
            board.sleep_ms(backoff_ms(before + 1))
            return board.restart()
        n = before + 1
        return crash.crashed(e, n, board, log_path, count_path, trial, backoff_ms(n), isinstance(e, CannotStart))
    if before:  # written only when it changes: a clean start is no flash write
        atomicfile.write_int(count_path, 0)
    return code
