# Answers made up byte for byte, fed to the HTTP client through a socket that plays them back in
# pieces of random size (so every boundary case of the parser's buffering is met), and what the
# DynamoDB sink makes of them. Shared by the response tests and the fuzz harness.
import json
from binascii import crc32

from iotsv_dynamodb import Client, Credentials, Sink
from iotsv_httpclient import Connection, HttpError
from iotsv_refusal import Refusal

TABLE = "readings"
DEVICE = "dev-1"


class PlaybackSocket:
    """A connected socket whose peer sends `data` and then closes; every read returns at most a
    random number of bytes (rand: a function of n giving 1..n)."""

    def __init__(self, data, rand):
        self.data, self.pos, self.rand = data, 0, rand
        self.sent = 0

    def _take(self, buf, n):
        n = min(n, len(self.data) - self.pos)
        if n > 0:
            n = self.rand(n)
            buf[:n] = self.data[self.pos : self.pos + n]
            self.pos += n
        return max(n, 0)

    def readinto(self, buf, n=None):  # MicroPython's
        return self._take(buf, len(buf) if n is None else n)

    def recv_into(self, buf, n=0):  # CPython's
        return self._take(buf, n or len(buf))

    def write(self, data):
        self.sent += len(data)
        return len(data)

    def sendall(self, data):
        self.sent += len(data)

    def settimeout(self, t):
        pass

    def setblocking(self, flag):
        pass

    def close(self):
        pass


class PlaybackConnection(Connection):
    """An httpclient.Connection whose every connect gets the next of `answers` (bytes) played back."""

    def __init__(self, answers, rand, max_response=16384):
        Connection.__init__(self, "example.test", 443, tls=False, timeout_s=5, max_response=max_response)
        self.answers = list(answers)
        self.rand = rand

    def _connect(self):
        data = self.answers.pop(0) if self.answers else b""
        self._sock = PlaybackSocket(data, self.rand)
        self._rbuf = b""
        self._rpos = self._rend = 0
        self.connects += 1


def payload(seq):
    return json.dumps({"deviceId": {"S": DEVICE}, "seq": {"N": str(seq)}, "t": {"N": "21.5"}}).encode()


ANSWERS = [0]


def answer(status, body, headers=(), crc=True):
    """A response with Content-Length, a request id of its own (and x-amz-crc32 unless crc is
    False), as DynamoDB sends."""
    ANSWERS[0] += 1
    head = [b"HTTP/1.1 %d X" % status, b"Content-Type: application/x-amz-json-1.0"]
    head.append(b"x-amzn-RequestId: R%d" % ANSWERS[0])
    if crc:
        head.append(b"x-amz-crc32: %d" % (crc32(body) & 0xFFFFFFFF))
    head += list(headers)
    head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def unprocessed_body(table_items):
    """A BatchWriteItem answer leaving {table: [seq, ...]} unprocessed."""
    doc = {}
    for table in table_items:
        doc[table] = [{"PutRequest": {"Item": json.loads(payload(s))}} for s in table_items[table]]
    return json.dumps({"UnprocessedItems": doc}).encode()


def deliver(wire, seqs, rand):
    """What the DynamoDB sink makes of `wire` as the answer to sending `seqs`: the set of seqs it
    acknowledges (sent less those left unprocessed), or None when it raised a failure. Any other
    exception is the harness's failure and propagates."""
    conn = PlaybackConnection([wire], rand)
    client = Client(conn, Credentials("AKIDEXAMPLE", "secret"), "eu-west-1", "example.test", lambda: 1795412461)
    sink = Sink(client, TABLE)
    try:
        left = sink.send([payload(s) for s in seqs], list(seqs))
    except (Refusal, HttpError):
        return None
    for s in left:
        assert s in seqs, (left, seqs)
    return set(seqs) - set(left)


def read(wire, rand, method="POST", max_response=16384):
    """(Response, None) or (None, the HttpError) for `wire` as the answer to one request."""
    conn = PlaybackConnection([wire], rand, max_response)
    try:
        return conn.request(method, "/", [("Host", "example.test")], b"{}"), None
    except HttpError as e:
        return None, e
