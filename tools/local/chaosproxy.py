"""A fault-injecting HTTPS proxy between the firmware and the local DynamoDB.

It keeps the firmware's connections alive (as AWS does) and opens one upstream connection per
request (moto closes each). At a configurable rate it injects one fault per request, chosen at
random among the kinds that fit the request:

  reset_before   the connection is reset before the request is forwarded
  reset_during   forwarded, then reset halfway through the response
  http_500       500 InternalServerError in AWS's JSON form, not forwarded
  http_503       503 ServiceUnavailable, not forwarded
  throttle       400 ProvisionedThroughputExceededException or ThrottlingException, not forwarded
  partial_batch  a BatchWriteItem forwarded with only some of its items (re-signed for them),
                 the rest returned as UnprocessedItems
  delay          held past the client's timeout, then forwarded (the write happens late)
  truncate       forwarded; the response body cut short and the connection closed
  bad_crc        forwarded; the response's x-amz-crc32 corrupted

With `kinds=BROKEN` it breaks answers instead, as broken servers, load balancers and middleboxes
do (make chaos BROKEN=1). Made up, nothing written, so a client that takes one for a success loses
readings:

  ok_bad_unprocessed   200 whose UnprocessedItems is [], null, 0, false or ""
  ok_error_body        200 whose body is a ThrottlingException or an unknown __type
  ok_html              200 with a proxy's HTML page
  ok_empty             200 with no body
  conflicting_length   200 {} with two different Content-Lengths
  length_and_chunked   200 {} with a Content-Length and Transfer-Encoding: chunked
  bad_chunk            200 chunked with a chunk size of 0x2
  junk_after           forwarded, and an unasked-for 200 {} sent right behind the answer
  replay_after         forwarded, and the same answer sent again right behind it
  big_page             200 with a page just under the client's 16 KB bound, close-delimited
  too_big              200 with a body past that bound

Derived from the server's real answer (the write happened):

  obs_text             a header value with obs-text bytes (allowed: the answer stands)
  folded               a header folded onto two lines (obs-fold: the answer stands)
  chunked_ok           re-framed as chunks with extensions and a trailer (the answer stands)
  close_delimited      no Content-Length, the connection closed at its end (the answer stands)
  bad_header_name      a header name with a space in it (refused: re-sent, written again)
  foreign_unprocessed  a batch written in part, its rest unprocessed along with items never sent
  unprocessed_no_seq   a batch written in part, its rest unprocessed with one seq taken out

Whatever the rate, a request whose X-Amz-Date is more than 5 minutes from this machine's clock is
refused as AWS refuses it (400 InvalidSignatureException "Signature expired", with a Date header),
and counted as clock_refusal. `down()` makes it refuse connections until `up()`, `outage(s)` for s
seconds.

With `capacity_wcu` it models a table's write capacity for every client together (make fleet): a
token bucket of write units per second (an item of up to 1 KB is one unit, as DynamoDB bills it:
`item_size`; a BatchWriteItem costs its items), holding `burst_s` seconds of them. A write over it
is answered 400 ProvisionedThroughputExceededException in AWS's JSON form, not forwarded. With
`partial` a BatchWriteItem the bucket covers in part is answered as AWS answers it: the items that
fit are written (re-signed for them), the rest returned in UnprocessedItems; refused whole only
when none fit. Each request is counted per second in `timeline`, each item written in `writes`.
"""

import calendar
import http.client
import json
import random
import socket
import ssl
import struct
import threading
import time
import zlib
from email.utils import formatdate

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KINDS = (
    "reset_before",
    "reset_during",
    "http_500",
    "http_503",
    "throttle",
    "partial_batch",
    "delay",
    "truncate",
    "bad_crc",
)
BROKEN = (
    "ok_bad_unprocessed",
    "ok_error_body",
    "ok_html",
    "ok_empty",
    "conflicting_length",
    "length_and_chunked",
    "bad_chunk",
    "junk_after",
    "replay_after",
    "big_page",
    "too_big",
    "obs_text",
    "folded",
    "chunked_ok",
    "close_delimited",
    "bad_header_name",
    "foreign_unprocessed",
    "unprocessed_no_seq",
)
BATCH_ONLY = ("partial_batch", "foreign_unprocessed", "unprocessed_no_seq")
# what `timeline` counts per second, in this order: requests written (whole or in part), requests
# refused whole, items written, write units written, requests answered with UnprocessedItems, and
# of the written and the refused those of more than one item (a backlog's batches, apart from a
# caught-up device's single readings)
TIMELINE = ("accepted", "throttled", "items", "units", "in_part", "batches_accepted", "batches_throttled")
SKEW_LIMIT_S = 300
DDB = "com.amazonaws.dynamodb.v20120810#"
OVER_CAPACITY = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)


