# The one place that knows which board this is. Everything else asks it for the board object.
import sys


def current():
    if sys.platform in ("linux", "darwin"):
        import board_unix

        return board_unix.Board()
    raise RuntimeError("no board layer for platform %r yet" % sys.platform)
