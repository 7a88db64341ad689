# HTTP dates (RFC 9110's IMF-fixdate, "Sun, 30 Aug 2015 12:36:00 GMT"): made for a Date header,
# read from a server's to learn how far off the board's clock is. Apart from iotsv_utc, whose
# amz_date a device signs each request with: a device that sends no Date header reads one only
# when a server says its clock is off, and loads this module then.
import iotsv_utc as utc

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _digits(text):
    """ASCII digits only (str.isdigit takes '²' on CPython, where int() then raises), 1 to 4."""
    if not 0 < len(text) <= 4:
        return False
    for c in text:
        if c not in "0123456789":
            return False
    return True


def parse_http_date(text):
    """Unix seconds of an HTTP date in the IMF-fixdate form servers send
    ("Mon, 23 Nov 2026 05:39:23 GMT"); None when it is not one."""
    parts = text.split() if text else ()
    if len(parts) != 6 or parts[5] != "GMT" or parts[2] not in _MONTHS:
        return None
    hms = parts[4].split(":")
    if len(hms) != 3:
        return None
    for field in [parts[1], parts[3]] + hms:
        if not _digits(field):
            return None
    days = utc.days_from_civil(int(parts[3]), _MONTHS.index(parts[2]) + 1, int(parts[1]))
    return days * 86400 + int(hms[0]) * 3600 + int(hms[1]) * 60 + int(hms[2])


def http_date(epoch_s):
    """IMF-fixdate (RFC 9110) of Unix seconds, built without strftime."""
    y, m, d, hh, mm, ss = utc.gmtime(epoch_s)
    weekday = ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")[(int(epoch_s) // 86400) % 7]
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (weekday, d, _MONTHS[m - 1], y, hh, mm, ss)
