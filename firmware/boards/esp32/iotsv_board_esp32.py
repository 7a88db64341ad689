# The ESP32 as a board: Wi-Fi station with reconnect and backoff, the clock set by NTP (the RTC
# counts from 2000; utc.PORT_EPOCH turns that into Unix time), the watchdog, sleep, the chip's
# unique id, flash storage and the status LED. Everything board-specific is here; the app sees
# only the Board methods it calls (board_unix.Board gives the same ones, and no more).
import time
from binascii import hexlify

import machine
import network
import ntptime

import iotsv_utc as utc

CLOCK_VALID_FROM = 1704067200  # 2024-01-01: a clock earlier than this was never set
NTP_RESYNC_MS = 3 * 3600 * 1000  # the RTC drifts: set it again every few hours
WIFI_BACKOFF_MS = (1000, 60000)  # between connection attempts: from 1 s, doubling, up to a minute
WIFI_RECONNECTS = 2  # the driver's own tries after the first, before status() names the failure
WIFI_ATTEMPT_MS = 20000  # an attempt with no address and no final status by then is ended
DNS_TIMEOUT_MS = 3000  # one DNS query (UDP, to the DHCP server's resolver), at most twice


class ClockNotSet(Exception):
    pass


SENSOR_NAMES = ("mcu_temp", "bme280", "dht22", "battery", "simulated")


