# Fakes of the ESP32's machine, network, ntptime and esp32 modules, installed in sys.modules so
# board_esp32 can be tested on the host (CPython and the unix port alike).
import sys
import time


class WatchdogReset(BaseException):
    """The unfed machine.WDT's reset: a BaseException, so no `except Exception` in the firmware
    swallows it, as nothing on a board outlives the real one."""


class HardReset(BaseException):
    """machine.reset(): the chip restarts (ports/esp32/modmachine.c: esp_restart(), no return)."""


class DeepSleep(BaseException):
    """machine.deepsleep(ms): the chip powers down and the next wake starts at boot (extmod/
    modmachine.c's deepsleep into the port's esp_deep_sleep_start(): no return); ms 0 is no timer
    wake (until reset)."""

    def __init__(self, ms):
        super().__init__(ms)
        self.ms = ms


class Clock:
    """The RTC (seconds since the port's epoch; settime() sets it to `ntp_now`) and ticks_ms.
    Time moves only by advance(), which checks the watchdog as the real one runs: unfed past its
    timeout, the chip resets."""

    def __init__(self):
        self.rtc = 0
        self.ticks = 0
        self.ms = 0  # below a second, carried into the RTC

    def advance(self, ms):
        self.ticks += ms
        self.ms += ms
        self.rtc += self.ms // 1000
        self.ms %= 1000
        for wdt in WDT.created:
            wdt.check()


CLOCK = Clock()

# network.STAT_*: ports/esp32/modnetwork_globals.h; the failures are ESP-IDF's wifi_err_reason_t
STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP = 1000, 1001, 1010
STAT_BEACON_TIMEOUT, STAT_NO_AP_FOUND, STAT_WRONG_PASSWORD, STAT_ASSOC_FAIL, STAT_HANDSHAKE_TIMEOUT = (
    200,
    201,
    202,
    203,
    204,
)


