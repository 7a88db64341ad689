# Entry point: on a board MicroPython runs main.py at boot; on unix, `make unix` runs this file.
# With iotsv_versions.py it is the boot stage: it puts the current version of the app (an update's
# folder, see iotsv_versions.py) first on the import path before anything of the app is imported, and
# rolls a version on trial back when its code cannot even be imported.
import sys

import iotsv_versions as versions

booted = versions.boot()


def _load_boot_modules():
    """board and supervisor of the version booted; a version on trial that cannot import them is
    rolled back and the previous good one loaded instead (no board to restart with yet)."""
    global booted
    try:
        return __import__("iotsv_board"), __import__("iotsv_supervisor")
    except Exception as e:
        if not booted.trial:
            raise
        why = versions.cannot_start(e)
        print(versions.rolled_back_line(booted, why))
        versions.rollback(booted, why)
        for name in list(sys.modules):  # what the failed version loaded goes with it
            if name not in ("iotsv_versions", "iotsv_atomicfile", "__main__"):
                sys.modules.pop(name, None)
        folder = booted.folder()
        if folder is not None and folder in sys.path:
            sys.path.remove(folder)
        booted = versions.boot()
        return __import__("iotsv_board"), __import__("iotsv_supervisor")


board, supervisor = _load_boot_modules()


def load_settings(config, the_board, key=None):
    """The validated config, or None after printing the one line that names the bad field; a deep
    sleeper's kept for its reading wakes under key (versions.config_key)."""
    import iotsv_settings as settings

    try:
        # the running board's fields too; a deep-sleep wake after the first skips the slowest check
        validated = settings.load(config, the_board.state_dir(), the_board.FIELDS, the_board.woke_from_deep_sleep())
        keep_settings(validated, key)
        return validated
    except settings.ConfigError as e:
        print("config error: %s" % e)
        return None
    finally:
        sys.modules.pop("iotsv_settings", None)  # validation runs once: its code must not hold RAM
        import gc

        gc.collect()  # now: the app's code then fills the hole settings leaves, not the heap's top


def kept_settings(probe, key):
    """On a deep-sleep wake that only takes a reading, the settings earlier wakes validated, when
    they are provably config.py's as it is now (its key): neither config nor the validation is
    loaded. None on any other wake: the config is validated in full."""
    if not probe.woke_from_deep_sleep():
        return None
    import iotsv_wakestate as wakestate

    return wakestate.reading_settings(probe, key)


def keep_settings(validated, key):
    """A deep sleeper's validated settings kept for its reading wakes, under the config's key."""
    if validated.POWER_MODE != "deep_sleep" or key is None:
        sys.modules.pop("iotsv_wakestate", None)  # deep sleep's only: gone before the collection
        return
    import iotsv_wakestate as wakestate

    try:
        wakestate.save_settings(validated, key)
    except OSError as e:  # no room on the flash: the reading wakes validate in full instead
        print("wake.settings not written: %s" % e)
        return
    validated.wake_key = key  # the wake's end keeps it in RTC memory with the wake count


def start(config, the_board, key=None, kept=None):
    validated = kept or load_settings(config, the_board, key)
    if validated is None:
        return 2
    try:
        import iotsv_app as app  # only now: the validation's code is gone before the app's comes in
    except Exception as e:  # a version on trial that cannot start is rolled back by the supervisor
        raise supervisor.CannotStart(versions.cannot_start(e))

    return app.run(validated, the_board)


def config_line(e):
    """The line of config.py an error was raised at, where the interpreter tells: a SyntaxError's
    lineno on CPython, the traceback's last config.py frame on MicroPython; else None."""
    line = getattr(e, "lineno", None)
    if line is None and hasattr(sys, "print_exception"):
        import io

        buf = io.StringIO()
        sys.print_exception(e, buf)  # pyright: ignore[reportArgumentType]  # MicroPython; stubs' StringIO is bare
        for text in buf.getvalue().split("\n"):  # pyright: ignore[reportAttributeAccessIssue]  # as above
            if '"config.py", line ' in text:
                line = text.split('"config.py", line ', 1)[1].split(",")[0]
    return line


the_board = None  # made once config.py has loaded (on a reading wake: from the settings kept for it)


def load_config():
    """The config module, or None after printing the one line that says why it cannot load."""
    try:
        import config

        return config
    except ImportError as e:
        if "'config'" not in str(e):  # config.py itself imports a module that is not there
            print("config error: config.py cannot be loaded: ImportError: %s" % e)
            return None
        print("config error: no config module on the import path (%s); start from config/example/config.py" % e)
        return None
    except Exception as e:  # a syntax or runtime error inside config.py
        line = config_line(e)
        where = "config.py, line %s" % line if line else "config.py"
        what = getattr(e, "msg", None) or e  # CPython's SyntaxError repeats the place in str(e)
        print("config error: %s cannot be loaded: %s: %s" % (where, type(e).__name__, what))
        return None


def main():
    global the_board
    key = versions.config_key(booted)  # of config.py's bytes as they are before they load
    kept = kept_settings(board.current(), key)  # no config yet: what RTC memory kept decides
    config = None
    if kept is None:
        config = load_config()
        if config is None:
            return 2
    the_board = board.current(config or kept)  # a reading wake's: the board's fields are among the settings
    if the_board.safe_mode():
        print("safe mode (SAFE_MODE_PIN held low): the app does not start; the REPL is yours")
        return 0
    return supervisor.supervise(lambda: start(config, the_board, key, kept), the_board, version=booted)


# Not sys.exit(): on a board SystemExit out of main.py soft-resets into main.py again (a reboot loop)
board.finish(main(), the_board)
