# Entry point: on a board MicroPython runs main.py at boot; on unix, `make unix` runs this file.
import sys

import board
import supervisor


def load_settings(config, b):
    """The validated config, or None after printing the one line that names the bad field."""
    import settings

    try:
        return settings.load(config, b.state_dir())
    except settings.ConfigError as e:
        print("config error: %s" % e)
        return None
    finally:
        sys.modules.pop("settings", None)  # validation runs once: its code must not hold RAM


def start(config, b):
    s = load_settings(config, b)
    if s is None:
        return 2
    import app  # only now: the validation's code is gone before the app's comes in

    return app.run(s, b)


def main():
    try:
        import config
    except ImportError as e:
        print("config error: no config module on the import path (%s); start from config/example/config.py" % e)
        return 2
    except Exception as e:  # a syntax or runtime error inside config.py
        print("config error: config.py cannot be loaded: %s: %s" % (type(e).__name__, e))
        return 2
    b = board.current(config)
    if b.safe_mode():
        print("safe mode (SAFE_MODE_PIN held low): the app does not start; the REPL is yours")
        return 0
    return supervisor.supervise(lambda: start(config, b), b)


sys.exit(main())
