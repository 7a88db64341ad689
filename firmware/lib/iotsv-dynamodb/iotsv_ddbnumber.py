# DynamoDB's rule for a number's text, on its own: iotsv_numtext (loaded by every board) loads it by
# name to judge a number out of the everyday range, so it imports nothing of numtext's; its one
# figure from there, the digits DynamoDB keeps, comes as an argument.

# What DynamoDB stores as a number: at most max_digits (38) significant digits (leading and
# trailing zeros do not count), magnitude 1E-130 to 9.99...E+125, or zero. The host checks JSON
# text with it and the board its readings, so neither sends what AWS refuses (a local server may
# take it).
MIN_EXPONENT = -130
MAX_EXPONENT = 125


def judge(t, max_digits):
    """t (a decimal number's text: 12, -0.5, 1e-07) unchanged when DynamoDB stores it exactly,
    keeping max_digits significant digits; ValueError saying why not."""
    body = t[1:] if t[:1] in ("-", "+") else t
    mantissa, e, exponent = body.replace("E", "e").partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    power = exponent[1:] if exponent[:1] in ("-", "+") else exponent
    if not digits.isdigit() or (e and not power.isdigit()):
        raise ValueError("%r is not a decimal number" % t)
    significant = digits.lstrip("0")
    if not significant:
        return t  # zero
    # the power of ten of the first significant digit: 123.4 -> 2, 0.05 -> -2
    magnitude = len(significant) - 1 - len(fraction) + (int(exponent) if e else 0)
    significant = significant.rstrip("0")
    if len(significant) > max_digits:
        raise ValueError("%s has %d significant digits; DynamoDB keeps %d" % (t, len(significant), max_digits))
    if not MIN_EXPONENT <= magnitude <= MAX_EXPONENT:
        raise ValueError("%s is out of DynamoDB's range (1E-130 to 9.9E+125)" % t)
    return t
