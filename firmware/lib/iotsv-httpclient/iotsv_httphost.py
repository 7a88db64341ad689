# CPython's side of a Connection's socket calls (host tools and tests): a blocking socket with a
# timeout set for each call. MicroPython's non-blocking socket and poll are iotsv_httpclient's
# own; a board never loads this module. `conn` is an iotsv_httpclient.Connection.


def recv_into(conn, buf, n, wait):
    """Connection._recv_into's read: up to n bytes into buf within wait ms, their count."""
    sock = conn._sock
    sock.settimeout(wait / 1000)
    try:
        return sock.recv_into(buf, n)
    except OSError as e:
        raise conn._error("timed_out", wait, e)


def write(conn, data):
    """All of data within the wait that is left."""
    wait = conn._wait_ms()
    sock = conn._sock
    sock.settimeout(wait / 1000)
    try:
        sock.sendall(data)
    except OSError as e:
        raise conn._error("timed_out", wait, e)


def idle(conn):
    """Connection._idle: whether nothing waits to be read on the kept-alive connection."""
    sock = conn._sock
    sock.setblocking(False)
    try:
        sock.recv_into(conn._wbuf, 1)
        return False  # bytes, or the end of the stream
    except OSError as e:  # BlockingIOError, or ssl's SSLWantReadError: nothing there
        return type(e).__name__ in ("BlockingIOError", "SSLWantReadError")
    finally:
        sock.setblocking(True)
