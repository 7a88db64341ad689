# DynamoDB over its JSON 1.0 protocol: AttributeValue marshalling, signed calls, typed errors.
import json
from binascii import crc32

import iotsv_numtext as numtext
import iotsv_sigv4signer as sigv4signer
import iotsv_utc as utc
from iotsv_hmac_sha256 import utf8 as _utf8
from iotsv_httpclient import Answered, Pieces
from iotsv_refusal import Refusal, retryable_status
from iotsv_sigv4base import pieces_hash
from iotsv_transient import hold, run

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"

# Refusals that the AWS SDKs retry for DynamoDB; refusal.retryable_status says which HTTP statuses
# are retried whatever the code.
RETRYABLE_CODES = (
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "InternalServerError",
    "ServiceUnavailable",
    "CRC32Mismatch",
)
# the fields of each operation's success answer (AWS's API reference)
PUT_ITEM = ("Attributes", "ConsumedCapacity", "ItemCollectionMetrics")
BATCH_WRITE_ITEM = ("UnprocessedItems", "ConsumedCapacity", "ItemCollectionMetrics")


class DynamoDBError(Refusal):
    """DynamoDB (or the server in its place) refused a request."""

    def __init__(self, code, message, status, retryable=None, date=None):
        if retryable is None:
            retryable = code in RETRYABLE_CODES or retryable_status(status)
        super().__init__(code, message, status, retryable, date)


def error_from_response(status, body, date=None):
    """One typed error from AWS's JSON error body ({"__type": "...#Code", "message": ...}) or
    the XML one that moto and AWS's front ends send (<Code>..</Code><Message>..</Message>);
    date: the response's Date header. The reading of it is loaded for the moment (an error path)."""
    code, message, retryable = run("iotsv_ddbanswer", "error_parts", status, body)
    return DynamoDBError(code, message, status, retryable, date)


def malformed(why):
    """A 200 answer that is not the operation's success: retried, never taken for one."""
    return DynamoDBError("MalformedResponse", why, 200, True)


def _expect(doc, keys, operation):
    """The decoded answer when it is the operation's success shape: only the fields AWS
    documents for it, so an error or a proxy's JSON is never taken for one."""
    for name in doc:
        if name not in keys:
            raise malformed("%s answered with an unexpected field %r" % (operation, name[:40]))
    return doc


_NOTHING: dict = {}


def unprocessed(doc, table, sent):
    """(seqs of `sent` left unprocessed, count of listed items this batch did not send). The
    answer must map tables to PutRequests; items never sent are counted, never taken as ours.
    Most answers leave nothing: the reading of a list is loaded only when there is one."""
    tables = doc.get("UnprocessedItems", _NOTHING)  # no dict made per answer for the default
    if type(tables) is dict and not tables:
        return [], 0
    try:
        return run("iotsv_ddbanswer", "unprocessed_seqs", tables, table, sent)
    except ValueError as e:
        raise malformed(str(e))


def _put_pieces(head, items):
    """PutItem's body: head, then the item (items holds it, and only it)."""
    yield head
    for item in items:
        yield item
    yield b"}"


def _batch_pieces(head, items):
    """BatchWriteItem's body: head, then a PutRequest for each item."""
    yield head
    sep = b'{"PutRequest":{"Item":'
    for item in items:
        yield sep
        yield item
        item = None  # not held while the next is read from the spool
        yield b"}}"
        sep = b',{"PutRequest":{"Item":'
    yield b"]}}"


def __getattr__(name):
    """marshal(value, where="value") (a Python value as a DynamoDB AttributeValue) and
    marshal_item(item) ({name: AttributeValue} of a dict) are the marshaller's, iotsv_ddbmarshal:
    loaded when one is asked for and dropped once it is let go, so a board's RAM holds neither
    it nor a wrapper for it (a reading's attributes are written by write_attribute without it)."""
    if name in ("marshal", "marshal_item"):
        return getattr(hold("iotsv_ddbmarshal"), name)
    raise AttributeError(name)


