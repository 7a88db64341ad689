# An ESP32 image: the port's own frozen modules, the device, the ESP32 board layer and its drivers.
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=<project>/firmware/boards/esp32/manifest.py
# (ESP-IDF needed; not built on the project's machines: see the README, "On an ESP32").

include("$(PORT_DIR)/boards/manifest.py")
include("../..")

module("board_esp32.py")
module("dns.py")
module("bme280.py")
module("dht22.py")
module("battery.py")
