# A millisecond counter for intervals and deadlines, on both interpreters: MicroPython's ticks
# (small ints that wrap: only ever compared through diff, moved on through add), CPython's
# monotonic clock in plain ints.
import time

try:
    # the stubs type ticks apart from int; the CPython fallback below works in plain ints
    ms = time.ticks_ms  # pyright: ignore[reportAssignmentType]
    diff = time.ticks_diff  # pyright: ignore[reportAssignmentType]
    add = time.ticks_add  # pyright: ignore[reportAssignmentType]
except AttributeError:  # CPython

    def ms():
        return int(time.monotonic() * 1000)  # pyright: ignore[reportAttributeAccessIssue]  # CPython only

    def diff(a, b):
        return a - b

    def add(a, delta_ms):
        return a + delta_ms
