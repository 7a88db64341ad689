# The ESP32 as a board: Wi-Fi station with reconnect and backoff, the clock set by NTP (the RTC
# counts from 2000; utc.PORT_EPOCH turns that into Unix time), the watchdog, sleep, the chip's
# unique id, flash storage and the status LED. Everything board-specific is here; the app sees
# only the Board methods it calls (board_unix.Board gives the same ones, and no more).
import time
from binascii import hexlify

import machine
import network
import ntptime

import utc

CLOCK_VALID_FROM = 1704067200  # 2024-01-01: a clock earlier than this was never set
NTP_RESYNC_MS = 3 * 3600 * 1000  # the RTC drifts: set it again every few hours
WIFI_BACKOFF_MS = (1000, 60000)  # between connection attempts: from 1 s, doubling, up to a minute


class ClockNotSet(Exception):
    pass


SENSOR_NAMES = ("mcu_temp", "bme280", "dht22", "battery", "simulated")


class Board:
    # This board's config fields, checked at start with all the others (settings.FIELDS says how:
    # name, kind, the kind's argument, default, required); the board then reads them with field().
    # "#:" lines are each field's meaning in the config reference (tools/configdoc.py).
    FIELDS: tuple = (
        # -- ESP32 board: network and clock --
        #: the access point; the station reconnects with a 1 s .. 60 s backoff (2.4 GHz only)
        ("WIFI_SSID", "text", None, None, True),
        #: its password (never echoed); `None`: an open network
        ("WIFI_PASSWORD", "secret", None, None, False),
        #: the clock is set before the first TLS handshake (mbedTLS checks certificate dates) and every
        #: 3 hours; a clock never set stops the app instead of signing requests dated 2000
        ("NTP_HOST", "text", None, "pool.ntp.org", False),
        # -- ESP32 board: sensors and pins --
        #: drivers to use, in order: `"mcu_temp"` (the chip), `"bme280"` (BME280/BMP280 on I2C),
        #: `"dht22"`, `"battery"` (a voltage divider on an ADC pin), `"simulated"`
        ("SENSORS", "names", SENSOR_NAMES, ("mcu_temp",), False),
        #: I2C data pin of the BME280
        ("I2C_SDA", "whole", 0, 21, False),
        #: I2C clock pin of the BME280
        ("I2C_SCL", "whole", 0, 22, False),
        #: the BME280's I2C address (0x76, or 0x77 with SDO high)
        ("BME280_ADDRESS", "whole", 0, 0x76, False),
        #: the DHT22's data pin
        ("DHT22_PIN", "whole", 0, None, ("SENSORS", "dht22")),
        #: the ADC pin the battery's divider feeds
        ("BATTERY_PIN", "whole", 0, None, ("SENSORS", "battery")),
        #: the divider's resistors (r_top, r_bottom) in ohms
        ("BATTERY_DIVIDER", "pair", 1, (100000, 100000), False),
        #: calibration from a multimeter: volts read x gain + offset
        ("BATTERY_GAIN", "number", 0, 1.0, False),
        #: calibration offset in volts (see `BATTERY_GAIN`)
        ("BATTERY_OFFSET_V", "number", None, 0.0, False),
        #: hold this pin low at reset and the app does not start: the REPL is yours
        ("SAFE_MODE_PIN", "whole", 0, None, False),
        #: a status LED, lit while a request is in flight (dark while the board only takes readings)
        ("LED_PIN", "whole", 0, None, False),
    )

    def __init__(self, config=None):
        self.config = config
        self.ssid = self.field("WIFI_SSID")
        self.password = self.field("WIFI_PASSWORD")
        self.ntp_host = self.field("NTP_HOST")
        self.led_pin = self.field("LED_PIN")
        self.sensor_names = self.field("SENSORS")
        self.wlan = None
        self.wdt = None
        self.synced_at = None
        self._led = None

    def field(self, name):
        """A field of FIELDS as config sets it, else its default: the one copy of the defaults."""
        for row in self.FIELDS:
            if row[0] == name:
                return getattr(self.config, name, row[3])
        raise KeyError(name)

    # -- network ---------------------------------------------------------------------------
    def network_up(self, timeout_ms=20000):
        """Connect the station (again, after a drop); True once connected. Attempts back off
        from 1 s to a minute so a missing access point does not keep the radio busy."""
        if self.wlan is None:
            self.wlan = network.WLAN(network.STA_IF)
            self.wlan.active(True)
        if self.wlan.isconnected():
            return True
        delay = WIFI_BACKOFF_MS[0]
        start = time.ticks_ms()
        while True:
            self.wlan.connect(self.ssid, self.password)
            waited = 0
            while waited < delay:
                if self.wlan.isconnected():
                    return True
                self.feed_watchdog()
                time.sleep_ms(100)
                waited += 100
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                return False
            delay = min(delay * 2, WIFI_BACKOFF_MS[1])

    # -- clock -----------------------------------------------------------------------------
    def sync_time(self, attempts=3):
        """Set the RTC from NTP (UTC). The first TLS handshake needs it: mbedtls checks
        certificate dates against the RTC. True when set."""
        ntptime.host = self.ntp_host
        for _ in range(attempts):
            try:
                ntptime.settime()
                self.synced_at = time.ticks_ms()
                return True
            except (OSError, OverflowError):
                self.feed_watchdog()
                time.sleep_ms(1000)
        return False

    def maybe_resync(self):
        if self.synced_at is None or time.ticks_diff(time.ticks_ms(), self.synced_at) > NTP_RESYNC_MS:
            self.sync_time(attempts=1)

    def time_is_set(self):
        return time.time() + utc.PORT_EPOCH >= CLOCK_VALID_FROM

    def time(self):
        """Unix seconds, UTC. Refuses a clock that was never set rather than let requests be
        signed (and readings stamped) in 2000."""
        t = time.time() + utc.PORT_EPOCH
        if t < CLOCK_VALID_FROM:
            raise ClockNotSet("the clock was never set (NTP failed?): not signing requests dated %d" % t)
        return t

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def ticks_add(self, a, delta_ms):
        """a + delta_ms on the ticks circle: a plain + grows past the 2**30 wrap (12.4 days of
        uptime) into a big int that ticks_diff then misreads."""
        return time.ticks_add(a, delta_ms)

    def sleep_ms(self, ms):
        while ms > 0:  # in slices, feeding the watchdog: a long wait is not a hang
            step = min(ms, 1000)
            time.sleep_ms(step)
            self.feed_watchdog()
            ms -= step

    # -- watchdog, power, identity, storage ---------------------------------------------------
    def start_watchdog(self, timeout_s):
        self.wdt = machine.WDT(timeout=int(timeout_s * 1000))

    def feed_watchdog(self):
        if self.wdt is not None:
            self.wdt.feed()

    def restart(self, code=3):
        machine.reset()  # code: what the unix port exits with; a board just resets

    # -- updates (updater.py): a new image into the next OTA partition, or files ---------------
    def update_kind(self):
        """ "image" when the firmware is frozen into the running image (an update is a new image
        for the next OTA partition), "files" when its modules are .mpy files on the flash."""
        import os

        import supervisor

        try:
            os.stat(getattr(supervisor, "__file__", "") or "-")
            return "files"
        except OSError:  # a frozen module's __file__ names no file on the flash
            return "image"

    def ota_writer(self, size):
        """Where an image release streams to: the partition after the running one."""
        import esp32

        running = esp32.Partition(esp32.Partition.RUNNING)  # pyright: ignore[reportArgumentType]  # the stubs want a label; RUNNING is the documented form
        return OtaWriter(running.get_next_update(), size)

    def ota_confirm(self):
        """The running image delivered on probation: ESP-IDF keeps it (no rollback at the next boot)."""
        import esp32

        esp32.Partition.mark_app_valid_cancel_rollback()

    def ota_revert(self):
        """Boot the other partition again (the image that was good) at the next reset."""
        import esp32

        running = esp32.Partition(esp32.Partition.RUNNING)  # pyright: ignore[reportArgumentType]  # as in ota_writer
        running.get_next_update().set_boot()

    def safe_mode(self):
        """SAFE_MODE_PIN held low at boot: skip the app so a person gets the REPL."""
        pin = self.field("SAFE_MODE_PIN")
        # read before settings checks config: a malformed pin is no safe mode (settings then names it)
        return type(pin) is int and pin >= 0 and machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0

    def deep_sleep(self, ms):
        machine.deepsleep(ms)  # does not return: the next wake starts at boot

    def wake_count(self):
        """Wakes so far, kept in RTC memory, which deep sleep keeps and a power cut clears."""
        try:
            return int(machine.RTC().memory() or b"0")
        except ValueError:
            return 0

    def set_wake_count(self, n):
        machine.RTC().memory(("%d" % n).encode())

    def woke_from_deep_sleep(self):
        return machine.reset_cause() == machine.DEEPSLEEP_RESET

    def device_id(self):
        return "esp32-" + hexlify(machine.unique_id()).decode()

    def state_dir(self):
        return "/state"  # on the flash filesystem

    def led(self, on):
        """The status LED (LED_PIN): lit while a request is in flight."""
        if self.led_pin is None:
            return
        if self._led is None:
            self._led = machine.Pin(self.led_pin, machine.Pin.OUT)
        self._led.value(1 if on else 0)

    def sensors(self):
        """The drivers for the sensors config SENSORS names, in order (settings checked the names
        and that each one's pin is set)."""
        import sensors

        field = self.field
        out = []
        for name in self.sensor_names:
            if name == "mcu_temp":
                out.append(McuTemperature())
            elif name == "bme280":
                import bme280

                i2c = machine.I2C(0, sda=machine.Pin(field("I2C_SDA")), scl=machine.Pin(field("I2C_SCL")))
                out.append(bme280.BME280(i2c, field("BME280_ADDRESS")))
            elif name == "dht22":
                import dht22

                # the same C function: in machine on current firmware (1.29's stubs), in esp only on older ones
                readinto = getattr(machine, "dht_readinto", None)
                if readinto is None:
                    import esp

                    readinto = esp.dht_readinto  # pyright: ignore[reportAttributeAccessIssue]  # older firmware only
                out.append(dht22.DHT22(machine.Pin(field("DHT22_PIN"), machine.Pin.OPEN_DRAIN), readinto))
            elif name == "battery":
                import battery

                pin = machine.Pin(field("BATTERY_PIN"))
                adc = machine.ADC(pin, atten=machine.ADC.ATTN_11DB)  # up to about 3.1 V at the pin
                r_top, r_bottom = field("BATTERY_DIVIDER")
                out.append(battery.Battery(adc, r_top, r_bottom, field("BATTERY_GAIN"), field("BATTERY_OFFSET_V")))
            elif name == "simulated":
                out.append(sensors.SimulatedTemperature(self.time))
            else:  # a name SENSORS lists without a driver here
                raise ValueError("SENSORS: no driver for %r" % (name,))
        return out


