# Sensor drivers against fake buses replaying the datasheets' examples.
import struct

import iotsv_bme280 as bme280
import iotsv_dht22 as dht22
from iotsv_sensors import SensorError
from portable import raises

# BMP280 datasheet, 3.12 "Calculating pressure and temperature": calibration and raw readings
T_CAL = (27504, 26435, -1000)
P_CAL = (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
ADC_T, ADC_P = 519888, 415148
# Humidity calibration of a typical part (the datasheet gives no worked humidity example)
H_CAL = dict(H1=75, H2=362, H3=0, H4=313, H5=50, H6=30)


def calib_a():
    return struct.pack("<HhhHhhhhhhhh", *(T_CAL + P_CAL)) + bytes((0, H_CAL["H1"]))


def calib_h():
    h4, h5 = H_CAL["H4"], H_CAL["H5"]
    return (
        struct.pack("<hB", H_CAL["H2"], H_CAL["H3"])
        + bytes((h4 >> 4, (h4 & 0x0F) | ((h5 & 0x0F) << 4), h5 >> 4))
        + struct.pack("<b", H_CAL["H6"])
    )


def raw_data(adc_p, adc_t, adc_h):
    return bytes(
        (
            adc_p >> 12,
            (adc_p >> 4) & 0xFF,
            (adc_p & 0x0F) << 4,
            adc_t >> 12,
            (adc_t >> 4) & 0xFF,
            (adc_t & 0x0F) << 4,
            adc_h >> 8,
            adc_h & 0xFF,
        )
    )


class FakeI2C:
    """Registers of one device; writes are recorded; a missing device raises as machine.I2C does."""

    def __init__(self, chip=0x60, adc_h=30000, present=True, busy_reads=1):
        self.regs = {0xD0: bytes((chip,)), 0x88: calib_a(), 0xE1: calib_h(), 0xF7: raw_data(ADC_P, ADC_T, adc_h)}
        self.present = present
        self.busy_reads = busy_reads
        self.writes = []

    def readfrom_mem(self, addr, reg, n):
        if not self.present:
            raise OSError(19)  # ENODEV: no ACK
        if reg == 0xF3:
            self.busy_reads -= 1
            return b"\x08" if self.busy_reads >= 0 else b"\x00"
        return self.regs[reg][:n]

    def writeto_mem(self, addr, reg, data):
        self.writes.append((addr, reg, bytes(data)))


def test_bmp280_datasheet_example_temperature_and_pressure():
    c = bme280.Calibration(calib_a())
    tf = bme280.t_fine(c, ADC_T)
    assert tf == 128422 and bme280.temperature_centi_c(tf) == 2508  # 25.08 C
    p = bme280.pressure_q24_8(c, tf, ADC_P)
    # the datasheet's 100653.27 Pa comes from its floating-point formula; the integer one is 3/256 Pa off
    assert abs(p / 256 - 100653.27) < 0.05


def test_humidity_integer_formula_agrees_with_the_floating_point_one():
    c = bme280.Calibration(calib_a(), calib_h())
    tf = bme280.t_fine(c, ADC_T)
    for adc_h in (20000, 26000, 30000, 36000, 42000):
        var = tf - 76800.0
        h = (adc_h - (c.H4 * 64.0 + c.H5 / 16384.0 * var)) * (
            c.H2 / 65536.0 * (1.0 + c.H6 / 67108864.0 * var * (1.0 + c.H3 / 67108864.0 * var))
        )
        h = min(100.0, max(0.0, h * (1.0 - c.H1 * h / 524288.0)))
        got = bme280.humidity_q22_10(c, tf, adc_h) / 1024
        assert abs(got - h) < 0.05, (adc_h, got, h)


def test_bme280_driver_reads_in_forced_mode():
    bus = FakeI2C()
    sensor = bme280.BME280(bus, sleep_ms=lambda ms: None)
    values = sensor.read()
    assert values["temp_c"] == 25.08 and values["pressure_hpa"] == 1006.53
    assert 0 < values["humidity_pct"] <= 100
    assert (0x76, 0xF2, b"\x01") in bus.writes and (0x76, 0xF4, b"\x25") in bus.writes  # 1x, forced


def test_bmp280_has_no_humidity_and_failures_are_clear_errors():
    assert "humidity_pct" not in bme280.BME280(FakeI2C(chip=0x58), sleep_ms=lambda ms: None).read()
    msg = str(raises(SensorError, bme280.BME280(FakeI2C(present=False), sleep_ms=lambda ms: None).read))
    assert "0x76 does not answer" in msg
    assert "not a BME280" in str(raises(SensorError, bme280.BME280(FakeI2C(chip=0x11)).read))
    assert "stays busy" in str(
        raises(SensorError, bme280.BME280(FakeI2C(busy_reads=99), sleep_ms=lambda ms: None).read)
    )


# DHT22 / AM2302 datasheet example: 0000 0010 1000 1100 0000 0001 0101 1111 1110 1110
EXAMPLE_BITS = "0000001010001100000000010101111111101110"


def pulses(bits, zero=27, one=70):
    return [one if b == "1" else zero for b in bits]


def test_dht22_datasheet_example_from_pulse_timings():
    data = dht22.bytes_from_pulses(pulses(EXAMPLE_BITS))
    assert data == bytes((0x02, 0x8C, 0x01, 0x5F, 0xEE))
    assert dht22.decode(data) == {"humidity_pct": 65.2, "temp_c": 35.1}


def test_dht22_negative_temperature_checksum_and_short_reads():
    raw = bytes((0x02, 0x8C, 0x80, 0x65))
    assert dht22.decode(raw + bytes(((sum(raw)) & 0xFF,)))["temp_c"] == -10.1
    assert "checksum" in str(raises(SensorError, dht22.decode, bytes((0x02, 0x8C, 0x01, 0x5F, 0xEF))))
    assert "39 bits" in str(raises(SensorError, dht22.bytes_from_pulses, pulses(EXAMPLE_BITS[:39])))


def test_dht22_driver_with_a_bit_reader():
    def reader(pin, buf):
        buf[:] = bytes((0x02, 0x8C, 0x01, 0x5F, 0xEE))

    assert dht22.DHT22(4, reader).read() == {"humidity_pct": 65.2, "temp_c": 35.1}

    def silent(pin, buf):
        raise OSError(116)

    assert "does not answer" in str(raises(SensorError, dht22.DHT22(4, silent).read))


class FakeADC:
    def __init__(self, values_uv):
        self.values = list(values_uv)

    def read_uv(self):
        v = self.values.pop(0)
        self.values.append(v)
        return v


def test_battery_voltage_through_a_divider_averaged_and_calibrated():
    import iotsv_battery as battery

    # 100k over 100k halves the battery: 1.85 V at the pin is 3.7 V; the noise averages out
    adc = FakeADC([1840000, 1860000])
    assert battery.Battery(adc, 100000, 100000).read() == {"battery_v": 3.7}
    # a multimeter said 3.75 V where the ADC made 3.70 V: calibrate with gain and offset
    assert battery.Battery(adc, 100000, 100000, gain=1.0, offset_v=0.05).read() == {"battery_v": 3.75}
    assert "r_bottom" in str(raises(ValueError, battery.Battery, adc, 1, 0))


def test_battery_adc_failure_is_a_sensor_error():
    import iotsv_battery as battery

    class Broken:
        def read_uv(self):
            raise OSError(5)

    assert "does not read" in str(raises(SensorError, battery.Battery(Broken(), 1, 1).read))
