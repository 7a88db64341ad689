# Marshalling, error parsing and signed calls of the DynamoDB client, with a recording connection.
import hashlib
import json
import sys
from binascii import crc32, hexlify

import iotsv_numtext as numtext
import iotsv_sigv4base as sigv4base
from iotsv_ddbmarshal import dynamodb_number
from iotsv_dynamodb import (
    Client,
    Credentials,
    DynamoDBError,
    Sink,
    error_from_response,
    item_json,
    marshal,
    marshal_item,
    unprocessed,
)
from iotsv_httpclient import Response
from iotsv_numtext import Number
from portable import DOUBLE, on_the_wire, raises

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def test_marshal_every_supported_type():
    assert marshal("a") == {"S": "a"}
    assert marshal(7) == {"N": "7"}
    assert marshal(-0.25) == {"N": "-0.25"}
    assert marshal(True) == {"BOOL": True} and marshal(False) == {"BOOL": False}
    assert marshal(None) == {"NULL": True}
    assert marshal(b"\x00\xff") == {"B": "AP8="}
    assert marshal({"x": 1}) == {"M": {"x": {"N": "1"}}}
    assert marshal([1, "b", [None]]) == {"L": [{"N": "1"}, {"S": "b"}, {"L": [{"NULL": True}]}]}
    assert marshal(12345678901234567890) == {"N": "12345678901234567890"}


def test_nan_and_infinities_are_refused_naming_the_attribute():
    item = {"deviceId": "d", "temp": float("nan")}
    assert str(raises(ValueError, marshal_item, item)) == "temp: nan cannot be stored as a DynamoDB number"
    msg = str(raises(ValueError, marshal_item, {"m": {"list": [1, float("-inf")]}}))
    assert msg.startswith("m.list[1]: -inf cannot"), msg
    raises(ValueError, marshal, object())


def test_json_error_with_type_prefix():
    e = error_from_response(
        400,
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",'
        b'"message":"Requested resource not found"}',
    )
    assert (e.code, e.status, e.retryable) == ("ResourceNotFoundException", 400, False)
    assert str(e) == "ResourceNotFoundException (HTTP 400): Requested resource not found"


def test_moto_xml_error():
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch'
        b"</Code><Message>The request signature we calculated does not match</Message></Error></Errors></ErrorResponse>"
    )
    e = error_from_response(403, body)
    assert (e.code, e.message, e.retryable) == (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match",
        False,
    )


def test_retry_classification():
    for code in (
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
    ):
        body = ('{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"m"}' % code).encode()
        assert error_from_response(400, body).retryable, code
    for code in (
        "ValidationException",
        "UnrecognizedClientException",
        "AccessDeniedException",
        "InvalidSignatureException",
        "ResourceNotFoundException",
    ):
        body = ('{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"m"}' % code).encode()
        assert not error_from_response(400, body).retryable, code
    assert error_from_response(500, b"").retryable
    assert error_from_response(503, b"<html>busy</html>").code == "HTTP503"
    assert error_from_response(429, b"slow down").retryable
    assert error_from_response(400, b"\xff\xfe").message == "no error message"


class Recorder:
    """A connection that records the request and answers with a canned response."""

    def __init__(self, status=200, body=b"{}", crc=True):
        self.status, self.body, self.crc = status, body, crc
        self.sent = None

    def request(self, method, target, headers, body):
        if not isinstance(body, bytes):  # Pieces: made again to be sent, as long as counted
            length = body.length
            body = b"".join(body)
            assert len(body) == length
        self.parts = headers  # as given: a value may be in parts, which the wire joins
        self.sent = (method, target, on_the_wire(headers), body)
        self.answers = getattr(self, "answers", 0) + 1
        headers = [("content-type", "application/x-amz-json-1.0"), ("x-amzn-requestid", "R%d" % self.answers)]
        if self.crc is not None:
            crc = crc32(self.body) & 0xFFFFFFFF if self.crc is True else self.crc
            headers.append(("x-amz-crc32", str(crc)))
        return Response(self.status, "", headers, self.body)


def _client(conn, token=None):
    creds = Credentials("AKIDEXAMPLE", SECRET, token)
    return Client(conn, creds, "eu-west-1", "dynamodb.eu-west-1.amazonaws.com", lambda: 1440938160)


