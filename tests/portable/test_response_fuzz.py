# Strict reading of answers, on both interpreters: every framing RFC 9112 allows is read, every one
# it forbids is refused, and a reading is acknowledged only on exactly DynamoDB's success. Then a
# fuzz run with fixed seeds (FUZZ_CASES per kind; make fuzz runs many more): generated and mutated
# answers never raise anything but the client's own errors and never acknowledge outside the rules.
import json
import os
import random

from iotsv_dynamodb import Client, Credentials, DynamoDBError, Sink
from iotsv_httpclient import ProtocolError, ResponseTooLarge
from portable import raises
from wire import TABLE, PlaybackConnection, answer, deliver, payload, read, unprocessed_body

CASES = int(os.getenv("FUZZ_CASES") or "300")
SEED = int(os.getenv("FUZZ_SEED") or "1")
BODY = b'{"UnprocessedItems":{}}'
BATCH = [1, 2, 3]
BATCH_KEYS = ("UnprocessedItems", "ConsumedCapacity", "ItemCollectionMetrics")


def _rng(kind):
    """(randint, choice) drawn from SEED and `kind` (MicroPython's random has no Random class:
    its one generator is seeded instead)."""
    if hasattr(random, "Random"):
        r = random.Random(SEED * 1000 + kind)
        return r.randint, r.choice
    random.seed(SEED * 1000 + kind)
    return random.randint, random.choice


_piece_randint = _rng(0)[0]


def piece_size(n):
    """How many of n bytes the playback socket hands over at once."""
    return _piece_randint(1, n)