def write_attribute(out, name, value):
    """One attribute, `"name":{"N":"..."}`, appended to an item's AttributeValue JSON in `out` (a
    bytearray that item_json or Sink.item_start began). Numbers and plain strings are written
    straight into it, where marshal()'s dicts and checks cost a reading kilobytes of heap, and so
    are booleans and null; any other value goes through marshal() (loaded for the call)."""
    if len(out) > 1:
        out += b","
    numtext.write_json_string(out, name)
    mark = len(out)
    out += b':{"N":"'
    if numtext.write_plain(out, value):
        out += b'"}'
        return
    out[mark:] = b""
    if type(value) is str:
        out += b':{"S":'
        numtext.write_json_string(out, value)
        out += b"}"
    elif value is True or value is False or value is None:  # a switch's reading: no marshaller loaded
        out += b':{"BOOL":true}' if value is True else b':{"BOOL":false}' if value is False else b':{"NULL":true}'
    else:
        out += b":"
        out += _utf8(json.dumps(run("iotsv_ddbmarshal", "marshal", value, name), separators=(",", ":")))


def item_json(item):
    """The item's AttributeValue JSON, compact: the bytes json.dumps(marshal_item(item),
    separators=(",", ":")) writes (names in the item's order), as a bytearray."""
    out = bytearray(b"{")
    for name in item:
        write_attribute(out, name, item[name])
    out += b"}"
    return out


class Credentials:
    def __init__(self, access_key, secret_key, session_token=None):
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token

    def __repr__(self):  # never the secret or the token
        return "Credentials(%s, secret=***)" % self.access_key


class Client:
    def __init__(self, connection, credentials, region, host_header, now):
        self.conn = connection
        self.credentials = credentials
        self.region = region
        self.host_header = host_header
        self.now = now  # Unix epoch seconds, UTC
        self._signers = {}
        self._answered = Answered()

    def call(self, operation, payload):
        """Make one signed call of a JSON payload; return the decoded response or raise
        DynamoDBError/HttpError (loaded for the call: iotsv_ddbmarshal.call)."""
        return run("iotsv_ddbmarshal", "call", self, operation, payload)

    def _signer(self, operation):
        """One prepared signer per operation, made again when the credentials change."""
        signer = self._signers.get(operation)
        if signer is None or signer.credentials is not self.credentials:
            self._new_signer(operation)
            signer = self._signers[operation]
        return signer

    def _new_signer(self, operation):
        c = self.credentials
        headers = [
            ("Host", self.host_header),
            ("Content-Type", CONTENT_TYPE),
            ("X-Amz-Target", TARGET_PREFIX + operation),
        ]
        signer = sigv4signer.Signer(
            "POST", "/", "", headers, c.access_key, c.secret_key, self.region, "dynamodb", c.session_token
        )
        signer.credentials = c
        self._signers[operation] = signer

    def prepare(self, operation):
        """Prepare the operation's signer and today's key before a body is built (see Sink.send)."""
        self._signer(operation).prepare(utc.amz_date(self.now()))

    def call_body(self, operation, body):
        """body: bytes, or a function that makes the body's pieces afresh at each call: called
        once to hash and count them, then to send them (twice more should the kept-alive
        connection have closed), so a body whose items are read from flash is never in RAM.
        Returns the answer decoded: a JSON object, with no error in it; anything else raises
        DynamoDBError."""
        digest = None
        if callable(body):
            digest, n = pieces_hash(body())
            body = Pieces(body, n)
        # Authorization in parts: its fixed head and the signature, never joined in the heap
        signed = self._signer(operation).sign(body, utc.amz_date(self.now()), digest, True)
        resp = self.conn.request("POST", "/", signed, body)
        date = resp.header("date")
        if resp.status != 200:
            raise error_from_response(resp.status, resp.body, date)
        rid = resp.header("x-amzn-requestid")
        if not rid or self._answered.repeats(rid):
            # AWS names every answer: one unnamed, or named as an earlier one, came from elsewhere
            # (a replay, or bytes a middlebox sent after the last answer) and proves nothing
            raise malformed("a 200 answer %s x-amzn-RequestId" % ("without" if not rid else "repeating an earlier"))
        expected = resp.header("x-amz-crc32")
        if expected is not None and str(crc32(resp.body) & 0xFFFFFFFF) != expected:
            raise DynamoDBError("CRC32Mismatch", "response body does not match x-amz-crc32", resp.status)
        try:
            doc = json.loads(resp.body)
        except (ValueError, UnicodeError):  # garbled on the way, cut short, or a proxy's page
            doc = None
        if not isinstance(doc, dict):
            raise malformed("response body is not a JSON object")
        if "__type" in doc:  # an error sent as a success
            raise error_from_response(resp.status, resp.body, date)
        self._answered.add(rid)
        return doc

    def put_item(self, table, item):
        """PutItem of a dict, marshalled (loaded for the call: iotsv_ddbmarshal.put_item)."""
        return _expect(run("iotsv_ddbmarshal", "put_item", self, table, item), PUT_ITEM, "PutItem")

    def put_raw(self, table, item_json):
        """PutItem of an item already marshalled to AttributeValue JSON: bytes, or something
        that yields it afresh each time it is iterated (as batch_write_raw's items)."""
        head = b'{"TableName":' + json.dumps(table).encode() + b',"Item":'
        items = (item_json,) if isinstance(item_json, (bytes, bytearray)) else item_json
        return _expect(self.call_body("PutItem", lambda: _put_pieces(head, items)), PUT_ITEM, "PutItem")

    def batch_write_raw(self, table, items_json):
        """BatchWriteItem of marshalled items (at most 25): a list of bytes, or something that
        yields them afresh each time it is iterated (read from the spool at each pass, one item
        at a time). Returns its answer, checked to be BatchWriteItem's (unprocessed() reads
        what it left)."""
        head = b'{"RequestItems":{' + json.dumps(table).encode() + b":["
        answer = self.call_body("BatchWriteItem", lambda: _batch_pieces(head, items_json))
        return _expect(answer, BATCH_WRITE_ITEM, "BatchWriteItem")