def test_put_item_sends_a_signed_json_request():
    conn = Recorder()
    _client(conn).put_item("readings", {"deviceId": "d1", "seq": 3, "temp": 21.5})
    method, target, headers, body = conn.sent
    assert (method, target) == ("POST", "/")
    names = dict(headers)
    assert names["Host"] == "dynamodb.eu-west-1.amazonaws.com"
    assert names["Content-Type"] == "application/x-amz-json-1.0"
    assert names["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert names["X-Amz-Date"] == "20150830T123600Z"
    auth = names["Authorization"]
    assert auth.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/dynamodb/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
    )
    assert json.loads(body) == {
        "TableName": "readings",
        "Item": {"deviceId": {"S": "d1"}, "seq": {"N": "3"}, "temp": {"N": "21.5"}},
    }
    assert SECRET not in repr(headers)
    head, signature = dict(conn.parts)["Authorization"]  # in parts: the joined string is never made
    assert auth == head + signature and len(signature) == 64


def test_session_token_is_sent_and_signed():
    conn = Recorder()
    _client(conn, token="TOKEN123").put_item("t1x", {"deviceId": "d"})
    names = dict(conn.sent[2])
    assert names["X-Amz-Security-Token"] == "TOKEN123"
    assert "x-amz-security-token;x-amz-target" in names["Authorization"]


def test_refusal_becomes_a_typed_error():
    conn = Recorder(400, b'{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"bad key"}')
    msg = str(raises(DynamoDBError, _client(conn).put_item, "tab", {"deviceId": "d"}))
    assert msg == "ValidationException (HTTP 400): bad key"


def test_crc32_mismatch_is_a_retryable_error():
    e = raises(DynamoDBError, _client(Recorder(crc=12345)).put_item, "tab", {"deviceId": "d"})
    assert e.code == "CRC32Mismatch" and e.retryable
    _client(Recorder(crc=None)).put_item("tab", {"deviceId": "d"})  # no header: nothing to check


def test_batch_write_sends_the_items_as_one_batch_write_item_body():
    conn = Recorder(body=b'{"UnprocessedItems":{}}')
    items = [b'{"deviceId":{"S":"d"},"seq":{"N":"%d"}}' % i for i in (1, 2, 3)]
    assert _client(conn).batch_write_raw("readings", items) == {"UnprocessedItems": {}}
    method, target, headers, body = conn.sent
    assert json.loads(body) == {"RequestItems": {"readings": [{"PutRequest": {"Item": json.loads(i)}} for i in items]}}
    names = dict(headers)
    assert names["X-Amz-Target"] == "DynamoDB_20120810.BatchWriteItem"
    # signed as the body made whole would be: the hash taken piece by piece is the body's
    whole = _client(Recorder())._signer("BatchWriteItem").sign(body, names["X-Amz-Date"])
    assert dict(whole)["Authorization"] == names["Authorization"]
    assert sigv4base.body_hash([body[:7], body[7:]]) == hexlify(hashlib.sha256(body).digest())


class Spooled:
    """Items read afresh at each pass, as delivery.Payloads reads them from the spool."""

    def __init__(self, items):
        self.items = items
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        for item in self.items:
            yield item


def test_a_body_made_piece_by_piece_is_read_twice_hashed_then_sent_never_joined():
    conn = Recorder(body=b'{"UnprocessedItems":{}}')
    items = Spooled([b'{"deviceId":{"S":"d"},"seq":{"N":"%d"}}' % i for i in range(1, 26)])
    _client(conn).batch_write_raw("readings", items)
    assert items.passes == 2  # hashed, then sent (joined by the Recorder)
    assert len(json.loads(conn.sent[3])["RequestItems"]["readings"]) == 25
    one = Spooled([items.items[0]])
    conn = Recorder()
    _client(conn).put_raw("readings", one)
    assert one.passes == 2 and json.loads(conn.sent[3])["Item"] == {"deviceId": {"S": "d"}, "seq": {"N": "1"}}
    assert dict(conn.sent[2])["X-Amz-Target"] == "DynamoDB_20120810.PutItem"


def test_credentials_repr_hides_the_secret():
    assert SECRET not in repr(Credentials("AKIDEXAMPLE", SECRET, "tok"))
    assert "tok" not in repr(Credentials("AKIDEXAMPLE", SECRET, "tok"))