class WLAN:
    """The station as ports/esp32/network_wlan.c drives it: connect() starts one association and
    returns; status() is STAT_CONNECTING while a connect is requested and the driver still
    retries (config(reconnects=n): n more tries after the first, -1 forever), then the reason of
    the last disconnect; connect() while connecting raises OSError("Wifi Internal Error"), as
    ESP_ERR_WIFI_CONN comes out of esp_exceptions (ports/esp32/network_common.c); disconnect()
    ends the request. The access point: `ap` (ssid, password), each try taking `try_ms`."""

    instances = []
    ap = None  # (ssid, password) of the access point in range; None: none in range

    def __init__(self, interface):
        self.connected = False
        self.connect_calls = []
        self.disconnects = 0
        self.active_state = False
        self.requested = False
        self.reason = 0  # the last disconnect's reason, 0 none
        self.reconnects = -1  # the port's default: retry forever
        self.tries = 0
        self.try_ms = 2000  # a scan and an association attempt
        self.started = 0
        WLAN.instances.append(self)

    def active(self, on=None):
        if on is not None:
            self.active_state = on
        return self.active_state

    def config(self, **kw):
        if "reconnects" in kw:
            self.reconnects = kw["reconnects"]

    def _update(self):
        """What the driver did since connect(): one try every try_ms until one succeeds or the
        tries run out."""
        if not self.requested or self.connected:
            return
        while CLOCK.ticks - self.started >= (self.tries + 1) * self.try_ms:
            self.tries += 1
            if WLAN.ap is None:
                self.reason = STAT_NO_AP_FOUND
            elif WLAN.ap[1] != self.password:
                self.reason = STAT_WRONG_PASSWORD
            else:
                self.connected, self.reason = True, 0
                return
            if self.reconnects >= 0 and self.tries > self.reconnects:
                return  # the driver gave up: status() is the reason now

    def isconnected(self):
        self._update()
        return self.connected

    def status(self):
        self._update()
        if self.connected:
            return STAT_GOT_IP
        if self.requested and (self.reconnects < 0 or self.tries <= self.reconnects):
            return STAT_CONNECTING
        return self.reason or STAT_IDLE

    def connect(self, ssid, password=None):
        self.connect_calls.append((ssid, password, CLOCK.ticks))
        if self.status() == STAT_CONNECTING:
            raise OSError("Wifi Internal Error")
        self.ssid, self.password = ssid, password
        self.requested, self.connected, self.tries, self.started = True, False, 0, CLOCK.ticks

    def ifconfig(self):
        if self.isconnected():
            return ("192.168.1.23", "255.255.255.0", "192.168.1.1", "192.168.1.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def disconnect(self):
        self.disconnects += 1
        self.requested = self.connected = False

    def drop(self, reason=STAT_BEACON_TIMEOUT):
        """The access point went away after a connection."""
        self.connected, self.reason, self.requested = False, reason, False


class WDT:
    """machine.WDT: once started it cannot be stopped (extmod/machine_wdt.c has no deinit; the
    task watchdog stays armed across a soft reset); unfed for `timeout` ms, the chip resets."""

    created = []

    def __init__(self, timeout):
        self.timeout = timeout
        self.feeds = 0
        self.fed_at = CLOCK.ticks
        self.longest = 0  # the longest stretch unfed, ms
        WDT.created.append(self)

    def feed(self):
        self.check()
        self.feeds += 1
        self.fed_at = CLOCK.ticks

    def check(self):
        unfed = CLOCK.ticks - self.fed_at
        self.longest = max(self.longest, unfed)
        if unfed > self.timeout:
            WDT.created.remove(self)
            raise WatchdogReset("watchdog: unfed for %d ms (timeout %d ms)" % (unfed, self.timeout))


class Module:
    pass


class RTC:
    """RTC memory (ports/esp32/machine_rtc.c keeps it in RTC slow memory): deep sleep
    keeps it, a power cut clears it (power_cut())."""

    kept = b""

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
    machine.PWRON_RESET, machine.HARD_RESET, machine.WDT_RESET, machine.DEEPSLEEP_RESET = 1, 2, 3, 4
    machine.cause = machine.PWRON_RESET
    machine.reset_cause = lambda: machine.cause
    machine.unique_id = lambda: b"\x24\x0a\xc4\x12\x34\x56"
    machine.slept = None

    def deepsleep(ms=0):
        machine.slept = ms
        raise DeepSleep(ms)

    def reset():
        machine.was_reset = True
        raise HardReset()

    machine.deepsleep = deepsleep
    machine.reset = reset
    WDT.created = []
    WLAN.ap = None
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
    for name in list(globals()):
        if name.startswith("STAT_"):
            setattr(network, name, globals()[name])
    for name, mod in (("machine", machine), ("network", network), ("ntptime", ntptime), ("esp32", esp32), ("esp", esp)):
        sys.modules[name] = mod
    return machine, network, ntptime


def power_cut():
    """Power off and on: RTC memory and the watchdog are gone; files on the flash stay."""
    RTC.kept = b""
    WDT.created = []
    sys.modules["machine"].cause = sys.modules["machine"].PWRON_RESET


class Port:
    """What ports/esp32/main.c does around main.py: run it; when it returns, the REPL runs (the
    board waits for a person); SystemExit out of it is PYEXEC_FORCED_EXIT (shared/runtime/
    pyexec.c), which main.c answers with a soft reset, straight into main.py again. A reset
    (machine.reset(), the watchdog) or a wake from deep sleep starts it again too; deep sleep
    keeps RTC memory. A run of soft resets is a reboot loop, which run() reports."""

    def __init__(self, loop_after=5):
        self.loop_after = loop_after
        self.boots = []  # how each run of main.py ended

    def run(self, main, max_boots=20):
        """Runs main (main.py) as the port would, until the REPL, a deep sleep with no timer wake,
        or max_boots; how it ended. AssertionError on loop_after soft resets in a row."""
        machine = sys.modules["machine"]
        soft = 0
        for _ in range(max_boots):
            try:
                main()
            except SystemExit as e:
                soft += 1
                self.boots.append("soft reset (SystemExit %s)" % (e.args[0] if e.args else None))
                if soft >= self.loop_after:
                    raise AssertionError("reboot loop: %d soft resets in a row: %s" % (soft, self.boots))
                continue
            except HardReset:
                self.boots.append("reset")
                WDT.created = []  # esp_restart(): the chip starts afresh
                machine.cause = machine.HARD_RESET
            except WatchdogReset:
                self.boots.append("watchdog reset")
                machine.cause = machine.WDT_RESET
            except DeepSleep as e:
                self.boots.append("deep sleep %d ms" % e.ms)
                WDT.created = []  # the chip powered down: no watchdog until the app starts one
                if not e.ms:
                    return "asleep until reset"
                CLOCK.advance(e.ms)
                machine.cause = machine.DEEPSLEEP_RESET
            else:
                self.boots.append("repl")
                return "repl"
            soft = 0
        return "still booting after %d boots" % max_boots


def patch_time(board_module):
    """Point the board module's clock at CLOCK: time() from the RTC, ticks and sleeps simulated."""
    fake = Module()
    fake.time = lambda: CLOCK.rtc
    fake.time_ns = lambda: (CLOCK.rtc * 1000 + CLOCK.ms) * 1000000  # the RTC's, through deep sleep too
    fake.ticks_ms = lambda: CLOCK.ticks
    fake.ticks_diff = lambda a, b: a - b
    fake.ticks_add = lambda a, d: a + d

    def sleep_ms(ms):
        CLOCK.advance(ms)

    fake.sleep_ms = sleep_ms
    board_module.time = fake
    return time


class DNS:
    """The network's DNS server as the board's UDP query meets it: names (host: IPv4 address)
    answered at once; None: no answer, each receive waiting out its timeout."""

    names = {}
    asked = []  # (server, host) of each query


class UdpSocket:
    """socket.socket(AF_INET, SOCK_DGRAM) towards DNS: sendto() a query, recv() its answer (built
    here byte by byte, RFC 1035) or, with DNS.names None, OSError(ETIMEDOUT) after the timeout."""

    def __init__(self, *args):
        self.timeout_ms = None
        self.reply = None

    def settimeout(self, seconds):
        self.timeout_ms = int(seconds * 1000)

    def sendto(self, data, where):
        pos, labels = 12, []
        while data[pos]:
            labels.append(bytes(data[pos + 1 : pos + 1 + data[pos]]).decode())
            pos += 1 + data[pos]
        host = ".".join(labels)
        DNS.asked.append((where[0], host))
        if DNS.names is None:
            return
        address = DNS.names.get(host)
        head = bytes(data[:2]) + (b"\x81\x80" if address else b"\x81\x83")  # a response; 3: no such name
        head += b"\x00\x01" + (b"\x00\x01" if address else b"\x00\x00") + b"\x00\x00\x00\x00"
        body = bytes(data[12 : pos + 5])
        if address:
            body += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes(int(p) for p in address.split("."))
        self.reply = head + body

    def recv(self, n):
        if self.reply is None:
            CLOCK.advance(self.timeout_ms)
            raise OSError(110)  # ETIMEDOUT
        return self.reply[:n]

    def close(self):
        pass


def install_socket():
    """A socket module: getaddrinfo of a literal address (as lwIP answers it without a lookup; a
    name here would be the unbounded lookup the board must not make) and UDP sockets to DNS."""
    sock = Module()
    sock.AF_INET, sock.SOCK_STREAM, sock.SOCK_DGRAM = 2, 1, 2

    def getaddrinfo(host, port, family=0, kind=0):
        parts = host.split(".")
        assert len(parts) == 4 and all(p.isdigit() for p in parts), "getaddrinfo(%r) would block in lwIP" % host
        return [(sock.AF_INET, kind or sock.SOCK_STREAM, 0, "", (host, port))]

    sock.getaddrinfo = getaddrinfo
    sock.socket = UdpSocket
    DNS.names, DNS.asked = {}, []
    sys.modules["socket"] = sock
    return sock


class Flash:
    """A flash partition as littlefs sees it through MicroPython's extended block protocol
    (extmod/vfs_blockdev.c: readblocks/writeblocks with an offset, ioctl 6 to erase; ports/
    esp32's esp32.Partition is one, 4 KB blocks). NOR flash: a program only clears bits of an
    erased block, which is checked. Programs, program bytes and erases are counted per block."""

    def __init__(self, blocks=256, block_size=4096):
        self.block_size = block_size
        self.data = bytearray(blocks * block_size)
        erased = b"\xff" * block_size
        for i in range(blocks):  # erased a block at a time: no second copy of the whole flash in the heap
            self.data[i * block_size : (i + 1) * block_size] = erased
        self.erases = [0] * blocks
        self.progs = 0
        self.prog_bytes = 0

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        buf[:] = self.data[start : start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # the simple protocol: erase, then write whole blocks
            for i in range(len(buf) // self.block_size):
                self.ioctl(6, block + i)
            offset = 0
        start = block * self.block_size + offset
        for i in range(len(buf)):
            assert self.data[start + i] == 0xFF or self.data[start + i] & buf[i] == buf[i], "programmed unerased"
        self.data[start : start + len(buf)] = buf
        self.progs += 1
        self.prog_bytes += len(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.erases)
        if op == 5:
            return self.block_size
        if op == 6:
            start = arg * self.block_size
            self.data[start : start + self.block_size] = b"\xff" * self.block_size
            self.erases[arg] += 1
            return 0
        return None
