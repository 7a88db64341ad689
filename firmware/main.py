# Entry point: on a board MicroPython runs main.py at boot; on unix, `make unix` runs this file.
# With iotsv_boot.py and iotsv_versions.py it is the boot stage (never replaced by an update): the
# version to run chosen, config.py loaded, the app run under the supervisor. The boot stage's code
# is dropped once the settings are made: what this file keeps while the app runs is plain values
# and start() alone, so the heap holds none of it.
import gc
import sys

import iotsv_boot

code, board, trial, config, key, kept = iotsv_boot.boot()
del iotsv_boot  # in sys.modules until start() has the settings (iotsv_boot.settings drops it)


def start():
    """The app as the supervisor runs it: the settings (the config validated), then iotsv_app."""
    global config
    settings = sys.modules["iotsv_boot"].settings(config, board, key, kept)
    config = None  # validated: the settings hold what the app reads (a board may keep it for its own)
    if settings is None:
        return 2
    gc.collect()  # now: the app's code then fills the holes the boot stage leaves, not the heap's top
    try:
        import iotsv_app as app
    except Exception as e:  # a version on trial that cannot start is rolled back by the supervisor
        from iotsv_supervisor import CannotStart
        from iotsv_versions import cannot_start

        raise CannotStart(cannot_start(e))
    return app.run(settings, board, trial)


if code is None:
    from iotsv_supervisor import supervise

    code = supervise(start, board, trial=trial)

# Not sys.exit(): on a board SystemExit out of main.py soft-resets into main.py again (a reboot loop)
__import__("iotsv_board").finish(code, board)