def test_malformed_success_bodies_are_retryable_errors():
    e = raises(DynamoDBError, _client(Recorder(body=b"{not json")).put_item, "tab", {"deviceId": "d"})
    assert e.code == "MalformedResponse" and e.retryable
    bad = {"UnprocessedItems": {"tab": [{"DeleteRequest": {}}]}}
    e = raises(DynamoDBError, unprocessed, bad, "tab", [1, 2])
    assert e.code == "MalformedResponse" and e.retryable


def test_numbers_are_stored_as_a_person_reads_them():
    # values from the drivers' ranges, and sums whose binary error would show in a float repr
    for value, text in (
        (0.07000000000000001, "0.07"),  # MicroPython's repr of 0.07
        (0.1 + 0.2, "0.3"),
        (23.94, "23.94"),
        (-40.0, "-40"),
        (1013.25, "1013.25"),
        (4.187, "4.187"),
        (85.0 / 3, "28.3333333333333" if DOUBLE else "28.333334"),  # an ESP32's floats are single
        (1e-7, "1e-07"),
        (24197456, "24197456"),
        (-3, "-3"),
    ):
        assert marshal(value) == {"N": text}, (value, marshal(value))
    assert float(marshal(0.1 + 0.2)["N"]) == 0.3
    assert marshal(True) == {"BOOL": True}  # a bool is not a number


def test_number_text_is_stored_as_written_within_dynamodbs_limits():
    # the host's JSON numbers arrive as text (numtext.Number) and go out digit for digit
    for text in ("1733577600.123456", "3.141592653589793", "0.30000000000000004", "-0", "1E-130", "1" * 38,
                 "9.9999999999999999999999999999999999999E+125", "1" + "0" * 60, "0.000" + "9" * 38):  # fmt: skip
        assert marshal(Number(text)) == {"N": text}, text
    # what DynamoDB refuses is refused here, the attribute named: more than 38 significant digits
    # (leading and trailing zeros do not count), a magnitude out of 1E-130 .. 9.99E+125
    for text, why in (
        ("1" * 39, "has 39 significant digits; DynamoDB keeps 38"),
        ("1.00000000000000000000000000000000000001", "has 39 significant digits"),
        ("1e126", "is out of DynamoDB's range"),
        ("-1e126", "is out of DynamoDB's range"),
        ("1e-131", "is out of DynamoDB's range"),
        ("0.1e-130", "is out of DynamoDB's range"),
    ):
        msg = str(raises(ValueError, marshal_item, {"v": Number(text)}))
        assert msg.startswith("v: " + text + " ") and why in msg, msg
    assert "not a decimal number" in str(raises(ValueError, dynamodb_number, "1.5e+"))
    # the device's own numbers by the same rule
    assert "39 significant digits" in str(raises(ValueError, marshal, 10**38 + 1))
    assert marshal(10**38) == {"N": "1" + "0" * 38}


def test_an_item_is_written_as_json_dumps_writes_its_attribute_values():
    # item_json writes numbers and plain strings itself: the bytes must be the marshaller's, in
    # the item's order, for every kind of value and every string that needs escaping
    item = {"deviceId": "dev-1", "seq": 7, "ts": 1795412461, "t": 23.94, "n": -3, "z": 0.0, "tiny": 1e-7,
            "big": 10**37, "bigger": 10**38, "q": 'a"b\\c', "ctl": "a\tb\x01", "uni": "\u00e9\u2603", "del": "\x7f",
            "on": True, "none": None, "raw": b"\x00\xff", "m": {"x": 1.5}, "l": [1, "b"], "num": Number("1E-130"),
            "sp ace": "", "": 1}  # fmt: skip
    pairs = [json.dumps(name) + ":" + json.dumps(marshal(item[name]), separators=(",", ":")) for name in item]
    compact = ("{" + ",".join(pairs) + "}").encode()  # json.dumps(marshal_item(item)) in the item's order
    assert item_json(item) == compact, (item_json(item), compact)
    assert json.loads(item_json(item)) == json.loads(json.dumps(marshal_item(item)))
    assert (
        str(raises(ValueError, item_json, {"temp": float("nan")})) == "temp: nan cannot be stored as a DynamoDB number"
    )
    assert "39 significant digits" in str(raises(ValueError, item_json, {"v": 10**38 + 1}))
    assert "out of DynamoDB's range" in str(raises(ValueError, item_json, {"v": Number("1e126")}))
    sys.modules.pop("iotsv_ddbmarshal", None)
    written = item_json({"n": 1, "t": -4.5, "s": "x", "on": True, "off": False, "none": None})
    assert json.loads(written) == {"n": {"N": "1"}, "t": {"N": "-4.5"}, "s": {"S": "x"}, "on": {"BOOL": True},
                                   "off": {"BOOL": False}, "none": {"NULL": True}}  # fmt: skip
    assert "iotsv_ddbmarshal" not in sys.modules  # a reading's kinds of value never load the marshaller
    if DOUBLE:
        assert "out of DynamoDB's range" in str(raises(ValueError, item_json, {"v": 1e126}))
        assert item_json({"v": 1e125}) == b'{"v":{"N":"1e+125"}}'