def _value_size(v):
    """Bytes of one AttributeValue as DynamoDB counts them for billing and limits."""
    kind, x = next(iter(v.items()))
    if kind == "S":
        return len(x.encode())
    if kind == "N":  # 1 byte per two significant digits, plus 1
        digits = x.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(x) * 3 // 4 - x.count("=")
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: e}) for e in x)
    if kind == "L":
        return 3 + sum(1 + _value_size(e) for e in x)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(e) for k, e in x.items())
    raise ValueError("unknown AttributeValue type %r" % kind)


def item_size(item):
    """An item's size in bytes as DynamoDB bills it: its attribute names and values."""
    return sum(len(name.encode()) + _value_size(v) for name, v in item.items())


def write_units(item):
    """Write capacity units of one standard write of the item: one per 1 KB, rounded up."""
    return max(1, -(-item_size(item) // 1024))


def _written_items(target, body):
    """The items a PutItem or BatchWriteItem writes (decoded), or None for another request."""
    try:
        if target.endswith(".PutItem"):
            return [json.loads(body)["Item"]]
        if target.endswith(".BatchWriteItem"):
            doc = json.loads(body)["RequestItems"]
            return [r["PutRequest"]["Item"] for reqs in doc.values() for r in reqs if "PutRequest" in r]
    except (ValueError, KeyError, AttributeError, TypeError):
        pass
    return None


class Capacity:
    """A table's write capacity: a token bucket of `wcu` units a second holding `burst_s` seconds
    of them (at least one full batch of 25 one-unit items)."""

    def __init__(self, wcu, burst_s=1.0, clock=time.monotonic):
        self.rate = float(wcu)
        self.size = max(self.rate * burst_s, 25.0)
        self.tokens = self.size
        self.clock = clock
        self.at = clock()

    def take(self, units):
        """True and the units consumed when the bucket holds them; False (nothing taken) otherwise."""
        return self.take_some([units]) == 1

    def admit(self, units, partial):
        """How many of a write's items (their units, in order) are written: with `partial` those of
        a batch that fit, as AWS answers a BatchWriteItem; else all or none."""
        if partial and len(units) > 1:
            return self.take_some(units)
        return len(units) if self.take(sum(units)) else 0

    def take_some(self, units):
        """How many of the items (their units, in order) the bucket holds: those are consumed."""
        now = self.clock()
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
        self.at = now
        fit = 0
        for u in units:
            if u > self.tokens:
                break
            self.tokens -= u
            fit += 1
        return fit


def _aws_error(status, code, message, prefix=DDB):
    body = json.dumps({"__type": prefix + code, "message": message}).encode()
    return status, [("Content-Type", "application/x-amz-json-1.0")], body


class ChaosProxy:
    def __init__(
        self,
        upstream_port,
        upstream_ca_pem,
        cert,
        key,
        fault_rate=0.0,
        seed=None,
        client_timeout_s=2,
        credentials=None,
        region="us-east-1",
        upstream_host="localhost",
        capacity_wcu=None,
        burst_s=1.0,
        partial=False,
        kinds=KINDS,
    ):
        self.upstream = (upstream_host, upstream_port)
        # upstream_ca_pem None: the upstream speaks plain HTTP on this machine (make bench)
        self.upstream_ctx = ssl.create_default_context(cafile=upstream_ca_pem) if upstream_ca_pem else None
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.fault_rate = fault_rate
        self.rand = random.Random(seed)
        self.client_timeout_s = client_timeout_s
        self.credentials = credentials  # (key id, secret) to re-sign a partial batch
        self.region = region
        self.kinds = tuple(kinds)
        self.faults = dict((k, 0) for k in self.kinds + ("clock_refusal",))
        self.requests = 0
        self.connections = 0
        self.bytes_in = 0  # HTTP bytes (request line, headers, body) received from clients
        self.bytes_out = 0  # HTTP bytes sent back to them
        self.capacity = Capacity(capacity_wcu, burst_s) if capacity_wcu else None
        self.partial = partial  # a batch the capacity covers in part: UnprocessedItems, as AWS
        self.started = time.time()
        # second since start -> TIMELINE's slots
        self.timeline = {}
        self.writes = []  # (time.time() when written, deviceId, seq) of every item written, repeats too
        self._lock = threading.Lock()
        self._clients = set()
        self._listener = None
        self.port = None
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self):
        self._listen(0)
        return self

    def _listen(self, port):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(32)
        self._listener = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def down(self):
        """Refuse connections and cut the open ones, as a server that went away."""
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for c in list(self._clients):
                try:
                    c.shutdown(socket.SHUT_RDWR)  # wakes its thread; the client reads the end
                except OSError:
                    pass

    def up(self):
        self._listen(self.port)

    def outage(self, seconds):
        """The network cut for `seconds` (connections refused, open ones cut), then back."""
        self.down()
        time.sleep(seconds)
        self.up()

    def stop(self):
        self._stopped = True
        self.down()

    # -- serving ---------------------------------------------------------------------------
    def _accept(self, listener):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw):
        conn = raw
        reader = None
        ending = "close"
        try:
            raw.settimeout(60)
            conn = self.ctx.wrap_socket(raw, server_side=True)  # takes over raw's descriptor
            with self._lock:
                self._clients.add(conn)
            reader = conn.makefile("rb")
            while ending == "close":
                request = _read_request(reader)
                if request is None:
                    break
                ending = self._handle(conn, *request)
                if ending == "keep":
                    ending = "close"
                    continue
                break
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._clients.discard(conn)
            if ending == "reset":  # an RST, as a dropped link or a crashed peer sends
                try:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            for obj in (reader, conn):  # the descriptor closes when both are closed
                try:
                    if obj is not None:
                        obj.close()
                except OSError:
                    pass

    def _pick_fault(self, target, body):
        with self._lock:
            self.requests += 1
            if self.rand.random() >= self.fault_rate:
                return None
            kinds = [k for k in self.kinds if k not in BATCH_ONLY or _batch_size(target, body) > 1]
            kind = self.rand.choice(kinds)
            self.faults[kind] += 1
            return kind

    def _handle(self, conn, method, path, headers, body):
        """Answer one request; say how the connection goes on: "keep", "close" or "reset"."""
        with self._lock:
            self.bytes_in += len(method) + len(path) + 11 + sum(len(n) + len(v) + 4 for n, v in headers) + 2 + len(body)
        conn = _Counting(conn, self)
        amz_date = _header(headers, "x-amz-date")
        if amz_date and abs(_parse_amz_date(amz_date) - time.time()) > SKEW_LIMIT_S:
            with self._lock:
                self.requests += 1
                self.faults["clock_refusal"] += 1
            now = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            msg = "Signature expired: %s is now earlier than %s (%s - 5 min.)" % (amz_date, now, now)
            if _parse_amz_date(amz_date) > time.time():
                msg = "Signature not yet current: %s is still later than %s (%s + 5 min.)" % (amz_date, now, now)
            status, hdrs, out = _aws_error(400, "InvalidSignatureException", msg, "com.amazon.coral.service#")
            return _respond(conn, status, hdrs, out)
        target = _header(headers, "x-amz-target") or ""
        written = _written_items(target, body) if self.capacity else None
        if written is not None:
            return self._capacity_write(conn, method, path, headers, body, written)
        kind = self._pick_fault(target, body)
        if kind == "reset_before":
            return "reset"
        if kind == "http_500":
            return _respond(conn, *_aws_error(500, "InternalServerError", "Internal server error"))
        if kind == "http_503":
            return _respond(conn, *_aws_error(503, "ServiceUnavailable", "Service unavailable"))
        if kind == "throttle":
            code = self.rand.choice(("ProvisionedThroughputExceededException", "ThrottlingException"))
            return _respond(conn, *_aws_error(400, code, "Rate of requests exceeds the allowed throughput."))
        if kind in BROKEN:
            return self._broken(conn, kind, method, path, headers, body)
        unprocessed = None
        if kind == "partial_batch":
            keep = self.rand.randint(1, _batch_size(target, body) - 1)
            headers, body, unprocessed = self._split_batch(method, path, headers, body, keep)
        if kind == "delay":
            time.sleep(self.client_timeout_s + 0.5)
        status, hdrs, out = self._forward(method, path, headers, body)
        if unprocessed is not None and status == 200:
            hdrs, out = _unprocessed_answer(hdrs, unprocessed)
        if kind == "bad_crc":
            hdrs = [(n, str((int(v) + 1) & 0xFFFFFFFF) if n.lower() == "x-amz-crc32" else v) for n, v in hdrs]
        if kind == "reset_during":
            _respond(conn, status, hdrs, out, cut=max(1, len(out) // 2))
            return "reset"
        if kind == "truncate":
            _respond(conn, status, hdrs, out, cut=max(0, len(out) // 2))
            return "close"
        return _respond(conn, status, hdrs, out)

    def _broken(self, conn, kind, method, path, headers, body):
        """One broken answer of `kind` (BROKEN); how the connection goes on."""
        ok = [b"Content-Type: application/x-amz-json-1.0"]
        if kind == "ok_bad_unprocessed":
            value = self.rand.choice((b"[]", b"null", b"0", b"false", b'""'))
            return _send_raw(conn, 200, ok, b'{"UnprocessedItems":' + value + b"}")
        if kind == "ok_error_body":
            code = self.rand.choice((b"ThrottlingException", b"SomethingNewException"))
            return _send_raw(conn, 200, ok, b'{"__type":"' + DDB.encode() + code + b'","message":"m"}')
        if kind == "ok_html":
            return _send_raw(conn, 200, [b"Content-Type: text/html"], b"<html><body>Welcome</body></html>")
        if kind == "ok_empty":
            return _send_raw(conn, 200, ok, b"")
        if kind == "conflicting_length":
            return _send_raw(conn, 200, ok + [b"Content-Length: 5"], b"{}")
        if kind == "length_and_chunked":
            return _send_raw(conn, 200, ok + [b"Transfer-Encoding: chunked"], b"{}")
        if kind == "big_page":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>" + b"x" * 16000 + b"</html>")
            return "close"
        if kind == "too_big":
            return _send_raw(conn, 200, [b"Content-Type: text/html"], b"<html>" + b"x" * 40000 + b"</html>")
        if kind == "bad_chunk":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n")
            return "keep"
        unprocessed = None
        if kind in ("foreign_unprocessed", "unprocessed_no_seq"):
            keep = self.rand.randint(1, _batch_size(_header(headers, "x-amz-target") or "", body) - 1)
            headers, body, unprocessed = self._split_batch(method, path, headers, body, keep)
        status, hdrs, out = self._forward(method, path, headers, body)
        if unprocessed is not None and status == 200:
            table, items = next(iter(unprocessed.items()))
            if kind == "foreign_unprocessed":
                stranger = json.loads(json.dumps(items[0]))
                stranger["PutRequest"]["Item"]["seq"] = {"N": str(10**9 + self.rand.randint(0, 999))}
                unprocessed = {table: items + [stranger], "some-other-table": [items[0]]}
            else:
                del items[self.rand.randrange(len(items))]["PutRequest"]["Item"]["seq"]
            hdrs, out = _unprocessed_answer(hdrs, unprocessed)
        lines = _lines(hdrs)
        if kind == "obs_text":
            lines.append(b"X-Note: caf\xe9 \xff")
        elif kind == "folded":
            lines += [b"X-Folded: one", b"  two"]
        elif kind == "bad_header_name":
            lines.append(b"X Bad: 1")
        if kind == "chunked_ok":
            cut = len(out) // 2
            chunks = b"%x;part=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (
                cut,
                out[:cut],
                len(out) - cut,
                out[cut:],
            )
            return _send_raw(conn, status, lines + [b"Transfer-Encoding: chunked"], chunks, framed=True)
        if kind == "close_delimited":
            _send_raw(conn, status, lines + [b"Connection: close"], out, framed=True)
            return "close"
        ending = _send_raw(conn, status, lines, out)
        if kind == "junk_after":
            _send_raw(conn, 200, ok, b"{}")
        elif kind == "replay_after":
            _send_raw(conn, status, lines, out)
        return ending

    def _count(self, slot, n=1, at=None):
        second = int((at or time.time()) - self.started)
        with self._lock:
            row = self.timeline.setdefault(second, [0] * len(TIMELINE))
            row[TIMELINE.index(slot)] += n

    def _capacity_write(self, conn, method, path, headers, body, items):
        """A write through the table's capacity: forwarded when the bucket holds its units; with
        `partial` a batch it holds in part forwarded with the items that fit and the rest answered
        as UnprocessedItems; else refused as DynamoDB refuses it (nothing written)."""
        units = [write_units(i) for i in items]
        with self._lock:
            self.requests += 1
            fit = self.capacity.admit(units, self.partial)
        if not fit:
            self._count("throttled")
            if len(items) > 1:
                self._count("batches_throttled")
            return _respond(conn, *_aws_error(400, "ProvisionedThroughputExceededException", OVER_CAPACITY))
        unprocessed = None
        if fit < len(items):
            headers, body, unprocessed = self._split_batch(method, path, headers, body, fit)
        status, hdrs, out = self._forward(method, path, headers, body)
        now = time.time()
        if status == 200:
            self._count("accepted", at=now)
            if len(items) > 1:
                self._count("batches_accepted", at=now)
            self._count("items", fit, now)
            self._count("units", sum(units[:fit]), now)
            with self._lock:
                for i in items[:fit]:
                    self.writes.append((now, i["deviceId"]["S"], int(i["seq"]["N"])))
            if unprocessed is not None:
                self._count("in_part", at=now)
                hdrs, out = _unprocessed_answer(hdrs, unprocessed)
        return _respond(conn, status, hdrs, out)

    def _forward(self, method, path, headers, body):
        if self.upstream_ctx:
            up = http.client.HTTPSConnection(*self.upstream, context=self.upstream_ctx, timeout=30)
        else:
            up = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            up.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in ("connection", "content-length"):
                    up.putheader(name, value)
            up.putheader("Content-Length", str(len(body)))
            up.endheaders(body)
            resp = up.getresponse()
            out = resp.read()
            keep = ("content-type", "x-amz-crc32", "x-amzn-requestid", "date")
            return resp.status, [(n, v) for n, v in resp.getheaders() if n.lower() in keep], out
        finally:
            up.close()

    def _split_batch(self, method, path, headers, body, keep):
        """The batch with its first `keep` items, re-signed, and the rest as UnprocessedItems."""
        doc = json.loads(body)
        table, items = next(iter(doc["RequestItems"].items()))
        doc["RequestItems"][table] = items[:keep]
        new_body = json.dumps(doc).encode()
        req = AWSRequest(method=method, url="https://%s%s" % (_header(headers, "host"), path), data=new_body)
        for name, value in headers:
            if name.lower() in ("host", "content-type", "x-amz-target", "x-amz-security-token"):
                req.headers[name] = value
        SigV4Auth(Credentials(*self.credentials), "dynamodb", self.region).add_auth(req)
        return list(req.headers.items()), new_body, {table: items[keep:]}


def _unprocessed_answer(hdrs, unprocessed):
    """A BatchWriteItem's 200 answer, upstream's headers, leaving `unprocessed` to re-send."""
    out = json.dumps({"UnprocessedItems": unprocessed}).encode()
    hdrs = [(n, v) for n, v in hdrs if n.lower() != "x-amz-crc32"]
    hdrs.append(("x-amz-crc32", str(zlib.crc32(out) & 0xFFFFFFFF)))
    return hdrs, out


class _Counting:
    """The client connection, counting what is sent on it."""

    def __init__(self, conn, proxy):
        self.conn, self.proxy = conn, proxy

    def sendall(self, data):
        with self.proxy._lock:
            self.proxy.bytes_out += len(data)
        self.conn.sendall(data)


def _header(headers, name):
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def _batch_size(target, body):
    if not target.endswith(".BatchWriteItem"):
        return 0
    try:
        return sum(len(v) for v in json.loads(body)["RequestItems"].values())
    except (ValueError, KeyError, AttributeError):
        return 0


def _parse_amz_date(text):
    try:
        return calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return 0


def _read_request(reader):
    line = reader.readline(8192)
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers = []
    while True:
        h = reader.readline(8192).decode("latin-1")
        if h in ("\r\n", "\n", ""):
            break
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    length = int(_header(headers, "content-length") or 0)
    body = reader.read(length) if length else b""
    return method, path, headers, body


def _send_raw(conn, status, lines, body, framed=False, cut=None):
    """A response from header lines as bytes (a Date added, and a Content-Length unless `framed`);
    with `cut`, only that much of the body goes out, its Content-Length still the whole."""
    head = [b"HTTP/1.1 %d %s" % (status, http.client.responses.get(status, "Status").encode())]
    head += lines
    if not any(line.lower().startswith(b"date:") for line in lines):
        head.append(b"Date: " + formatdate(usegmt=True).encode())
    if not framed:
        head.append(b"Content-Length: %d" % len(body))
    conn.sendall(b"\r\n".join(head) + b"\r\n\r\n" + (body if cut is None else body[:cut]))
    return "keep" if cut is None else "close"


def _lines(headers):
    """(name, value) headers as the header lines _send_raw takes."""
    return [("%s: %s" % h).encode() for h in headers]


def _respond(conn, status, headers, body, cut=None):
    """_send_raw with (name, value) headers."""
    return _send_raw(conn, status, _lines(headers), body, cut=cut)
