# What a deep-sleeping board keeps from one wake to the next, so that a wake which only takes a
# reading validates no config and scans no spool:
# - RTC memory (deep sleep keeps it, a power cut clears it; on unix the file wake.count stands
#   in): one line, Line below;
# - the file wake.settings beside config.py: that config's validated settings under the same key
#   (versions.config_key), replaced only when they change (a flash write per change of config,
#   not per wake).
# A reading wake takes the settings only when both keys are config.py's now; anything torn,
# garbled, of another format or another config, and the wake validates in full. Small: the ESP32
# port's RTC user memory is 2 KB (ports/esp32/machine_rtc.c); a line here is 150 to 250 bytes,
# most of it the spool's.
from binascii import crc32, hexlify, unhexlify

import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload

FORMAT = "2"
SETTINGS_FILE = "wake.settings"
# the settings' DER bytes are not copied (a device key stays in one file): read again from the
# file each came from (iotsv_settings._der_file)
_DER_FROM = {"ca_der": "CA_FILE", "device_cert": "DEVICE_CERT_FILE", "device_key": "DEVICE_KEY_FILE"}
BACKOFF_MAX = 16  # a wake that finds no network: the next tries come 2, 4, ... 16 sending wakes on


def _crc(data):
    return "%08x" % (crc32(data) & 0xFFFFFFFF)


class Line:
    """The RTC memory line, "2 <wake> <key> <due> <misses> <retry_at> <synced> <spool> <crc32>":
    wakes since the power-on or reset; the key of the config this run validated
    (versions.config_key, or None); the clock_ms the next wake is due at (next_sleep, or None);
    sending wakes in a row that found no network and the wake before which the next may not try
    (backoff); the clock_ms of the last NTP sync (Board.maybe_resync, or None); the state a scan
    of the spool finds (Spool.kept(), or None)."""

    def __init__(self, wake=0, key=None, due=None, misses=0, retry_at=0, kept=None, synced=None):
        self.wake, self.key, self.due, self.misses, self.retry_at = wake, key, due, misses, retry_at
        self.kept, self.synced = kept, synced

    def encode(self):
        body = "%s %d %s %s %d %d %s %s" % (
            FORMAT,
            self.wake,
            self.key or "-",
            _text_of(self.due),
            self.misses,
            self.retry_at,
            _text_of(self.synced),
            self.kept or "-",  # last: its fields are the spool's business (Spool.kept())
        )
        return body.encode()

    def backoff(self, wake, send_every):
        """This wake (number `wake`) found no network: the next try is some sending wakes on."""
        self.misses += 1
        self.retry_at = wake + send_every * min(1 << min(self.misses, 8), BACKOFF_MAX)


def _text_of(n):
    return "-" if n is None else "%d" % n


def _int_of(text):
    return None if text == "-" else int(text)


def load(board):
    """The Line in RTC memory; a fresh Line (no state) for nothing, a torn or garbled line or
    another format."""
    data = bytes(board.rtc_memory() or b"")
    body, _, crc = data.rpartition(b" ")
    try:
        p = body.decode().split(" ")
        if p[0] != FORMAT or len(p) < 8 or crc.decode() != _crc(body):
            return Line()
        kept = " ".join(p[7:])  # the spool's own line, last
        key = p[2] if p[2] != "-" else None
        return Line(int(p[1]), key, _int_of(p[3]), int(p[4]), int(p[5]), None if kept == "-" else kept, _int_of(p[6]))
    except (UnicodeError, ValueError):
        return Line()


def save(board, line):
    body = line.encode()
    board.set_rtc_memory(body + b" " + _crc(body).encode())


def next_sleep(due, now, interval_ms, awake_ms):
    """(ms to sleep, clock_ms the next wake is due at) for a wake due at `due` (None: the first,
    or none kept) ending at `now` (the board's clock_ms, which deep sleep does not stop). The
    next wake is due an interval after this one was: what the ticks miss of a wake (the boot
    before them) is subtracted too, so the readings keep their slots. A wake that outlasted its
    interval (or a clock set forward) skips the slots it missed; no slot kept, or a clock set
    back past it, and the schedule starts again from this wake's start (now less awake_ms)."""
    if due is None or due > now:  # none kept, or a clock set back since
        due = now - awake_ms
    nxt = due + interval_ms
    if nxt < now and interval_ms:
        nxt += ((now - nxt) // interval_ms + 1) * interval_ms  # the slots it missed are skipped
    return max(0, nxt - now), nxt


def reads_only(wake, send_every):
    """True for a wake (counted from 1 since the power-on or reset) that only takes a reading: not
    the first, which checks everything, nor a SEND_EVERY-th, which sends."""
    return wake > 1 and wake % send_every != 0


def _text(settings, key):
    """wake.settings: "<key> <crc32 of the rest>" then one "name json" line a value, in name order
    (the same settings give the same bytes: the file is replaced only when they change)."""
    import json

    lines = []
    values = settings.__dict__
    for name in sorted(values):
        value = values[name]
        if name in _DER_FROM:
            value = {"file": getattr(settings, _DER_FROM[name])} if value is not None else None
        elif isinstance(value, bytes):
            value = {"hex": hexlify(value).decode()}
        lines.append("%s %s\n" % (name, json.dumps(value)))
    body = "".join(lines).encode()
    return ("%s %s\n" % (key, _crc(body))).encode() + body


def save_settings(settings, key, path=SETTINGS_FILE):
    """Keep the validated settings of the config with this key for the reading wakes to come;
    written only when they differ from what the file holds."""
    data = _text(settings, key)
    if atomicload.read_bytes(path) != data:
        atomicfile.replace(path, data)


class Kept:
    """The settings a reading wake takes from wake.settings, attribute for attribute as
    iotsv_settings.Settings has them (declared here: those this module reads)."""

    POWER_MODE: str
    SEND_EVERY: float
    wake_key: str | None = None


def _value(v):
    if isinstance(v, list):  # JSON's arrays were the config's tuples
        return tuple(_value(x) for x in v)
    if isinstance(v, dict):
        if "hex" in v:
            return unhexlify(v["hex"])
        data = atomicload.read_bytes(v["file"])
        if data is None:
            raise ValueError("cannot read %s" % v["file"])
        return data
    return v


def load_settings(key, path=SETTINGS_FILE):
    """The Kept settings of wake.settings when it is whole and holds the config with this key;
    else None (validate in full)."""
    import json

    data = atomicload.read_bytes(path)
    if not data or key is None:
        return None
    head, _, body = data.partition(b"\n")
    if head != ("%s %s" % (key, _crc(body))).encode():
        return None
    s = Kept()
    try:
        for line in body.decode().split("\n"):
            if line:
                name, _, text = line.partition(" ")
                setattr(s, name, _value(json.loads(text)))
    except (UnicodeError, ValueError, KeyError, TypeError):
        return None
    return s


def reading_settings(board, key, path=SETTINGS_FILE):
    """On a deep-sleep wake that will only take a reading: the settings the previous wakes
    validated, when RTC memory and wake.settings both hold the key of config.py as it is now
    (versions.config_key); else None, and the config is validated in full."""
    line = load(board)
    if key is None or line.key != key:
        return None
    s = load_settings(key, path)
    if s is None or getattr(s, "POWER_MODE", None) != "deep_sleep" or not reads_only(line.wake + 1, s.SEND_EVERY):
        return None
    s.wake_key = key
    return s
