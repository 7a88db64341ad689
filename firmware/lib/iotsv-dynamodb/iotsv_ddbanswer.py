# How a DynamoDB answer that is not a plain success is read: an error body, and a list of
# UnprocessedItems. Loaded by iotsv_dynamodb only while it reads one (iotsv_transient), so a
# board's RAM does not hold it between requests.
from iotsv_refusal import xml_field

try:
    from micropython import const
except ImportError:  # CPython: the value itself

    def const(__value):  # positional only, as MicroPython's
        return __value


MAX_MESSAGE = const(300)


def _string(value):
    return value if isinstance(value, str) else None


def error_parts(status, body):
    """(code, message, retryable or None) of an error answer. A body that names no code (a
    proxy's page) is not DynamoDB refusing the items, so it never dead-letters them: retried.
    So is an error in a 2xx answer."""
    import json

    try:
        text = body.decode()
    except UnicodeError:
        text = ""
    code = message = None
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            code = _string(doc.get("__type"))
            message = _string(doc.get("message")) or _string(doc.get("Message"))
        if code:
            code = code[code.rfind("#") + 1 :]
    elif "<Code>" in text:
        code = xml_field(text, "Code")
        message = xml_field(text, "Message")
    retryable = None
    if status < 300:
        retryable = True  # an error sent as a success
    elif not code:
        code = "HTTP%d" % status
        if status not in (401, 403):  # 401/403 stay blocked: a gateway refusing our credentials
            retryable = True
    if not message:
        message = text.strip()[:MAX_MESSAGE] or "no error message"
    return code, message[:MAX_MESSAGE], retryable


def _put_seq(request):
    """The seq of one PutRequest in UnprocessedItems ({"PutRequest": {"Item": {..., "seq":
    {"N": "5"}}}}); ValueError for anything else."""
    try:
        if len(request) == 1:
            text = request["PutRequest"]["Item"]["seq"]["N"]
            if isinstance(text, str) and 0 < len(text) <= 20 and text.isdigit():
                return int(text)
    except (KeyError, TypeError):
        pass
    raise ValueError("UnprocessedItems holds something other than PutRequests with a seq")


def unprocessed_seqs(tables, table, sent):
    """(seqs of `sent` left unprocessed, count of listed items never sent) of UnprocessedItems'
    value; ValueError naming what is wrong when it is not a map of tables to PutRequests."""
    if not isinstance(tables, dict):
        raise ValueError("UnprocessedItems is not a map of tables")
    left = []
    ignored = 0
    for name in tables:
        requests = tables[name]
        if not isinstance(requests, list):
            raise ValueError("UnprocessedItems of a table is not a list")
        for request in requests:
            seq = _put_seq(request)
            if name == table and seq in sent and seq not in left:
                left.append(seq)
            else:
                ignored += 1
    return left, ignored
