# Opening a connection: the lookup, the TCP connect and the TLS handshake (its SSL context is
# made before, at start: iotsv_httptls). Loaded by iotsv_httpclient only while it
# connects (once per wake on a board that closes its connection between readings), so a
# kept-alive connection's requests leave it out of the heap. `conn` is an
# iotsv_httpclient.Connection; its errors are iotsv_httperrors'.
import select
import socket
import sys

from iotsv_refusal import TlsError

MICROPYTHON = sys.implementation.name == "micropython"


def connect(conn):
    try:
        infos = conn.resolve(conn.host, conn.port, 0, socket.SOCK_STREAM)
    except OSError as e:
        raise conn._error("unresolved", e)
    sock = None
    last = None
    for info in infos:
        wait = conn._wait_ms()
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.settimeout(wait / 1000)
        try:
            sock.connect(info[-1])
            break
        except OSError as e:
            sock.close()
            sock = None
            last = e
            conn._error("check_deadline", e, wait)
    if sock is None:
        raise conn._error("unconnected", last)
    if conn.tls:
        # The handshake is one call: on MicroPython each of its reads waits at most this long
        # (set on the plain socket: MicroPython's TLS socket has no settimeout); CPython bounds
        # the whole handshake by it. The deadline is checked again when it returns.
        sock.settimeout(conn._wait_ms() / 1000)
        sock = _handshake(conn, sock)
    conn.connects += 1
    conn._sock = sock  # nothing is buffered: a Connection connects when new or after close(), which empty it
    if MICROPYTHON:
        sock.setblocking(False)  # on a TLS socket this sets its plain socket
        conn._poller = select.poll()
        conn._poller.register(sock, select.POLLIN)


def _handshake(conn, sock):
    try:
        ctx = conn.tls_context()
    except TlsError:
        sock.close()
        raise
    try:
        return ctx.wrap_socket(sock, server_hostname=conn.host)
    except (ValueError, OSError) as e:
        sock.close()
        raise conn._error("handshake_failed", e)
