# Bosch BME280 (and BMP280) over I2C: temperature, pressure and humidity in forced mode, with the
# integer compensation formulas of the Bosch datasheet. `i2c` is anything with readfrom_mem and
# writeto_mem (machine.I2C on a board, a fake that replays registers in tests).
import struct
import time

from iotsv_sensors import Sensor, SensorError

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


CHIP_BME280 = const(0x60)  # what REG_ID reads
CHIP_BMP280 = const(0x58)
REG_ID = const(0xD0)
REG_CALIB_A = const(0x88)  # 26 bytes: T1-T3, P1-P9, H1
REG_CALIB_H = const(0xE1)  # 7 bytes: H2-H6 (BME280 only)
REG_CTRL_HUM = const(0xF2)
REG_STATUS = const(0xF3)
REG_CTRL_MEAS = const(0xF4)
REG_DATA = const(0xF7)  # pressure, temperature, humidity: 8 bytes
OVERSAMPLE_1 = const(1)
FORCED = const(1)


class Calibration:
    def __init__(self, a, h=None):
        """a: the 26 bytes from 0x88; h: the 7 bytes from 0xE1 (BME280 only)."""
        (self.T1, self.T2, self.T3, self.P1, self.P2, self.P3, self.P4, self.P5, self.P6, self.P7, self.P8, self.P9) = (
            struct.unpack("<HhhHhhhhhhhh", a[:24])
        )
        self.H1 = a[25]
        if h is not None:
            self.H2 = struct.unpack("<h", h[0:2])[0]
            self.H3 = h[2]
            self.H4 = _signed12((h[3] << 4) | (h[4] & 0x0F))
            self.H5 = _signed12((h[5] << 4) | (h[4] >> 4))
            self.H6 = struct.unpack("<b", h[6:7])[0]


def _signed12(v):
    return v - 4096 if v & 0x800 else v


def t_fine(c, adc_t):
    var1 = (((adc_t >> 3) - (c.T1 << 1)) * c.T2) >> 11
    var2 = (((((adc_t >> 4) - c.T1) * ((adc_t >> 4) - c.T1)) >> 12) * c.T3) >> 14
    return var1 + var2


def temperature_centi_c(tf):
    """Hundredths of a degree Celsius."""
    return (tf * 5 + 128) >> 8


def pressure_q24_8(c, tf, adc_p):
    """Pascal in Q24.8 (divide by 256), the datasheet's 64-bit formula."""
    var1 = tf - 128000
    var2 = var1 * var1 * c.P6
    var2 += (var1 * c.P5) << 17
    var2 += c.P4 << 35
    var1 = ((var1 * var1 * c.P3) >> 8) + ((var1 * c.P2) << 12)
    var1 = (((1 << 47) + var1) * c.P1) >> 33
    if var1 == 0:
        return 0  # avoids a division by zero
    p = 1048576 - adc_p
    p = (((p << 31) - var2) * 3125) // var1
    var1 = (c.P9 * (p >> 13) * (p >> 13)) >> 25
    var2 = (c.P8 * p) >> 19
    return ((p + var1 + var2) >> 8) + (c.P7 << 4)


def humidity_q22_10(c, tf, adc_h):
    """%RH in Q22.10 (divide by 1024), the datasheet's 32-bit formula."""
    v = tf - 76800
    v = ((((adc_h << 14) - (c.H4 << 20) - (c.H5 * v)) + 16384) >> 15) * (
        ((((((v * c.H6) >> 10) * (((v * c.H3) >> 11) + 32768)) >> 10) + 2097152) * c.H2 + 8192) >> 14
    )
    v -= ((((v >> 15) * (v >> 15)) >> 7) * c.H1) >> 4
    v = 0 if v < 0 else (419430400 if v > 419430400 else v)
    return v >> 12


class BME280(Sensor):
    name = "BME280"

    def __init__(self, i2c, address=0x76, sleep_ms=None):
        self.i2c = i2c
        self.address = address
        self.sleep_ms = sleep_ms or getattr(time, "sleep_ms", lambda ms: time.sleep(ms / 1000))
        self.calibration = None

    def _read(self, reg, n):
        try:
            return self.i2c.readfrom_mem(self.address, reg, n)
        except OSError as e:
            raise SensorError("%s at 0x%02x does not answer on I2C (%s)" % (self.name, self.address, e))

    def _setup(self):
        chip = self._read(REG_ID, 1)[0]
        if chip not in (CHIP_BME280, CHIP_BMP280):
            raise SensorError("0x%02x is not a BME280/BMP280 (chip id 0x%02x)" % (self.address, chip))
        self.humidity = chip == CHIP_BME280
        self.calibration = Calibration(
            self._read(REG_CALIB_A, 26), self._read(REG_CALIB_H, 7) if self.humidity else None
        )

    def read(self):
        if self.calibration is None:
            self._setup()
        try:
            if self.humidity:
                self.i2c.writeto_mem(self.address, REG_CTRL_HUM, bytes((OVERSAMPLE_1,)))
            self.i2c.writeto_mem(
                self.address, REG_CTRL_MEAS, bytes(((OVERSAMPLE_1 << 5) | (OVERSAMPLE_1 << 2) | FORCED,))
            )
        except OSError as e:
            raise SensorError("%s at 0x%02x does not answer on I2C (%s)" % (self.name, self.address, e))
        for _ in range(20):  # a forced measurement at 1x oversampling takes under 10 ms
            if not self._read(REG_STATUS, 1)[0] & 0x08:
                break
            self.sleep_ms(2)
        else:
            raise SensorError("%s at 0x%02x stays busy" % (self.name, self.address))
        d = self._read(REG_DATA, 8)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        if adc_t == 0x80000:
            raise SensorError("%s at 0x%02x gave no temperature (skipped measurement)" % (self.name, self.address))
        c = self.calibration
        tf = t_fine(c, adc_t)
        out = {"temp_c": temperature_centi_c(tf) / 100, "pressure_hpa": round(pressure_q24_8(c, tf, adc_p) / 25600, 2)}
        if self.humidity:
            out["humidity_pct"] = round(humidity_q22_10(c, tf, (d[6] << 8) | d[7]) / 1024, 1)
        return out