class Board:
    # This board's config fields, checked at start with all the others (settings.FIELDS says how:
    # name, kind, the kind's argument, default, required); the board then reads them with field().
    # "#:" lines are each field's meaning in the config reference (tools/configdoc.py).
    FIELDS: tuple = (
        # -- ESP32 board: network and clock --
        #: the access point; a failed attempt is retried after a 1 s .. 60 s backoff (2.4 GHz only)
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
        # -- ESP32 board: waits --
        #: seconds the app waits for the network before it goes on without (a sending wake sleeps,
        #: the clock check fails); each attempt's status is named in one line
        ("WIFI_TIMEOUT_S", "number", 1, 20, False),
        #: seconds of deep sleep after a failed run (the clock never set, nothing delivered in time)
        #: before the board starts again: after a power cut the access point may take minutes
        ("RETRY_AFTER_S", "number", 60, 300, False),
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
        self._attempt_at = None  # ticks_ms when the Wi-Fi attempt under way began; None: none
        self._next_at = None  # ticks_ms when the next attempt may begin
        self._backoff = WIFI_BACKOFF_MS[0]
        self._addresses = {}  # host: its last resolved IPv4 address, for when DNS does not answer

    def field(self, name):
        """A field of FIELDS as config sets it, else its default: the one copy of the defaults."""
        for row in self.FIELDS:
            if row[0] == name:
                return getattr(self.config, name, row[3])
        raise KeyError(name)

    # -- network ---------------------------------------------------------------------------
    def _station(self):
        if self.wlan is None:
            self.wlan = network.WLAN(network.STA_IF)
            self.wlan.active(True)
            try:  # a bounded number of the driver's own tries: then status() names why it failed
                self.wlan.config(reconnects=WIFI_RECONNECTS)
            except (ValueError, TypeError):  # a port without the parameter retries for ever
                pass
        return self.wlan

    def network_up(self, wait_ms=None):
        """True once the station has an address. connect() is called once per attempt and
        status() polled: connect() again while the station associates raises OSError("Wifi
        Internal Error") or restarts the association (ports/esp32/network_wlan.c), so a new
        attempt comes only after a final failure or WIFI_ATTEMPT_MS without an address, after a
        disconnect() and a backoff (1 s doubling to a minute), and its status is named in one
        line. Waits at most wait_ms (None: WIFI_TIMEOUT_S) feeding the watchdog; 0 only checks,
        or starts an attempt when one is due, and returns at once."""
        wlan = self._station()
        if wait_ms is None:
            wait_ms = int(self.field("WIFI_TIMEOUT_S") * 1000)
        start = time.ticks_ms()
        while True:
            status = wlan.status()
            if status == network.STAT_GOT_IP:
                if self._attempt_at is not None:
                    print("wifi: connected to %s" % self.ssid)
                self._attempt_at, self._backoff = None, WIFI_BACKOFF_MS[0]
                return True
            now = time.ticks_ms()
            if self._attempt_at is not None and (
                status != network.STAT_CONNECTING or time.ticks_diff(now, self._attempt_at) >= WIFI_ATTEMPT_MS
            ):
                wlan.disconnect()  # the driver stops trying: the next connect() starts clean
                print(
                    "wifi: %s: %s; next attempt in %d s" % (self.ssid, wifi_status_name(status), self._backoff // 1000)
                )
                self._attempt_at = None
                self._next_at = time.ticks_add(now, self._backoff)
                self._backoff = min(self._backoff * 2, WIFI_BACKOFF_MS[1])
            if self._attempt_at is None and (self._next_at is None or time.ticks_diff(now, self._next_at) >= 0):
                if status != network.STAT_CONNECTING:  # else the driver is associating: wait for it
                    wlan.connect(self.ssid, self.password)
                self._attempt_at = now
            if time.ticks_diff(now, start) >= wait_ms:
                return False
            self.feed_watchdog()
            time.sleep_ms(100)

    def resolve(self, host, port, family=0, kind=0):
        """getaddrinfo's answer for host, with a bound: the port's socket.getaddrinfo blocks in
        lwIP's resolver with no timeout of its own (ports/esp32/modsocket.c), unfed by us, so a
        name is asked of the network's DNS server over UDP with DNS_TIMEOUT_MS per try; an IP
        address is taken as it is; when DNS does not answer, the last address it gave is used."""
        import socket

        import iotsv_dns as dns

        self.feed_watchdog()
        address = dns.literal(host)
        if address is None:
            server = self.wlan.ifconfig()[3] if self.wlan is not None else None
            try:
                address = dns.query(socket, server, host, DNS_TIMEOUT_MS, self.feed_watchdog)
                self._addresses[host] = address
            except OSError as e:
                address = self._addresses.get(host)
                if address is None:
                    raise OSError("DNS: no address for %s: %s" % (host, e))
        self.feed_watchdog()
        return socket.getaddrinfo(address, port, family, kind)  # a literal address: no lookup

    # -- clock -----------------------------------------------------------------------------
    def sync_time(self, attempts=3):
        """Set the RTC from NTP (UTC). The first TLS handshake needs it: mbedtls checks
        certificate dates against the RTC. True when set."""
        ntptime.host = self.ntp_host
        for _ in range(attempts):
            try:
                ntptime.settime()
                self.synced_at = self.clock_ms()
                return True
            except (OSError, OverflowError):
                self.feed_watchdog()
                time.sleep_ms(1000)
        return False

    def maybe_resync(self, synced_ms=None):
        """NTP again once NTP_RESYNC_MS have passed since the last sync: this run's, else
        synced_ms (the clock_ms a deep sleeper kept in RTC memory: a wake is a new run, and NTP at
        every sending wake would cost a DNS lookup and a round trip each). The clock_ms of the
        last sync, for the caller to keep (None: never)."""
        last = self.synced_at if self.synced_at is not None else synced_ms
        if last is None or not 0 <= self.clock_ms() - last <= NTP_RESYNC_MS:  # or the clock went back
            self.sync_time(attempts=1)
        return self.synced_at if self.synced_at is not None else last

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
        """machine.WDT: once started it cannot be stopped or slowed (halt() knows)."""
        self.wdt = machine.WDT(timeout=int(timeout_s * 1000))

    def feed_watchdog(self):
        if self.wdt is not None:
            self.wdt.feed()

    def restart(self, code=3):
        machine.reset()  # code: what the unix port exits with; a board just resets

    def halt(self, code):
        """The end of main.py with the firmware's exit code. Not SystemExit: out of main.py it
        soft-resets straight into main.py again (ports/esp32/main.c), a reboot loop that would
        redo the boot, and its flash writes, many times a minute. Done (0) or a config error
        (2) leave the board at the REPL, where a person finds it; a failed run (1: the clock
        never set, nothing delivered in time) sleeps RETRY_AFTER_S and starts again. With the
        watchdog running (it cannot be stopped) the REPL would be reset under the person, so
        the board sleeps instead: until reset for 0 and 2. The LED blinks code + 1 times first."""
        for _ in range(code + 1):
            self.led(True)
            time.sleep_ms(200)
            self.led(False)
            time.sleep_ms(300)
        if code == 1:
            retry_s = self.field("RETRY_AFTER_S")
            print("halted (code 1): sleeping %s s (RETRY_AFTER_S), then starting again" % retry_s)
            machine.deepsleep(int(retry_s * 1000))
        elif self.wdt is not None:
            print("halted (code %d): the watchdog cannot be stopped: asleep until reset" % code)
            machine.deepsleep()  # no timer wake: a reset (or SAFE_MODE_PIN held) brings it back
        else:
            print("halted (code %d): the REPL is yours; reset the board to start again" % code)

    # -- updates (iotsv_updater.py): a new image into the next OTA partition, or files ---------------
    def update_kind(self):
        """ "image" when the firmware is frozen into the running image (an update is a new image
        for the next OTA partition), "files" when its modules are .mpy files on the flash."""
        import os

        import iotsv_supervisor as supervisor

        try:
            os.stat(getattr(supervisor, "__file__", "") or "-")
            return "files"
        except OSError:  # a frozen module's __file__ names no file on the flash
            return "image"

    def ota_writer(self, size):
        """Where an image release streams to: the partition after the running one."""
        import esp32

        running = esp32.Partition(esp32.Partition.RUNNING)  # pyright: ignore[reportArgumentType]  # the stubs want a label; RUNNING is the documented form
        return OtaWriter(running.get_next_update(), size, self.feed_watchdog)

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

    def awake_ms(self):
        return time.ticks_ms()  # ticks count from the chip's start: each wake is a start

    def clock_ms(self):
        """Milliseconds of the RTC's time (gettimeofday; ESP-IDF keeps it through deep sleep and
        the boot after, which the ticks miss): the deep-sleep schedule's clock."""
        return time.time_ns() // 1000000

    def rtc_memory(self):
        """RTC memory: deep sleep keeps it, a power cut clears it (iotsv_wakestate.py says what is in it)."""
        return machine.RTC().memory()

    def set_rtc_memory(self, data):
        machine.RTC().memory(data)

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
        import iotsv_sensors as sensors

        field = self.field
        out = []
        for name in self.sensor_names:
            if name == "mcu_temp":
                out.append(McuTemperature())
            elif name == "bme280":
                import iotsv_bme280 as bme280

                i2c = machine.I2C(0, sda=machine.Pin(field("I2C_SDA")), scl=machine.Pin(field("I2C_SCL")))
                out.append(bme280.BME280(i2c, field("BME280_ADDRESS")))
            elif name == "dht22":
                import iotsv_dht22 as dht22

                # the same C function: in machine on current firmware (1.29's stubs), in esp only on older ones
                readinto = getattr(machine, "dht_readinto", None)
                if readinto is None:
                    import esp

                    readinto = esp.dht_readinto  # pyright: ignore[reportAttributeAccessIssue]  # older firmware only
                out.append(dht22.DHT22(machine.Pin(field("DHT22_PIN"), machine.Pin.OPEN_DRAIN), readinto))
            elif name == "battery":
                import iotsv_battery as battery

                pin = machine.Pin(field("BATTERY_PIN"))
                adc = machine.ADC(pin, atten=machine.ADC.ATTN_11DB)  # up to about 3.1 V at the pin
                r_top, r_bottom = field("BATTERY_DIVIDER")
                out.append(battery.Battery(adc, r_top, r_bottom, field("BATTERY_GAIN"), field("BATTERY_OFFSET_V")))
            elif name == "simulated":
                out.append(sensors.SimulatedTemperature(self.time))
            else:  # a name SENSORS lists without a driver here
                raise ValueError("SENSORS: no driver for %r" % (name,))
        return out


def wifi_status_name(status):
    """WLAN.status() as a person reads it: the network module's own STAT_ name for it, or the
    ESP-IDF disconnect reason's number (ESP-IDF's wifi_err_reason_t lists them)."""
    for name in dir(network):
        if name.startswith("STAT_") and getattr(network, name) == status:
            return name
    return "disconnect reason %d" % status


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

    def __init__(self, partition, size, feed=None):
        room = partition.info()[3]
        if size > room:
            raise ValueError("the image (%d bytes) does not fit the OTA partition (%d bytes)" % (size, room))
        self.partition = partition
        self.buf = bytearray(partition.ioctl(5, 0) or 4096)  # the block size
        self.fill = 0
        self.block = 0
        self.feed = feed  # the watchdog's: a download of a whole image is one long request

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
                if self.feed is not None:
                    self.feed()

    def finish(self):
        if self.fill:
            for i in range(self.fill, len(self.buf)):
                self.buf[i] = 0xFF
            self.partition.writeblocks(self.block, self.buf)
            self.fill = 0
        self.partition.set_boot()
