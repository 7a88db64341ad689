# The device: the entry point and the board picker over the app (which includes the library).
# A board's manifest includes this one and adds its own layer.

include("app")

module("main.py")
module("iotsv_boot.py")
module("iotsv_board.py")
