# An ESP32 image: the port's own frozen modules, the device, the ESP32 board layer and its drivers.
#   make -C ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=OTA \
#       FROZEN_MANIFEST=<project>/firmware/boards/esp32/manifest.py
# (the OTA variant: two app partitions, for image updates; ESP-IDF needed; not built on the
# project's machines: see firmware/boards/esp32/README.md).

include("$(PORT_DIR)/boards/manifest.py")
include("../..")

module("iotsv_board_esp32.py")
module("iotsv_dns.py")
module("iotsv_bme280.py")
module("iotsv_dht22.py")
module("iotsv_battery.py")
