# Numbers as a person reads them, the same on every interpreter: MicroPython's float repr is not the
# shortest text that reads back (0.07 prints as 0.07000000000000001), CPython's is.
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
