# UTC calendar arithmetic on Unix epoch seconds, independent of the port's gmtime epoch
# (1970 on unix, 2000 on ESP32) and of datetime, which MicroPython lacks.
import time

# Seconds from 1970 to the port's epoch: 0 on unix and CPython, 946684800 on ESP32 (2000).
PORT_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0


def now():
    """Unix seconds, UTC, from the port's clock whatever its epoch."""
    return time.time() + PORT_EPOCH


def civil_from_days(days):
    """(year, month, day) of the day `days` after 1970-01-01 (proleptic Gregorian)."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def days_from_civil(year, month, day):
    """Days from 1970-01-01 to the given date (inverse of civil_from_days)."""
    year -= 1 if month <= 2 else 0
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def gmtime(epoch_s):
    """(year, month, day, hour, minute, second) of whole Unix epoch seconds."""
    secs = int(epoch_s)
    days = secs // 86400
    rem = secs - days * 86400
    y, m, d = civil_from_days(days)
    return y, m, d, rem // 3600, (rem // 60) % 60, rem % 60


# The last amz_date made, [whole seconds, text]: a request asks for it twice in one second (its
# signer prepared, then the request signed), and each would be a tuple and a string made.
_last_amz = [None, ""]


def amz_date(epoch_s):
    """SigV4 timestamp, YYYYMMDDTHHMMSSZ."""
    secs = int(epoch_s)
    last = _last_amz
    if last[0] != secs:
        last[1] = "%04d%02d%02dT%02d%02d%02dZ" % gmtime(secs)
        last[0] = secs
    return last[1]
