# The one place that knows which board this is. Everything else asks it for the board object.
import sys


def current(config=None):
    if sys.platform in ("linux", "darwin"):
        import iotsv_board_unix as board_unix

        return board_unix.Board()
    if sys.platform == "esp32":
        import iotsv_board_esp32 as board_esp32

        return board_esp32.Board(config)
    raise RuntimeError("no board layer for platform %r yet" % sys.platform)


def finish(code, the_board=None):
    """The end of main.py with the firmware's exit code: the board's halt(), which on unix exits
    the process with it; the_board None (config.py did not load): the board without a config."""
    (the_board or current()).halt(code)
