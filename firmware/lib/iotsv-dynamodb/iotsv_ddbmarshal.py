# Python values as DynamoDB AttributeValues ({"N": "1.5"}, {"M": {...}}) and back, each number
# judged by DynamoDB's rule (iotsv_ddbnumber): what Client.put_item and Client.call send, the odd
# value of a reading (bytes, a map, a list, a number out of the everyday range) and a dead
# letter's reading. Loaded only for the call (iotsv_transient): a reading's numbers and strings
# are judged and written without it (numtext.write_plain, dynamodb.write_attribute), so a board's
# RAM does not hold it between readings.
import json
from binascii import b2a_base64

import iotsv_numtext as numtext
from iotsv_transient import hold

# DynamoDB's rule for a number's text, held while this module is: numtext loads that rule alone
# (numtext is imported here, so loading this module from numtext would make each need the other).
_rule = hold("iotsv_ddbnumber")


def dynamodb_number(t):
    """t (a decimal number's text: 12, -0.5, 1e-07) unchanged when DynamoDB stores it exactly;
    ValueError saying why not (iotsv_ddbnumber.judge)."""
    return _rule.judge(t, numtext.MAX_DIGITS)


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
    """dynamodb.Client.put_item: PutItem of a dict, marshalled here; its answer for the client to
    check (the check is the client's, as for every operation it writes out)."""
    return call(client, "PutItem", {"TableName": table, "Item": marshal_item(item)})