def test_a_reading_s_numbers_are_judged_as_dynamodb_number_judges_their_text():
    for x in (0, -0.0, 1, -1, 2**30 - 1, 2**30, -(2**30), 1796116616, 10**38, -(10**38), 23.94, -40.0, 1e-7, 3.4e38):
        assert numtext.storable(x), x
    for x in (10**38 + 1, -(10**38) - 1, float("nan"), float("inf"), float("-inf")):
        assert not numtext.storable(x), x
    if DOUBLE:  # a board's single precision holds nothing out of DynamoDB's range
        for x in (1e-129, 1e-130, 9.99e125, -1e-130):
            assert numtext.storable(x), x
        for x in (1e-131, 1e126, -1e126, 1e300):
            assert not numtext.storable(x), x
    for x in (0, 7, -3, 2**30 - 1, 2**30, 1796116616, -1796116616, 10**37, 23.94, 1e-7, -0.0):
        out = bytearray(b"x")
        assert numtext.write_plain(out, x) and out == b"x" + numtext.text(x).encode(), (x, out)
    for x in (10**38, 10**38 + 1, float("nan"), True, "1", None):  # 39 digits: dynamodb_number's to judge
        out = bytearray()
        assert not numtext.write_plain(out, x) and out == b"", x


def test_a_request_timeout_from_dynamodb_is_retried_like_any_other_service_s():
    # 408 was retried by refusal.Refusal and not by DynamoDBError: a 408 blocked sending
    e = error_from_response(408, b"")
    assert (e.code, e.status, e.retryable) == ("HTTP408", 408, True)
    assert error_from_response(408, b'{"__type":"x#RequestTimeout","message":"slow"}').retryable
    assert not error_from_response(403, b"").retryable


def test_the_server_date_comes_with_the_refusal():
    e = error_from_response(400, b'{"__type":"x#InvalidSignatureException"}', "Mon, 30 Nov 2026 10:00:00 GMT")
    assert e.date == "Mon, 30 Nov 2026 10:00:00 GMT"


def test_a_signer_is_prepared_once_per_credentials_and_sigv4_is_dropped_after():
    # a device's start prepares its one: iotsv_sigv4 (the canonicalization) loaded for it, then dropped
    sys.modules.pop("iotsv_sigv4", None)
    sys.modules.pop("iotsv_sigv4presign", None)
    client = _client(Recorder())
    client.prepare("BatchWriteItem")
    assert sorted(client._signers) == ["BatchWriteItem"]
    assert "iotsv_sigv4" not in sys.modules and "iotsv_sigv4presign" not in sys.modules
    batch = client._signers["BatchWriteItem"]
    client.prepare("BatchWriteItem")
    assert client._signers["BatchWriteItem"] is batch  # made once, kept while the credentials are the same
    client.credentials = Credentials("AKIDEXAMPLE", SECRET, "a-session-token")
    client.prepare("BatchWriteItem")
    assert client._signers["BatchWriteItem"] is not batch  # refreshed credentials: signed with them


def test_the_sink_sends_a_lone_reading_as_a_batch_of_one_under_its_one_signer():
    conn = Recorder(body=b'{"UnprocessedItems":{}}')
    sink = Sink(_client(conn), "readings")
    item = b'{"deviceId":{"S":"d"},"seq":{"N":"1"}}'
    assert sink.send([item], [1]) == []
    assert dict(conn.sent[2])["X-Amz-Target"] == "DynamoDB_20120810.BatchWriteItem"
    one = {"PutRequest": {"Item": {"deviceId": {"S": "d"}, "seq": {"N": "1"}}}}
    assert json.loads(conn.sent[3]) == {"RequestItems": {"readings": [one]}}
    assert sink.send([item, item], [1, 2]) == [] and len(json.loads(conn.sent[3])["RequestItems"]["readings"]) == 2
    assert sorted(sink.client._signers) == ["BatchWriteItem"]
