# Never a crash loop: a failure of the app is logged to flash with the time, the board waits
# longer after each crash in a row (1 s doubling to 5 minutes) and starts again; a clean run
# clears the count. The count and the log sit beside config.py (the board's root), apart from
# STATE_DIR, so a broken STATE_DIR is logged too.
import gc
import sys

import iotsv_atomicfile as atomicfile
import iotsv_versions as versions

MAX_LOG = 4096  # bytes kept of the crash log: the newest failures
BACKOFF_MS = (1000, 300000)
TRIAL_CRASHES = 3  # crashes in a row that roll a version on trial back
RESTART = versions.RESTART


class CannotStart(Exception):
    """The app's code could not be imported (main.py raises it with the cause's text)."""


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


def supervise(run, board, log_path="crash.log", count_path="crash.count", version=None):
    """run() is the app; returns its exit code, or after a crash waits and asks the board to
    restart (on unix: returns 3 so the caller exits). version: the versions.State booted; one on
    trial that cannot start, or crashes TRIAL_CRASHES times in a row, is rolled back and the
    board restarts at once into the previous good one."""
    before = crashes(count_path)
    try:
        code = run()
    except KeyboardInterrupt:
        raise
    except Exception as e:
        gc.collect()  # what the app held is garbage now: a crash in a full heap must still be logged
        n = before + 1
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
        if version is not None and version.trial and (isinstance(e, CannotStart) or n >= TRIAL_CRASHES):
            why = (
                str(e) if isinstance(e, CannotStart) else "crashed %d times in a row: %s: %s" % (n, type(e).__name__, e)
            )
            print("crash %d in a row: %s: %s (logged to %s)" % (n, type(e).__name__, e, log_path))
            roll_back(version, why, board)
            atomicfile.write_int(count_path, 0)
            return board.restart(RESTART)
        print(
            "crash %d in a row: %s: %s (logged to %s); restarting in %d s"
            % (n, type(e).__name__, e, log_path, delay // 1000)
        )
        board.sleep_ms(delay)
        return board.restart()
    if before:  # written only when it changes: a clean start is no flash write
        atomicfile.write_int(count_path, 0)
    return code


def roll_back(version, why, board):
    """The version on trial recorded as failed (why), the previous good one current again (an
    image's: the board boots the other partition), its folder removed."""
    print(versions.rolled_back_line(version, why))
    versions.rollback(version, why)
    if version.kind == "image":
        board.ota_revert()
    elif version.folder():
        versions.remove_tree(version.folder())


def updates_for(settings, board, clock, sink):
    """The Updates of the app's loop: when UPDATE_BUCKET is set or the running version is on trial
    (a version judged even if the config no longer asks for updates); else None."""
    version = versions.state()
    if not settings.UPDATE_BUCKET and not version.trial:
        return None

    def credentials():
        provider = getattr(sink, "credentials", None)
        return provider.ensure_fresh() if provider is not None else sink.client.credentials

    return Updates(settings, board, version, clock, credentials)


class Updates:
    """The update cycle as the app's loop sees it: a version on trial judged by what it delivers
    (good after UPDATE_PROBATION_READINGS, rolled back when UPDATE_PROBATION_S pass first), and
    a check for a release every UPDATE_CHECK_S (iotsv_updater.py is loaded for the check and dropped
    after it, so its code is not in the heap between checks). credentials(): what signs the S3
    requests (static keys or the IoT provider's, fresh)."""

    def __init__(self, settings, board, version, clock, credentials):
        self.settings = settings
        self.board = board
        self.version = version
        self.clock = clock
        self.credentials = credentials
        self.seen = 0  # readings delivered in this run, as last counted
        self.next_check = None  # ticks_ms of the next check; None: at the first turn
        self.quiet = []  # versions refused for good in this run: said once

    def turn(self, delivered, conn=None, sending_wake=False):
        """One turn of the app's loop; the exit code when the board must restart (a switch, a
        rollback), else None. conn: the app's connection (httpclient.Connection), which a check
        borrows, pointed at S3 for it: its buffers and TLS context (the same CA_FILE) serve, and
        only one TLS connection is ever in the heap."""
        if self.version.trial:
            code = self.probation(delivered)
            if code is not None or self.version.trial:
                return code  # no new release while one is on trial
        s, board = self.settings, self.board
        if not s.UPDATE_BUCKET:
            return None
        now = board.ticks_ms()
        if sending_wake:
            due = board.time() - atomicfile.read_int(versions.ROOT + "/checked", 0) >= s.UPDATE_CHECK_S
        else:
            due = self.next_check is None or board.ticks_diff(now, self.next_check) >= 0
        if not due:
            return None
        self.next_check = board.ticks_add(now, int(s.UPDATE_CHECK_S * 1000))
        loaded = [name for name in ("iotsv_updater", "iotsv_ed25519", "iotsv_sha512") if name not in sys.modules]
        try:
            import iotsv_updater as updater

            return updater.check(self, conn)
        finally:
            for name in loaded:
                sys.modules.pop(name, None)
            gc.collect()
            if sending_wake:
                atomicfile.ensure_dir(versions.ROOT)
                atomicfile.write_int(versions.ROOT + "/checked", int(board.time()))

    def probation(self, delivered):
        s, v = self.settings, self.version
        new = delivered - self.seen
        if new > 0:
            self.seen = delivered
            count = atomicfile.read_int(versions.PROBATION, 0) + new
            if count >= s.UPDATE_PROBATION_READINGS:
                versions.mark_good(v)
                if v.kind == "image":
                    self.board.ota_confirm()  # ESP-IDF keeps this image from now on
                print("update: %s is good: %d reading(s) delivered on probation" % (v.version, count))
                return None
            atomicfile.write_int(versions.PROBATION, count)
        if self.board.time() - v.since > s.UPDATE_PROBATION_S:
            count = atomicfile.read_int(versions.PROBATION, 0)
            why = "delivered %d of UPDATE_PROBATION_READINGS=%d within UPDATE_PROBATION_S=%s" % (
                count,
                s.UPDATE_PROBATION_READINGS,
                s.UPDATE_PROBATION_S,
            )
            roll_back(v, why, self.board)
            return self.board.restart(RESTART)
        return None
