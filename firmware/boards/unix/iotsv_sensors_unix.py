# Real readings a Linux host has: load average, CPU temperature and available memory.
from iotsv_sensors import Sensor, SensorError


def _read(path):
    try:
        with open(path) as f:
            return f.read(64)  # the files read here are one short line: read() would take 256 bytes
    except OSError:
        raise SensorError("cannot read %s" % path)


class LoadAverage(Sensor):
    name = "load average"

    def read(self):
        return {"load1": float(_read("/proc/loadavg").split()[0])}


class FreeMemory(Sensor):
    name = "free memory"

    def read(self):
        try:
            with open("/proc/meminfo") as f:
                for line in f:  # a line at a time: read whole, its 1.5 KB would be one block of heap
                    if line.startswith("MemAvailable:"):
                        return {"mem_free_kb": int(line.split()[1])}
        except OSError:
            raise SensorError("cannot read /proc/meminfo")
        raise SensorError("no MemAvailable in /proc/meminfo")


class CpuTemperature(Sensor):
    name = "CPU temperature"
    PATH = "/sys/class/thermal/thermal_zone0/temp"

    def read(self):
        text = _read(self.PATH).strip()
        if not text.lstrip("-").isdigit():
            raise SensorError("unexpected %s: %r" % (self.PATH, text[:20]))
        return {"cpu_temp_c": int(text) / 1000}


def available(sensors):
    """The sensors that give a reading on this host now."""
    out = []
    for s in sensors:
        try:
            s.read()
            out.append(s)
        except SensorError:
            pass
    return out
