# The sensor interface every board's drivers implement, and a simulated sensor for boards (and
# hosts) that lack a real one.
import math


class SensorError(Exception):
    pass


class Sensor:
    """read() returns {attribute name: number} or raises SensorError naming what failed."""

    name = "sensor"

    def read(self):
        raise NotImplementedError


class SimulatedTemperature(Sensor):
    """A smooth daily swing around 21 C with a little deterministic jitter, labelled sim_."""

    name = "simulated temperature"

    def __init__(self, clock):
        self.clock = clock
        self._state = 12345

    def read(self):
        self._state = (self._state * 1103515245 + 12345) & 0x7FFFFFFF
        jitter = (self._state % 100 - 50) / 500.0
        t = self.clock()
        return {"sim_temp_c": round(21.0 + 3.0 * math.sin(2 * math.pi * (t % 86400) / 86400) + jitter, 2)}