class McuTemperature:
    """The chip's own temperature sensor: esp32.mcu_temperature() (C, S2/S3/C3/C6) or, on the
    original ESP32, esp32.raw_temperature() (F)."""

    name = "MCU temperature"

    def read(self):
        import esp32

        if hasattr(esp32, "mcu_temperature"):
            return {"mcu_temp_c": esp32.mcu_temperature()}  # pyright: ignore[reportAttributeAccessIssue]  # S2/S3/C3/C6
        return {"mcu_temp_c": round((esp32.raw_temperature() - 32) / 1.8, 1)}


class OtaWriter:
    """An image written into an OTA partition a 4 KB flash block at a time (writeblocks with two
    arguments erases the block first), the last one padded with 0xFF; finish() sets it to boot
    (ESP-IDF checks the image there). Nothing boots a partition that was not finished."""

    def __init__(self, partition, size):
        room = partition.info()[3]
        if size > room:
            raise ValueError("the image (%d bytes) does not fit the OTA partition (%d bytes)" % (size, room))
        self.partition = partition
        self.buf = bytearray(partition.ioctl(5, 0) or 4096)  # the block size
        self.fill = 0
        self.block = 0

    def write(self, piece):
        view = memoryview(piece)
        done = 0
        while done < len(view):
            n = min(len(self.buf) - self.fill, len(view) - done)
            self.buf[self.fill : self.fill + n] = view[done : done + n]
            self.fill += n
            done += n
            if self.fill == len(self.buf):
                self.partition.writeblocks(self.block, self.buf)
                self.block += 1
                self.fill = 0

    def finish(self):
        if self.fill:
            for i in range(self.fill, len(self.buf)):
                self.buf[i] = 0xFF
            self.partition.writeblocks(self.block, self.buf)
            self.fill = 0
        self.partition.set_boot()
