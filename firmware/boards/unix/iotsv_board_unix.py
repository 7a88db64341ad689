# The unix port (and CPython) as a board: the OS keeps the clock and the network, the host's
# /proc and /sys give real readings, and a simulated sensor stands in for a temperature probe
# where the host has no thermal zone.
import os
import socket
import sys
import time

import iotsv_sensors as sensors
import iotsv_sensors_unix as sensors_unix
import iotsv_ticks as ticks

# The wake began when main.py first asked for the board, before config.py loaded (a board's ticks
# count from its wake); read once a process, as main.py may make more than one Board.
WOKE = ticks.ms()
# For testing clock recovery: the unix board's clock runs this many seconds off the host's.
SKEW = int(os.getenv("UNIX_CLOCK_SKEW_S") or 0)
if SKEW:
    print("warning: UNIX_CLOCK_SKEW_S: this board's clock is %+d s off the host's" % SKEW)
# For testing the ticks wrap (2**30 ms on a 32-bit build: 12.4 days of a board's uptime): ticks
# start this many ms before it.
_WRAP_IN = int(os.getenv("UNIX_TICKS_WRAP_IN_MS") or -1)
TICKS_OFFSET = ticks.diff(ticks.add(0, -_WRAP_IN), WOKE) if _WRAP_IN >= 0 else 0


def _yes(self, *args):
    return True


def _nothing(self, *args):
    pass


class Board:
    FIELDS = ()  # no config fields of its own (board_esp32.Board.FIELDS says what one declares)

    # What the OS does for a process here, and what the unix port lacks (a watchdog, a status LED,
    # image updates), answered by two functions shared by all of them: a board holds no code of
    # its own for each. The network is up and the clock set (network_up(wait_ms=None),
    # sync_time(), time_is_set()); the OS supervises a process (start_watchdog(timeout_s),
    # feed_watchdog()); led(on); an update is a folder of files (ota_confirm(), ota_revert()).
    network_up = sync_time = time_is_set = _yes
    start_watchdog = feed_watchdog = led = ota_confirm = ota_revert = _nothing
    ticks_diff = staticmethod(ticks.diff)
    ticks_add = staticmethod(ticks.add)  # a + delta_ms on the ticks circle (a plain + grows past the wrap)

    def __init__(self, config=None):
        self.skew = SKEW
        self.ticks_offset = TICKS_OFFSET
        self.booted = WOKE

    def resolve(self, host, port, family=0, kind=0):
        return socket.getaddrinfo(host, port, family, kind)  # the host's resolver, bounded by its OS

    def awake_ms(self):
        """Since the wake began (WOKE)."""
        return ticks.diff(ticks.ms(), self.booted)

    def clock_ms(self):
        """Milliseconds of the clock a board keeps through deep sleep (here the host's)."""
        return time.time_ns() // 1000000 + self.skew * 1000

    def time(self):
        """Unix epoch seconds, UTC (the unix port's epoch is already 1970)."""
        return time.time() + self.skew

    def ticks_ms(self):
        return ticks.add(ticks.ms(), self.ticks_offset) if self.ticks_offset else ticks.ms()

    def sleep_ms(self, ms):
        if ms > 0:
            time.sleep(ms / 1000)

    def maybe_resync(self, synced_ms=None):
        return synced_ms  # the host's OS keeps the clock

    def rtc_memory(self):
        """RTC memory (on unix: a file beside config.py stands in for it; see iotsv_wakestate.py)."""
        try:
            with open("wake.count", "rb") as f:
                return f.read()
        except OSError:
            return b""

    def set_rtc_memory(self, data):
        with open("wake.count", "wb") as f:
            f.write(data)

    def woke_from_deep_sleep(self):
        return bool(self.rtc_memory())  # the run before ended where a board sleeps

    def deep_sleep(self, ms):
        print("deep sleep for %d ms (unix: the process ends; run it again to wake)" % ms)

    def restart(self, code=3):
        # the process ends with this code (3 a crash, 4 an update's restart); its starter decides what next
        return code

    def halt(self, code):
        """The end of main.py: the process exits with the firmware's code, for its starter."""
        sys.exit(code)

    # -- updates: a release's files go into a folder (iotsv_versions.py); no image, no partitions --------
    def update_kind(self):
        return "files"

    def ota_writer(self, size):
        raise ValueError("the unix port takes releases of files, not images")

    def safe_mode(self):
        return False

    def state_dir(self):
        return "state"

    def sensors(self):
        found = sensors_unix.available(
            [sensors_unix.LoadAverage(), sensors_unix.FreeMemory(), sensors_unix.CpuTemperature()]
        )
        if not any(isinstance(s, sensors_unix.CpuTemperature) for s in found):
            found.append(sensors.SimulatedTemperature(self.time))
        return found
