# What the supervisor does after the app crashed (iotsv_supervisor.supervise loads it then): the
# count of crashes in a row written, the failure appended to the crash log with the time, a
# version on trial that cannot start or keeps crashing rolled back, else a growing wait and a
# restart. Not in the heap while the app runs.
import sys

import iotsv_atomicfile as atomicfile
import iotsv_versions as versions

MAX_LOG = 4096  # bytes kept of the crash log: the newest failures
TRIAL_CRASHES = 3  # crashes in a row that roll a version on trial back


def crashed(e, n, board, log_path, count_path, trial, delay, cannot_start):
    """After the app raised e, the n-th crash in a row: what supervise returns. trial: the version
    booted is on trial (ota/current says which, unless it was judged good since); delay: the wait
    before the restart (ms); cannot_start: e is the supervisor's CannotStart (the app's code did
    not import). All come from iotsv_supervisor: this module imports nothing of it (no circle)."""
    try:
        atomicfile.write_int(count_path, n)
        try:
            when = int(board.time())
        except Exception:
            when = "unknown time"
        log_failure(log_path, when, e)
    except Exception as log_error:  # no room to log (memory, flash): the restart still comes
        print("crash log not written: %s: %s" % (type(log_error).__name__, log_error))
    version = versions.state() if trial and (cannot_start or n >= TRIAL_CRASHES) else None
    if version is not None and version.trial:
        why = str(e) if cannot_start else "crashed %d times in a row: %s: %s" % (n, type(e).__name__, e)
        print("crash %d in a row: %s: %s (logged to %s)" % (n, type(e).__name__, e, log_path))
        from iotsv_updates import roll_back

        roll_back(version, why, board)
        atomicfile.write_int(count_path, 0)
        return board.restart(versions.RESTART)
    print(
        "crash %d in a row: %s: %s (logged to %s); restarting in %d s"
        % (n, type(e).__name__, e, log_path, delay // 1000)
    )
    board.sleep_ms(delay)
    return board.restart()


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
