# The unix port standing in for a board: the device, its unix board layer and simulated sensors.
# make image freezes it into a 32-bit unix MicroPython (build/image/micropython).

include("../..")

module("iotsv_board_unix.py")
module("iotsv_sensors_unix.py")

# A FROZEN_MANIFEST replaces the variant's: the ssl wrapper over the C tls module must come from here.
require("ssl")
