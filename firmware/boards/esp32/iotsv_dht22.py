# DHT22 / AM2302: 40 bits on one wire, humidity and temperature in tenths with a checksum. The
# board reads the bits (the ESP32 with esp.dht_readinto, given by board_esp32); decoding, and the
# pulse timing it rests on, is here, so it can be checked against the datasheet's example.
from iotsv_sensors import Sensor, SensorError

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


ONE_ABOVE_US = const(48)  # a bit's high pulse: 26-28 us is 0, 70 us is 1


def bytes_from_pulses(high_us):
    """The 5 bytes of 40 high-pulse lengths (microseconds), most significant bit first."""
    if len(high_us) != 40:
        raise SensorError("DHT22 sent %d bits, not 40" % len(high_us))
    out = bytearray(5)
    for i, us in enumerate(high_us):
        if us > ONE_ABOVE_US:
            out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


def decode(data):
    """{"humidity_pct", "temp_c"} of the 5 bytes; a bad checksum is an error, not a reading."""
    if (data[0] + data[1] + data[2] + data[3]) & 0xFF != data[4]:
        raise SensorError("DHT22 checksum does not match (a disturbed line?)")
    humidity = ((data[0] << 8) | data[1]) / 10
    raw_t = ((data[2] & 0x7F) << 8) | data[3]
    temp = -raw_t / 10 if data[2] & 0x80 else raw_t / 10
    if humidity > 100:
        raise SensorError("DHT22 humidity %.1f%% is out of range" % humidity)
    return {"humidity_pct": humidity, "temp_c": temp}


class DHT22(Sensor):
    name = "DHT22"

    def __init__(self, pin, read_bits):
        self.pin = pin
        self.read_bits = read_bits  # read_bits(pin, buf) fills 5 bytes; esp.dht_readinto on an ESP32

    def read(self):
        buf = bytearray(5)
        try:
            self.read_bits(self.pin, buf)
        except OSError as e:
            raise SensorError("DHT22 does not answer (%s)" % e)
        return decode(buf)
