"""A scripted HTTP/1.1 server (plain or TLS) for testing the firmware's HTTP client byte by byte.

Each request's path picks a canned behaviour; /echo answers with what the server received,
/trickle and /trickle-body send a response (or its body) one byte at a time.
"""

import json
import socket
import ssl
import threading
import time


def _ok(body, extra=b"", status=b"200 OK"):
    return b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n" % len(body) + extra + b"\r\n" + body


class StubServer:
    def __init__(self, cert=None, key=None, trickle_gap_s=None):
        self.trickle_gap_s = trickle_gap_s  # set: every request is answered as /trickle, at this pace
        self.ctx = None
        if cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert, key)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._stop = True
        self.listener.close()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(10)
            if self.ctx:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            reader = conn.makefile("rb")
            while True:
                line = reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers = []
                while True:
                    h = reader.readline().decode()
                    if h in ("\r\n", ""):
                        break
                    name, _, value = h.partition(":")
                    headers.append([name, value.strip()])
                length = int(dict((n.lower(), v) for n, v in headers).get("content-length", 0))
                body = reader.read(length) if length else b""
                if not self._respond(conn, method, target, headers, body):
                    return
        except (OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _respond(self, conn, method, target, headers, body):
        """Send the canned response; False closes the connection."""
        if self.trickle_gap_s:
            target = "/trickle?gap=%s" % self.trickle_gap_s
        path = target.split("?")[0]
        if path == "/echo":
            doc = {"method": method, "target": target, "headers": headers, "body": body.decode("latin-1")}
            etag = b'ETag: "echoed"\r\n' if method == "PUT" else b""  # S3 answers a stored object so
            conn.sendall(_ok(json.dumps(doc).encode(), b"Content-Type: application/json\r\n" + etag))
        elif path == "/len":
            conn.sendall(_ok(b"hello"))
        elif path == "/chunked":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: t\r\n\r\n"
            )
        elif path == "/close":
            conn.sendall(_ok(b"bye", b"Connection: close\r\n"))
            return False
        elif path == "/eof":
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
            return False
        elif path == "/big":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000)
        elif path in ("/pattern", "/pattern-eof"):  # 10000 bytes that differ piece to piece
            body = bytes(i * 7 % 251 for i in range(10000))
            if path == "/pattern-eof":
                conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + body)
                return False
            conn.sendall(_ok(body))
        elif path == "/bigchunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(40):
                conn.sendall(b"400\r\n" + b"y" * 1024 + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        elif path == "/truncated":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd")
            return False
        elif path == "/slow":
            time.sleep(3)
            conn.sendall(_ok(b"late"))
        elif path in ("/trickle", "/trickle-body"):
            # one byte every ?gap= seconds (0.3 by default): each read gets a byte well inside any
            # timeout, so only a deadline on the whole request ends it
            gap = float(target.partition("gap=")[2] or 0.3)
            data = _ok(b"x" * 200)
            if path == "/trickle-body":
                head = data.index(b"\r\n\r\n") + 4
                conn.sendall(data[:head])
                data = data[head:]
            for i in range(len(data)):
                time.sleep(gap)
                conn.sendall(data[i : i + 1])  # raises once the client has given up
        elif path == "/no-content":
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif path == "/continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" + _ok(b"after 100"))
        elif path == "/drop-after":
            conn.sendall(_ok(b"then gone"))  # says keep-alive, then closes: a stale connection
            return False
        elif path == "/long-header":
            conn.sendall(_ok(b"ok", b"X-Long: " + b"a" * 1000 + b"\r\n"))
        elif path == "/longer-header":  # longer than the client's buffer, among short ones
            conn.sendall(_ok(b"ok", b"X-A: 1\r\nX-Longer: " + b"b" * 3000 + b"\r\nX-B: 2\r\n"))
        elif path == "/huge-header":
            conn.sendall(_ok(b"ok", b"X-Huge: " + b"a" * 5000 + b"\r\n"))
            return False
        elif path == "/garbage":
            conn.sendall(b"SMTP ready\r\n\r\n")
            return False
        else:
            conn.sendall(_ok(b"not found", status=b"404 Not Found"))
        return True
