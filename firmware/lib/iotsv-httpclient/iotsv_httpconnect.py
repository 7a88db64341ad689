# Opening a connection: the lookup, the TCP connect and the TLS handshake, with the SSL context
# they need. Loaded by iotsv_httpclient only while it connects (once per wake on a board that
# closes its connection between readings), so a kept-alive connection's requests leave it out of
# the heap. `conn` is an iotsv_httpclient.Connection; iotsv_oserror is loaded on an error only.
import select
import socket

from iotsv_httpclient import MICROPYTHON, ConnectError, HttpTimeout, TlsError, ssl


def _oserror():
    import iotsv_oserror  # on an error only: its table of names

    return iotsv_oserror


def connect(conn):
    try:
        infos = conn.resolve(conn.host, conn.port, 0, socket.SOCK_STREAM)
    except OSError as e:
        raise ConnectError("cannot resolve %s: %s" % (conn.host, _oserror().reason(e)))
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
            if _oserror().is_timeout(e) and wait < int(conn.timeout_s * 1000):
                raise conn._rare("deadline")
    if sock is None:
        raise ConnectError("cannot connect to %s: %s" % (conn.address(), _oserror().reason(last)))
    if conn.tls:
        # The handshake is one call: on MicroPython each of its reads waits at most this long
        # (set on the plain socket: MicroPython's TLS socket has no settimeout); CPython bounds
        # the whole handshake by it. The deadline is checked again when it returns.
        sock.settimeout(conn._wait_ms() / 1000)
        sock = _handshake(conn, sock)
    conn.connects += 1
    conn._sock = sock
    conn._rbuf = b""
    conn._rpos = 0
    if MICROPYTHON:
        sock.setblocking(False)  # on a TLS socket this sets its plain socket
        conn._poller = select.poll()
        conn._poller.register(sock, select.POLLIN)


def tls_context(conn):
    """Connection.tls_context's work: the context made and kept on the connection."""
    assert ssl is not None  # the constructor refused TLS without it
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED  # MicroPython's default is CERT_NONE
    try:
        ctx.load_verify_locations(cadata=conn.ca_der)
    except (ValueError, OSError) as e:
        raise TlsError("CA certificate is not a valid DER certificate: %s" % _oserror().reason(e))
    if conn.client_cert:
        try:
            from iotsv_httprare import load_client_cert  # mutual TLS only

            load_client_cert(ctx, *conn.client_cert)
        except (ValueError, OSError) as e:
            raise TlsError(
                "client certificate or key is not a valid DER certificate/key pair: %s" % _oserror().reason(e)
            )
    conn._ctx = ctx
    conn.ca_der = conn.client_cert = None  # parsed into the context: the DER copies can go
    return ctx


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
        oserror = _oserror()
        why = getattr(e, "verify_message", None) or oserror.reason(e)
        if oserror.is_timeout(e):
            if conn._left_ms() < int(conn.timeout_s * 1000):
                raise conn._rare("deadline")
            raise HttpTimeout("TLS handshake with %s timed out" % conn.address())
        if conn.mutual and oserror.code(e) in (oserror.number("ECONNRESET"), oserror.number("EPIPE")):
            why = "the server closed the connection: it did not accept the device certificate"
        raise TlsError("TLS handshake with %s failed: %s" % (conn.address(), why))