class Sink:
    """Readings to a table, in BatchWriteItems of 1 to 25: one operation, so one prepared signer
    (PutItem's for a single reading would be a second, over a KB with its day's key)."""

    # of items a request: bodies are made piece by piece as they are sent (payloads read from the
    # spool one at a time), so what bounds a batch is the time a request may take, not the heap
    MAX_BATCH_BYTES = 128 * 1024
    STREAMS_PAYLOADS = True  # send() hashes and writes each payload before it takes the next

    def __init__(self, client, table, credentials=None):
        self.client = client
        self.conn = client.conn
        self.table = table
        self.credentials = credentials  # a provider (iotsv_credentials.py); None: the client's own
        self.ignored = 0  # items DynamoDB listed as unprocessed that were never sent

    def auth_refused(self):
        """DynamoDB refused our credentials: True when fresh ones may be had."""
        return self.credentials is not None and self.credentials.refused()

    # encode(item): compact, the spool, the heap and the network carry a tenth less. A staticmethod
    # (as item_field below): a board holds no method of its own for it.
    encode = staticmethod(item_json)

    # An item written attribute by attribute (a reading: iotsv_app.ReadingPayload), with no dict
    # made for it: item_start(), item_field() for each attribute, item_end() gives what encode()
    # would of the same attributes in that order.
    def item_start(self):
        return bytearray(b"{")

    item_field = staticmethod(write_attribute)  # (item, name, value)

    def item_end(self, item):
        item += b"}"
        return item

    def write_summary(self, payload, write):
        """The log line's "ts=<ts> name=value ..." written through write(text, start, end), read off
        the payload in place (see numtext.write_summary)."""
        # compact, or spaced as json.dumps writes by default (a payload spooled by an earlier version)
        compact = b'":{"N":"' in payload
        numtext.write_summary(payload, b'":{"N":"' if compact else b'": {"N": "', write)

    def decode(self, payload):
        """The reading back as plain values (numbers stay in their text form): a dead letter's,
        loaded for the call (iotsv_ddbmarshal.plain_item)."""
        return run("iotsv_ddbmarshal", "plain_item", payload)

    def prepare(self):
        """Its one signer and today's key made now, if they are not yet (a device's start)."""
        self.client.prepare("BatchWriteItem")

    def send(self, payloads, seqs):
        """Deliver the readings (seqs: theirs, in order; payloads: a list, or something that
        yields them afresh at each iteration); return the seqs DynamoDB left unprocessed. Items
        it lists that this batch did not send are counted in `ignored`."""
        if self.credentials is not None:
            self.client.credentials = self.credentials.ensure_fresh()  # between requests only
        # The signer is prepared first: its one-off work (a module loaded for it) and the body
        # are then never in a small heap at the same time.
        self.prepare()
        left, ignored = unprocessed(self.client.batch_write_raw(self.table, payloads), self.table, seqs)
        self.ignored += ignored
        return left
