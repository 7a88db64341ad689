# The boot stage's work, main.py's body: the current version of the app put first on the import
# path (iotsv_versions.py) before anything of the app is imported, a version on trial whose code
# cannot even be imported rolled back, config.py loaded, the board made; then, under the
# supervisor, the config validated. settings() drops this module and iotsv_versions (their globals
# emptied) once the settings are made, and main.py keeps only plain values from boot(): while the
# app runs, none of this code is in the heap (a function keeps its module's globals alive, an
# instance its class's module).
import sys

import iotsv_versions as versions


def boot():
    """(exit code, the board, trial, config, key, kept) for main.py: an exit code (2: config.py
    cannot load; 0: safe mode) when the app must not start, else None; trial: the version booted
    is on trial; key: config.py's (versions.config_key); kept: a deep-sleep reading wake's
    settings, else None (the config is validated by settings())."""
    booted = versions.boot()
    board, booted = _load_boot_modules(booted)
    key = versions.config_key(booted)  # of config.py's bytes as they are before they load
    kept = kept_settings(board.current(), key)  # no config yet: what RTC memory kept decides
    config = None
    if kept is None:
        config = load_config()
        if config is None:
            return 2, None, False, None, key, None
    the_board = board.current(config or kept)  # a reading wake's: the board's fields are among the settings
    if the_board.safe_mode():
        print("safe mode (SAFE_MODE_PIN held low): the app does not start; the REPL is yours")
        return 0, the_board, False, None, key, None
    return None, the_board, booted.trial, config, key, kept


def _load_boot_modules(booted):
    """(the board picker, the State booted) once board and supervisor of the version booted
    import; a version on trial that cannot import them is rolled back and the previous good one
    loaded instead (no board to restart with yet)."""
    try:
        board = __import__("iotsv_board")
        __import__("iotsv_supervisor")
        return board, booted
    except Exception as e:
        if not booted.trial:
            raise
        why = versions.cannot_start(e)
        print(versions.rolled_back_line(booted, why))
        versions.rollback(booted, why)
        for name in list(sys.modules):  # what the failed version loaded goes with it
            if name not in ("iotsv_boot", "iotsv_versions", "iotsv_atomicfile", "iotsv_atomicload", "__main__"):
                sys.modules.pop(name, None)
        folder = booted.folder()
        if folder is not None and folder in sys.path:
            sys.path.remove(folder)
        booted = versions.boot()
        board = __import__("iotsv_board")
        __import__("iotsv_supervisor")
        return board, booted


def settings(config, the_board, key, kept=None):
    """The settings the app runs with: kept (a reading wake's) or config validated; None after
    printing the one line that names a bad field. The boot stage is dropped from the heap then:
    this module, iotsv_versions, the validation's code and config.py's module."""
    try:
        return kept or _validated(config, the_board, key)
    finally:
        modules = sys.modules
        modules.pop("config", None)  # not emptied: a board may keep it for its own fields
        modules.pop("iotsv_atomicload", None)  # versions' reading of state: a holder keeps it, unemptied
        for name in ("iotsv_settings", "iotsv_versions", "iotsv_boot"):  # this one's globals last
            module = modules.pop(name, None)
            if module is not None:
                # emptied too: a stale pointer the C stack may still hold to one of a module's
                # objects then keeps that object alive, not the module's every function
                module.__dict__.clear()


def _validated(config, the_board, key):
    """The validated config, or None after printing the one line that names the bad field; a deep
    sleeper's kept for its reading wakes under key (versions.config_key)."""
    import iotsv_settings as settings

    try:
        # the running board's fields too; a deep-sleep wake after the first skips the slowest check
        validated = settings.load(config, the_board.state_dir(), the_board.FIELDS, the_board.woke_from_deep_sleep())
    except settings.ConfigError as e:
        print("config error: %s" % e)
        return None
    keep_settings(validated, key)
    return validated


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
        sys.modules.pop("iotsv_wakestate", None)  # deep sleep's only: gone before the app loads
        return
    import iotsv_wakestate as wakestate

    try:
        wakestate.save_settings(validated, key)
    except OSError as e:  # no room on the flash: the reading wakes validate in full instead
        print("wake.settings not written: %s" % e)
        return
    validated.wake_key = key  # the wake's end keeps it in RTC memory with the wake count


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
