# Numbers as a person reads them, the same on every interpreter: MicroPython's float repr is not the
# shortest text that reads back (0.07 prints as 0.07000000000000001), CPython's is.
import json
import sys

from iotsv_hmac_sha256 import utf8
from iotsv_transient import run

INF = float("inf")


def is_finite(x):
    """False for NaN and the infinities, which neither DynamoDB nor JSON can hold."""
    return not (x != x or x == INF or x == -INF)


def text(x):
    """An int as it is; a float as the shortest decimal that reads back to it, at most 15
    significant digits (a double holds 15 exactly: 0.1 + 0.2 gives "0.3"). %.15g rounds
    correctly on CPython and MicroPython alike, and drops trailing zeros."""
    if isinstance(x, float):
        if not is_finite(x):
            raise ValueError("%r is not a finite number" % x)
        return "%.15g" % x
    return "%d" % x


MAX_DIGITS = 38  # significant digits DynamoDB keeps of a number (iotsv_ddbnumber.judge: its whole rule)


class Number(str):
    """A number kept as the decimal text it was written in (the host reads JSON numbers so: every
    digit kept, never through a float); marshalled as N, where a str is S."""


_SMALL = sys.maxsize >> 1  # MicroPython holds ints up to here in the word itself (2**30 - 1 on a board)
# Floats from _TINY to below _HUGE (and their negatives) are in DynamoDB's range however they are
# written (15 digits at most). Made from text at import: a literal this small or large cannot be
# frozen into a 32-bit image. Single precision (a board) makes them 0 and infinity: every finite
# float of its own is in range.
_TINY, _HUGE = float("1e-129"), float("1e125")
_NEG_TINY, _NEG_HUGE = -_TINY, -_HUGE


def _everyday(x):
    """True for a small int or a float in range: a number DynamoDB stores as numtext writes it,
    judged by comparisons alone (no text made, as dynamodb_number's judgement makes)."""
    t = type(x)
    if t is int:
        return -_SMALL <= x <= _SMALL
    return t is float and (x == 0 or _TINY <= x < _HUGE or _NEG_HUGE < x <= _NEG_TINY)


def storable(x):
    """Whether DynamoDB stores the number x (an int or a float) as numtext writes it."""
    if _everyday(x):
        return True
    try:  # DynamoDB's whole rule, loaded for the call (a board's RAM does not hold it)
        run("iotsv_ddbnumber", "judge", text(x), MAX_DIGITS)
        return True
    except ValueError:
        return False


def write_plain(out, x):
    """Appends x's text to `out` (a bytearray) when x is an int or a float that DynamoDB stores as
    written, and says whether it did: a reading's numbers, judged without dynamodb_number's
    string work and, a small int, written digit by digit with no string made at all. Anything
    else (a big int, NaN, a float out of range, not a number) is left to dynamodb_number and the
    marshaller to judge."""
    if not _everyday(x):
        if type(x) is not int:
            return False
        s = "%d" % x  # a large int (a Unix time on a board): written when it has at most 38 digits
        if len(s) > MAX_DIGITS:
            return False
        out += utf8(s)
        return True
    if type(x) is float:
        out += utf8("%.15g" % x)
        return True
    if x < 0:
        out.append(0x2D)  # "-"
        x = -x
    p = 1
    while p <= x // 10:
        p *= 10
    while p:
        out.append(0x30 + x // p % 10)
        p //= 10
    return True


def write_json_string(out, s):
    """Appends s to `out` (a bytearray) as json.dumps writes it: printable ASCII with no quote or
    backslash (names, device ids) as it is, with no string made; anything else through
    json.dumps."""
    start = len(out)
    out += b'"'
    out += utf8(s)
    for i in range(start + 1, len(out)):
        c = out[i]
        if c < 0x20 or c > 0x7E or c == 0x22 or c == 0x5C:
            out[start:] = json.dumps(s).encode()
            return
    out += b'"'


_NUMBER_BYTES = b"0123456789+-.eE"


def write_summary(payload, before, write, label=None):
    """Writes "ts=<ts> [label]name=value ..." of a reading's JSON text as its sink wrote it (each
    number follows its name's closing quote and `before`) through write(text, start=0, end=None),
    a part of text (str or bytes): ts first ("None" if it has none), then every other number but
    "seq" in the payload's order. Nothing is copied or decoded: the log line is printed for every
    reading, and a dict per attribute or a string per piece would be churn."""
    write("ts=")
    for ts in (True, False):  # the payload scanned for its ts, then for the rest
        n = i = 0
        while True:
            j = payload.find(before, i)
            if j < 0:
                break
            i = end = j + len(before)
            while end < len(payload) and payload[end] in _NUMBER_BYTES:
                end += 1
            if end == i:
                continue  # a string, a boolean, an object: not a number
            start = payload.rfind(b'"', 0, j) + 1  # the name's opening quote (names have no quotes)
            is_ts = j - start == 2 and payload.startswith(b"ts", start)  # compared in place: no slice
            if ts and is_ts:
                write(payload, i, end)
                n = 1
                break
            if not (ts or is_ts or (j - start == 3 and payload.startswith(b"seq", start))):
                if n:
                    write(" ")
                write(payload, start, j)
                write("=")
                write(payload, i, end)
                n += 1
            i = end
        if ts:
            write(" " if n else "None ")
            if label:
                write(label)
