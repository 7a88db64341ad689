# Never a crash loop: a failure of the app is logged to flash with the time, the board waits
# longer after each crash in a row (1 s doubling to 5 minutes) and starts again; a clean run
# clears the count. The count and the log sit beside config.py (the board's root), apart from
# STATE_DIR, so a broken STATE_DIR is logged too.
import gc
import sys

import atomicfile

MAX_LOG = 4096  # bytes kept of the crash log: the newest failures
BACKOFF_MS = (1000, 300000)


def crashes(count_path):
    return atomicfile.read_int(count_path, 0)  # a torn count reads 0: the backoff starts over


def backoff_ms(crash_count):
    return min(BACKOFF_MS[0] << min(crash_count - 1, 20), BACKOFF_MS[1]) if crash_count > 0 else 0


def log_failure(log_path, when, exc):
    """Append the failure (the last MAX_LOG bytes are kept)."""
    try:
        with open(log_path, "rb") as f:
            old = f.read()[-MAX_LOG // 2 :]
    except OSError:
        old = b""
    try:
        import io

        buf = io.StringIO()
        if hasattr(sys, "print_exception"):
            sys.print_exception(exc, buf)  # pyright: ignore[reportArgumentType]  # MicroPython; stubs' StringIO is bare
        else:
            import traceback  # pyright: ignore[reportMissingImports]  # CPython only

            traceback.print_exception(type(exc), exc, exc.__traceback__, file=buf)
        text = buf.getvalue()  # pyright: ignore[reportAttributeAccessIssue]  # the stubs' StringIO lacks it
    except Exception:  # the log must not fail the board
        text = "%s: %s\n" % (type(exc).__name__, exc)
    entry = ("--- crash at %s\n%s" % (when, text)).encode()
    atomicfile.replace(log_path, (old + entry)[-MAX_LOG:])


def supervise(run, board, log_path="crash.log", count_path="crash.count"):
    """run() is the app; returns its exit code, or after a crash waits and asks the board to
    restart (on unix: returns 3 so the caller exits)."""
    try:
        code = run()
    except KeyboardInterrupt:
        raise
    except Exception as e:
        gc.collect()  # what the app held is garbage now: a crash in a full heap must still be logged
        n = crashes(count_path) + 1
        try:
            atomicfile.write_int(count_path, n)
            try:
                when = int(board.time())
            except Exception:
                when = "unknown time"
            log_failure(log_path, when, e)
        except Exception as log_error:  # no room to log (memory, flash): the restart still comes
            print("crash log not written: %s: %s" % (type(log_error).__name__, log_error))
        delay = backoff_ms(n)
        print(
            "crash %d in a row: %s: %s (logged to %s); restarting in %d s"
            % (n, type(e).__name__, e, log_path, delay // 1000)
        )
        board.sleep_ms(delay)
        return board.restart()
    atomicfile.write_int(count_path, 0)
    return code
