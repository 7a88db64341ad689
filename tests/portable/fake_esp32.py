# Fakes of the ESP32's machine, network, ntptime and esp32 modules, installed in sys.modules so
# board_esp32 can be tested on the host (CPython and the unix port alike).
import sys
import time


class Clock:
    """The RTC: seconds since the port's epoch; settime() sets it to `ntp_now`."""

    def __init__(self):
        self.rtc = 0
        self.ticks = 0


CLOCK = Clock()


class WLAN:
    instances = []

    def __init__(self, interface):
        self.connected = False
        self.connect_calls = []
        self.connects_after = 0  # connect() calls until the access point answers
        self.active_state = False
        WLAN.instances.append(self)

    def active(self, on):
        self.active_state = on

    def isconnected(self):
        return self.connected

    def connect(self, ssid, password):
        self.connect_calls.append((ssid, password, CLOCK.ticks))
        if len(self.connect_calls) > self.connects_after:
            self.connected = True


class WDT:
    created = []

    def __init__(self, timeout):
        self.timeout = timeout
        self.feeds = 0
        WDT.created.append(self)

    def feed(self):
        self.feeds += 1


class Module:
    pass


class RTC:
    kept = b""  # RTC memory: survives deep sleep

    def memory(self, data=None):
        if data is None:
            return RTC.kept
        RTC.kept = bytes(data)


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin, self.atten = pin, atten

    def read_uv(self):
        return 1850000


class Pin:
    IN, OUT, OPEN_DRAIN, PULL_UP = 0, 1, 2, 3
    held_low = ()  # pins a person holds to ground

    def __init__(self, *args):
        self.args = args
        self.level = None

    def value(self, v=None):
        if v is None:
            return 0 if self.args[0] in Pin.held_low else 1
        self.level = v


class Partition:
    """esp32.Partition over two OTA slots in RAM: writeblocks(block, buf) erases and writes a 4 KB
    block, set_boot() picks the boot slot, mark_app_valid_cancel_rollback() is recorded."""

    RUNNING = -1
    BLOCK = 4096
    slots = {}  # label: bytearray (erased: 0xFF)
    running = "ota_0"
    boot = "ota_0"
    confirmed = []  # the running slot each time it was marked valid

    @classmethod
    def reset(cls, size=64 * 1024):
        cls.slots = {"ota_0": bytearray(b"\xff" * size), "ota_1": bytearray(b"\xff" * size)}
        cls.running = cls.boot = "ota_0"
        cls.confirmed = []

    def __init__(self, which):
        self.label = Partition.running if which == Partition.RUNNING else which

    def get_next_update(self):
        return Partition("ota_1" if self.label == "ota_0" else "ota_0")

    def info(self):
        return (0, 16, 0x10000, len(Partition.slots[self.label]), self.label, False)

    def ioctl(self, op, arg):
        data = Partition.slots[self.label]
        return {4: len(data) // Partition.BLOCK, 5: Partition.BLOCK}.get(op)

    def writeblocks(self, block, buf):
        assert len(buf) == Partition.BLOCK and self.label != Partition.running  # never the running image
        start = block * Partition.BLOCK
        Partition.slots[self.label][start : start + len(buf)] = buf

    def set_boot(self):
        Partition.boot = self.label

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        cls.confirmed.append(cls.running)


def install(ntp_now=None, ntp_fails=0, mcu_c=None, raw_f=None):
    machine = Module()
    machine.WDT = WDT
    machine.DEEPSLEEP_RESET = 4
    machine.reset_cause = lambda: 1
    machine.unique_id = lambda: b"\x24\x0a\xc4\x12\x34\x56"
    machine.deepsleep = lambda ms: setattr(machine, "slept", ms)
    machine.reset = lambda: setattr(machine, "was_reset", True)
    network = Module()
    network.STA_IF = 0
    network.WLAN = WLAN
    ntptime = Module()
    ntptime.host = None
    state = {"fails": ntp_fails}

    def settime():
        if state["fails"]:
            state["fails"] -= 1
            raise OSError(110)
        CLOCK.rtc = ntp_now

    ntptime.settime = settime
    esp32 = Module()
    esp32.Partition = Partition
    Partition.reset()
    if mcu_c is not None:
        esp32.mcu_temperature = lambda: mcu_c
    if raw_f is not None:
        esp32.raw_temperature = lambda: raw_f
    esp = Module()

    def dht_readinto(pin, buf):  # the DHT22 datasheet's example bytes
        buf[:] = bytes((0x02, 0x8C, 0x01, 0x5F, 0xEE))

    esp.dht_readinto = dht_readinto
    machine.Pin = Pin
    machine.ADC = ADC
    machine.RTC = RTC
    for name, mod in (("machine", machine), ("network", network), ("ntptime", ntptime), ("esp32", esp32), ("esp", esp)):
        sys.modules[name] = mod
    return machine, network, ntptime


def patch_time(board_module):
    """Point the board module's clock at CLOCK: time() from the RTC, ticks and sleeps simulated."""
    fake = Module()
    fake.time = lambda: CLOCK.rtc
    fake.ticks_ms = lambda: CLOCK.ticks
    fake.ticks_diff = lambda a, b: a - b
    fake.ticks_add = lambda a, d: a + d

    def sleep_ms(ms):
        CLOCK.ticks += ms
        CLOCK.rtc += ms // 1000

    fake.sleep_ms = sleep_ms
    board_module.time = fake
    return time
