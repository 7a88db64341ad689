# Python values as DynamoDB AttributeValues ({"N": "1.5"}, {"M": {...}}) and back, and DynamoDB's
# rule for a number's text: what Client.put_item and Client.call send, the odd value of a reading
# (bytes, a map, a list, a number out of the everyday range) and a dead letter's reading. Loaded
# only for the call (iotsv_transient): a reading's numbers and strings are judged and written
# without it (numtext.write_plain, dynamodb.write_attribute), so a board's RAM does not hold it
# between readings.
import json
from binascii import b2a_base64

import iotsv_numtext as numtext

# What DynamoDB stores as a number: at most 38 significant digits (leading and trailing zeros do
# not count), magnitude 1E-130 to 9.99...E+125, or zero. The host checks JSON text with it and the
# board its readings, so neither sends what AWS refuses (a local server may take it).
MIN_EXPONENT = -130
MAX_EXPONENT = 125


def dynamodb_number(t):
    """t (a decimal number's text: 12, -0.5, 1e-07) unchanged when DynamoDB stores it exactly;
    ValueError saying why not."""
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
    if len(significant) > numtext.MAX_DIGITS:
        raise ValueError("%s has %d significant digits; DynamoDB keeps %d" % (t, len(significant), numtext.MAX_DIGITS))
    if not MIN_EXPONENT <= magnitude <= MAX_EXPONENT:
        raise ValueError("%s is out of DynamoDB's range (1E-130 to 9.9E+125)" % t)
    return t


def _number(value, where):
    if isinstance(value, str):  # a numtext.Number: its text as written
        text = value
    elif numtext.is_finite(value):
        text = numtext.text(value)
    else:
        raise ValueError("%s: %r cannot be stored as a DynamoDB number" % (where, value))
    try:
        return {"N": dynamodb_number(text)}
    except ValueError as e:  # what AWS would refuse, refused before it is sent
        raise ValueError("%s: %s" % (where, e))


def marshal(value, where="value"):
    """A Python value as a DynamoDB AttributeValue."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, numtext.Number)):
        return _number(value, where)
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (bytes, bytearray)):
        return {"B": b2a_base64(value).decode().strip()}  # pyright: ignore[reportArgumentType]  # stubs say bytes only
    if isinstance(value, dict):
        return {"M": marshal_item(value, where + ".")}
    if isinstance(value, (list, tuple)):
        return {"L": [marshal(v, "%s[%d]" % (where, i)) for i, v in enumerate(value)]}
    raise ValueError("%s: a %s cannot be stored in DynamoDB" % (where, type(value).__name__))


def marshal_item(item, prefix=""):
    out = {}
    for name in item:
        out[name] = marshal(item[name], prefix + name)
    return out


def plain_item(payload):
    """An item's AttributeValue JSON back as plain values (numbers stay in their text form)."""
    item = json.loads(payload)
    return dict((k, list(item[k].values())[0]) for k in item)


def call(client, operation, payload):
    """dynamodb.Client.call: one signed call of a JSON payload, its answer decoded."""
    return client.call_body(operation, json.dumps(payload).encode())


def put_item(client, table, item):
    """dynamodb.Client.put_item: PutItem of a dict, marshalled here."""
    from iotsv_dynamodb import PUT_ITEM, _expect  # loaded: the client is its

    return _expect(call(client, "PutItem", {"TableName": table, "Item": marshal_item(item)}), PUT_ITEM, "PutItem")