# -- framings RFC 9112 allows ---------------------------------------------------------------
ALLOWED = [
    ("content-length", answer(200, BODY)),
    (
        "chunked with extensions and trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-amzn-RequestId: A\r\n\r\n"
        b"5;name=value\r\n" + BODY[:5] + b"\r\n12 ; x\r\n" + BODY[5:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n",
    ),
    ("close-delimited", b"HTTP/1.1 200 OK\r\nConnection: close\r\nx-amzn-RequestId: A\r\n\r\n" + BODY),
    ("HTTP/1.0 close-delimited", b"HTTP/1.0 200 OK\r\nx-amzn-RequestId: A\r\n\r\n" + BODY),
    ("obs-text in a value", answer(200, BODY, [b"X-Note: caf\xe9 \xff"])),
    ("obs-fold", answer(200, BODY, [b"X-Folded: one", b" two", b"\tthree"])),
    ("repeated equal lengths", answer(200, BODY, [b"Content-Length: %d, %d" % (len(BODY), len(BODY))])),
    ("interim 100", b"HTTP/1.1 100 Continue\r\n\r\n" + answer(200, BODY)),
    ("no reason phrase", b"HTTP/1.1 200\r\nx-amzn-RequestId: A\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY),
    (
        "obs-text reason",
        b"HTTP/1.1 200 \xc7a va\r\nx-amzn-RequestId: A\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
    ),
    ("bare LF lines", b"HTTP/1.1 200 OK\nx-amzn-RequestId: A\nContent-Length: %d\n\n" % len(BODY) + BODY),
]


def test_every_framing_rfc_9112_allows_is_read():
    for name, wire in ALLOWED:
        resp, err = read(wire, piece_size)
        assert err is None, (name, err)
        assert resp.status == 200 and resp.body == BODY, (name, resp.body)
        assert deliver(wire, BATCH, piece_size) == set(BATCH), name


def test_header_values_keep_obs_text_as_latin_1_and_unfold():
    resp, _ = read(answer(200, BODY, [b"X-Note: caf\xe9", b"X-Folded: one", b"  two"]), piece_size)
    assert resp.header("x-note") == "caf\xe9"
    assert resp.header("x-folded") == "one two"


# -- framings it forbids, and the client's bounds ---------------------------------------------
def _cl(value):
    return b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\n" + BODY


def _chunk(size_line):
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\n" + BODY + b"\r\n0\r\n\r\n"


def _with(line):
    return b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY


FORBIDDEN = [
    ("conflicting lengths", answer(200, BODY, [b"Content-Length: 5"])),
    ("conflicting list", _cl(b"%d, 5" % len(BODY))),
    ("length with chunked", answer(200, BODY, [b"Transfer-Encoding: chunked"])),
    ("gzip coding", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("chunked twice", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("chunked on HTTP/1.0", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("negative length", _cl(b"-1")),
    ("signed length", _cl(b"+%d" % len(BODY))),
    ("length with underscore", _cl(b"2_3")),
    ("hex length", _cl(b"0x17")),
    ("length with junk", _cl(b"%dabc" % len(BODY))),
    ("spaced digits", _cl(b"2 3")),
    ("empty length", _cl(b"")),
    ("huge length", _cl(b"9" * 30)),
    ("chunk size not hex", _chunk(b"1g")),
    ("chunk size signed", _chunk(b"+17")),
    ("chunk size 0x", _chunk(b"0x17")),
    ("chunk size negative", _chunk(b"-17")),
    ("chunk size empty", _chunk(b"")),
    ("chunk size too long", _chunk(b"0000000017")),
    ("chunk not followed by CRLF", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"),
    ("space in name", _with(b"X Bad: 1")),
    ("space before colon", _with(b"X-Bad : 1")),
    ("non-token byte in name", _with(b"X\xffBad: 1")),
    ("delimiter in name", _with(b"(x): 1")),
    ("empty name", _with(b": value")),
    ("no colon", _with(b"novalue")),
    ("fold as first line", b"HTTP/1.1 200 OK\r\n folded: 1\r\nContent-Length: 2\r\n\r\n{}"),
    ("bare CR in value", _with(b"X-A: a\rb")),
    ("NUL in value", _with(b"X-A: a\x00b")),
    ("status of four digits", b"HTTP/1.1 2000 OK\r\n\r\n"),
    ("status of two digits", b"HTTP/1.1 20 OK\r\n\r\n"),
    ("status 600", b"HTTP/1.1 600 OK\r\n\r\n"),
    ("status 099", b"HTTP/1.1 099 OK\r\n\r\n"),
    ("HTTP/2 status line", b"HTTP/2 200 OK\r\n\r\n"),
    ("no space after version", b"HTTP/1.1200 OK\r\n\r\n"),
    ("no space after status", b"HTTP/1.1 200OK\r\n\r\n"),
    ("not HTTP", b"ICY 200 OK\r\n\r\n"),
    ("switching protocols", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"),
    ("endless interim", b"HTTP/1.1 100 Continue\r\n\r\n" * 20 + answer(200, BODY)),
    ("too many headers", _with(b"\r\n".join(b"X-%d: v" % i for i in range(70)))),
    ("header line too long", _with(b"X-Long: " + b"a" * 5000)),
    ("headers too large together", _with(b"\r\n".join(b"X-%d: " % i + b"a" * 300 for i in range(40)))),
    ("body past the bound", _cl(b"20000") + b"x" * 20000),
    (
        "chunks past the bound",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1000\r\n" + b"x" * 4096 + b"\r\n" * 5,
    ),
    ("body cut short", _cl(b"%d" % (len(BODY) + 5))),
    ("chunks cut short", b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n17\r\n{"Unp'),
    ("headers cut short", b"HTTP/1.1 200 OK\r\nContent-Len"),
    ("nothing", b""),
]


def test_every_framing_rfc_9112_forbids_is_refused_and_acknowledges_nothing():
    for name, wire in FORBIDDEN:
        resp, err = read(wire, piece_size)
        assert resp is None and err is not None, (name, resp and resp.body)
        assert deliver(wire, BATCH, piece_size) is None, name


def test_bounds_are_named_in_the_refusal():
    _, err = read(_cl(b"20000") + b"x" * 20000, piece_size)
    assert isinstance(err, ResponseTooLarge)
    _, err = read(answer(200, BODY, [b"Content-Length: 5"]), piece_size)
    assert isinstance(err, ProtocolError) and "conflicting Content-Length" in str(err), err
    _, err = read(answer(200, BODY, [b"Transfer-Encoding: chunked"]), piece_size)
    assert "both Content-Length and Transfer-Encoding" in str(err), err


def test_bytes_after_a_kept_alive_answer_close_the_connection():
    fake_ok = answer(200, BODY)
    for junk in (b"junk", b"\r\n", fake_ok):  # a response to nothing is junk too
        conn = PlaybackConnection(
            [answer(200, BODY) + junk, answer(400, b'{"__type":"x#ValidationException"}')], piece_size
        )
        first = conn.request("POST", "/", [], b"{}")
        assert first.status == 200 and first.body == BODY
        second = conn.request("POST", "/", [], b"{}")
        assert second.status == 400, junk  # the next connection's answer, never the junk
        assert conn.connects == 2


# -- DynamoDB's success, exactly ---------------------------------------------------------------
def test_only_dynamodb_success_shapes_acknowledge():
    foreign = unprocessed_body({TABLE: [2, 99], "other": [1]})
    for body, ack in (
        (BODY, {1, 2, 3}),
        (b"{}", {1, 2, 3}),
        (b'{"ConsumedCapacity":[{"TableName":"readings","CapacityUnits":3}],"UnprocessedItems":{}}', {1, 2, 3}),
        (unprocessed_body({TABLE: [1, 3]}), {2}),
        (unprocessed_body({TABLE: []}), {1, 2, 3}),
        (foreign, {1, 3}),  # 99 and the other table's were never sent: ignored
    ):
        assert deliver(answer(200, body), BATCH, piece_size) == ack, body
    throttling = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow"}'
    for body in (
        b'{"UnprocessedItems":[]}',
        b'{"UnprocessedItems":null}',
        b'{"UnprocessedItems":0}',
        b'{"UnprocessedItems":false}',
        b'{"UnprocessedItems":""}',
        b'{"UnprocessedItems":{"readings":{}}}',
        b'{"UnprocessedItems":{"readings":[{"PutRequest":{"Item":{"deviceId":{"S":"d"}}}}]}}',
        b'{"UnprocessedItems":{"readings":[{"PutRequest":{"Item":{"seq":{"N":"x1"}}}}]}}',
        b'{"UnprocessedItems":{"readings":[{"PutRequest":{"Item":{"seq":{"N":"2.0"}}}}]}}',
        b'{"UnprocessedItems":{"readings":[{"PutRequest":{"Item":{"seq":{"S":"2"}}}}]}}',
        b'{"UnprocessedItems":{"readings":[{"PutRequest":{"Item":{"seq":{"N":2}}}}]}}',
        b'{"UnprocessedItems":{"readings":[{"DeleteRequest":{"Key":{"seq":{"N":"2"}}}}]}}',
        b'{"UnprocessedItems":{"readings":[null]}}',
        throttling,
        b'{"__type":"com.example#SomethingNew"}',
        b'{"message":"Internal error"}',
        b'{"Unprocessed":{}}',
        b"[]",
        b"null",
        b'"ok"',
        b"",
        b"<html><body>502 Bad Gateway</body></html>",
        BODY[:-1],
        b"\xff\xfe{}",
    ):
        assert deliver(answer(200, body), BATCH, piece_size) is None, body
    assert deliver(answer(201, BODY), BATCH, piece_size) is None
    assert deliver(answer(200, BODY, crc=False) + b"", BATCH, piece_size) == set(BATCH)  # no CRC: nothing to check
    bad_crc = answer(200, BODY, crc=False).replace(b"Content-Type", b"x-amz-crc32: 1\r\nContent-Type")
    assert deliver(bad_crc, BATCH, piece_size) is None


def test_a_success_must_carry_a_request_id_of_its_own():
    unnamed = answer(200, BODY).replace(b"x-amzn-RequestId", b"x-amzn-Other")
    assert deliver(unnamed, BATCH, piece_size) is None
    # an answer repeated (replayed, or sent again behind the first) is not the next one's answer
    wire = answer(200, b"{}")
    conn = PlaybackConnection([wire, wire, answer(200, b"{}")], piece_size)
    client = Client(conn, Credentials("AKIDEXAMPLE", "secret"), "eu-west-1", "example.test", lambda: 1795412461)
    sink = Sink(client, TABLE)
    assert sink.send([payload(1)], [1]) == []
    e = raises(DynamoDBError, sink.send, [payload(2)], [2])
    assert e.code == "MalformedResponse" and "repeating" in e.message and e.retryable
    assert sink.send([payload(2)], [2]) == []


def test_a_lone_reading_is_acknowledged_only_by_its_batch_s_own_success():
    for body in (BODY, b"{}", b'{"ConsumedCapacity":[{"TableName":"readings","CapacityUnits":1}]}'):
        assert deliver(answer(200, body), [7], piece_size) == {7}, body
    put_answer = b'{"Attributes":{"seq":{"N":"7"}}}'  # PutItem's: not an answer to the batch sent
    for body in (put_answer, b'{"__type":"x#ValidationException"}', b"", b"{", b"[]"):
        assert deliver(answer(200, body), [7], piece_size) is None, body


def test_an_error_in_a_success_answer_is_retried_never_dead_lettered():
    import iotsv_retry as retry
    from iotsv_dynamodb import error_from_response

    for body in (b'{"__type":"x#ValidationException","message":"m"}', b'{"__type":"x#Unknown"}'):
        assert retry.classify(error_from_response(200, body)) == retry.TRANSIENT
    for status in (400, 413, 422, 502):  # a proxy's page names no DynamoDB code: not the item's fault
        assert retry.classify(error_from_response(status, b"<html>no</html>")) == retry.TRANSIENT
    assert retry.classify(error_from_response(400, b'{"__type":"x#ValidationException"}')) == retry.ITEM_REFUSED


# -- the fuzz run --------------------------------------------------------------------------------
def expected_ack(body, seqs):
    """The rules of a DynamoDB success, written out again independently of the sink: the seqs a
    correct client acknowledges for `body` (a 200 framed right), or None."""
    try:
        doc = json.loads(body)
    except Exception:
        return None
    if not isinstance(doc, dict):
        return None
    if [k for k in doc if k not in BATCH_KEYS]:  # a lone reading goes as a batch of one too
        return None
    if "UnprocessedItems" not in doc:
        return set(seqs)
    tables = doc["UnprocessedItems"]
    if not isinstance(tables, dict):
        return None
    left = set()
    for table in tables:
        if not isinstance(tables[table], list):
            return None
        for req in tables[table]:
            if not isinstance(req, dict) or list(req) != ["PutRequest"]:
                return None
            item = req["PutRequest"].get("Item") if isinstance(req["PutRequest"], dict) else None
            seq = item.get("seq") if isinstance(item, dict) else None
            text = seq.get("N") if isinstance(seq, dict) else None
            if not isinstance(text, str) or not text.isdigit() or len(text) > 20:
                return None
            if table == TABLE:
                left.add(int(text))
    return set(seqs) - left


def _mutate(data, randint, choice, alphabet):
    for _ in range(randint(1, 4)):
        op = randint(0, 4)
        i = randint(0, len(data)) if data else 0
        if op == 0 and data:  # change a byte
            i = min(i, len(data) - 1)
            data = data[:i] + bytes([choice(alphabet)]) + data[i + 1 :]
        elif op == 1:  # insert one
            data = data[:i] + bytes([choice(alphabet)]) + data[i:]
        elif op == 2:  # delete a run
            data = data[:i] + data[i + randint(1, 8) :]
        elif op == 3:  # repeat a run
            j = min(len(data), i + randint(1, 16))
            data = data[:j] + data[i:j] + data[j:]
        else:  # cut
            data = data[:i]
    return data


SEEDS = [
    BODY,
    b"{}",
    unprocessed_body({TABLE: [1, 3]}),
    unprocessed_body({TABLE: [2], "other": [5]}),
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow"}',
    b'{"UnprocessedItems":[]}',
]
ALPHABET = b'{}[]":,0123456789 NSUnprocessedItemsPutRequestseq\\\x00\xff\r\n'


def test_fuzz_mutated_bodies_acknowledge_exactly_what_the_rules_allow():
    randint, choice = _rng(1)
    for n in range(CASES):
        body = _mutate(choice(SEEDS), randint, choice, ALPHABET)
        seqs = BATCH if n % 4 else [randint(1, 3)]
        got = deliver(answer(200, body), seqs, piece_size)
        assert got == expected_ack(body, seqs), (n, body, seqs, got)


def test_fuzz_mutated_heads_acknowledge_the_answer_or_nothing():
    randint, choice = _rng(2)
    head_alphabet = b" :\t\r\n\x00\x7f\xff0123456789-+abcdefxHTTP/1.Content-LengthTransfer-Encodingchunked,;"
    bodies = [BODY, unprocessed_body({TABLE: [2]})]
    for n in range(CASES):
        if n % 3:
            body = choice(bodies)
            whole_answer = answer(200, body)
        else:  # the other framings, each with BODY
            body, whole_answer = BODY, ALLOWED[n % len(ALLOWED)][1]
        end = whole_answer.find(b"\r\n\r\n")
        end = len(whole_answer) if end < 0 else end
        wire = _mutate(whole_answer[:end], randint, choice, head_alphabet) + whole_answer[end:]
        got = deliver(wire, BATCH, piece_size)
        assert got is None or got == expected_ack(body, BATCH), (n, wire, got)


def test_fuzz_random_bytes_never_crash_or_acknowledge():
    randint, choice = _rng(3)
    starts = (
        b"",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    for n in range(CASES):
        noise = bytes(randint(0, 255) for _ in range(randint(0, 200)))
        wire = choice(starts) + noise
        resp, err = read(wire, piece_size)
        assert (resp is None) != (err is None), n
        got = deliver(wire, BATCH, piece_size)
        assert got is None or (resp is not None and expected_ack(resp.body, BATCH) == got), (n, wire)


# -- S3's and the HTTP Signatures endpoint's success ----------------------------------------------
def test_s3_put_is_stored_only_on_an_answer_with_its_etag():
    import iotsv_s3 as s3
    from iotsv_dynamodb import Credentials
    from portable import scratch

    path = scratch("s3put")
    with open(path, "wb") as f:
        f.write(b"log line\n")
    creds = Credentials("AKIDEXAMPLE", "secret")
    ok = b'HTTP/1.1 200 OK\r\nETag: "abc"\r\nContent-Length: 0\r\n\r\n'
    conn = PlaybackConnection([ok], piece_size)
    assert s3.put_file(conn, creds, "eu-west-1", "b", "k", path, "20261207T000000Z")[2] == "abc"
    for wire in (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nETag: "abc"\r\nContent-Length: 33\r\n\r\n<Error><Code>Internal</Code></Error>'[:-3],
        b'HTTP/1.1 200 OK\r\nETag: "abc"\r\nContent-Length: 36\r\n\r\n<Error><Code>Internal</Code></Error>',
    ):
        conn = PlaybackConnection([wire], piece_size)
        try:
            s3.put_file(conn, creds, "eu-west-1", "b", "k", path, "20261207T000000Z")
            raise AssertionError("taken for stored: %r" % wire)
        except (s3.S3Error, ProtocolError) as e:
            assert getattr(e, "retryable", True), e


def test_an_http_signatures_endpoint_succeeds_only_with_a_success_answer():
    from iotsv_httpclient import Response
    from iotsv_httpsink import accepted

    json_type = [("content-type", "application/json")]
    assert accepted(Response(200, "OK", json_type, b'{"stored":true}')) is None
    assert accepted(Response(201, "Created", [("content-type", "application/hal+json")], b"{}")) is None
    assert accepted(Response(204, "No Content", [], b"")) is None
    for resp in (
        Response(200, "OK", [("content-type", "text/html")], b"<html>portal</html>"),
        Response(200, "OK", json_type, b'{"stored":'),
        Response(200, "OK", [], b"ok"),
        Response(203, "Non-Authoritative", json_type, b"{}"),
        Response(206, "Partial", json_type, b"{}"),
        Response(302, "Found", [], b""),
    ):
        assert accepted(resp) is not None, resp.status
