# A new version's probation and the checks for a release, as the app's loop sees them (Updates),
# and the rollback of a version on trial (the crash path's too). Loaded only when updates are
# configured or the running version is on trial (iotsv_appstart): else not in the heap at all.
import gc

import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload
import iotsv_versions as versions
from iotsv_transient import call_alone


def roll_back(version, why, board):
    """The version on trial recorded as failed (why), the previous good one current again (an
    image's: the board boots the other partition), its folder removed."""
    print(versions.rolled_back_line(version, why))
    versions.rollback(version, why)
    if version.kind == "image":
        board.ota_revert()
    elif version.folder():
        versions.remove_tree(version.folder())


def updates_for(settings, board, version, clock, sink):
    """The Updates of the app's loop for the version running (iotsv_appstart asks when
    UPDATE_BUCKET is set or that version is on trial: a version is judged even if the config no
    longer asks for updates)."""

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
            due = board.time() - atomicload.read_int(versions.ROOT + "/checked", 0) >= s.UPDATE_CHECK_S
        else:
            due = self.next_check is None or board.ticks_diff(now, self.next_check) >= 0
        if not due:
            return None
        self.next_check = board.ticks_add(now, int(s.UPDATE_CHECK_S * 1000))
        try:  # every module the check loads goes with it (the updater, S3, Ed25519, SHA-512, ...)
            return call_alone(lambda: __import__("iotsv_updater").check(self, conn))
        finally:
            gc.collect()
            if sending_wake:
                atomicload.ensure_dir(versions.ROOT)
                atomicfile.write_int(versions.ROOT + "/checked", int(board.time()))

    def probation(self, delivered):
        s, v = self.settings, self.version
        new = delivered - self.seen
        if new > 0:
            self.seen = delivered
            count = atomicload.read_int(versions.PROBATION, 0) + new
            if count >= s.UPDATE_PROBATION_READINGS:
                versions.mark_good(v)
                if v.kind == "image":
                    self.board.ota_confirm()  # ESP-IDF keeps this image from now on
                print("update: %s is good: %d reading(s) delivered on probation" % (v.version, count))
                return None
            atomicfile.write_int(versions.PROBATION, count)
        if self.board.time() - v.since > s.UPDATE_PROBATION_S:
            count = atomicload.read_int(versions.PROBATION, 0)
            why = "delivered %d of UPDATE_PROBATION_READINGS=%d within UPDATE_PROBATION_S=%s" % (
                count,
                s.UPDATE_PROBATION_READINGS,
                s.UPDATE_PROBATION_S,
            )
            roll_back(v, why, self.board)
            return self.board.restart(versions.RESTART)
        return None
