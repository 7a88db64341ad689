# Battery voltage through a resistor divider on an ADC pin, calibrated. `adc` has read_uv()
# (MicroPython's ESP32 ADC: microvolts, with the chip's factory calibration).
from iotsv_sensors import Sensor, SensorError


class Battery(Sensor):
    name = "battery"

    def __init__(self, adc, r_top, r_bottom, gain=1.0, offset_v=0.0, samples=8):
        """r_top from the battery to the pin, r_bottom from the pin to ground (ohms); gain and
        offset_v correct what a multimeter says the reading is off by: v = raw * gain + offset."""
        if r_top < 0 or r_bottom <= 0:
            raise ValueError("battery divider needs r_top >= 0 and r_bottom > 0 ohms")
        self.adc = adc
        self.ratio = (r_top + r_bottom) / r_bottom
        self.gain = gain
        self.offset_v = offset_v
        self.samples = samples

    def read(self):
        total = 0
        try:
            for _ in range(self.samples):  # the ADC is noisy: average a few
                total += self.adc.read_uv()
        except OSError as e:
            raise SensorError("battery ADC does not read (%s)" % e)
        v = total / self.samples / 1e6 * self.ratio
        return {"battery_v": round(v * self.gain + self.offset_v, 3)}
