# Entry point: on a board MicroPython runs main.py at boot; on unix, `make unix` runs this file.
import sys

import supervisor

import app
import board


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
    return supervisor.supervise(lambda: app.run(config, b), b)


sys.exit(main())
