# The HTTP client's errors: the exception for each way a request, a response or a connect can
# fail, with its one-line message. Loaded by iotsv_httpclient (Connection._error) only when one
# happens, and small, so that even a nearly full heap has room for it; each function returns the
# exception for the caller to raise. `conn` is an iotsv_httpclient.Connection.
# The bounds a message names are the caller's, given as arguments.
from iotsv_refusal import ConnectError, HttpTimeout, ProtocolError, ResponseTooLarge, TlsError


def fail(conn, what, *args):
    """A ProtocolError: `what` with the server's address and then args for its other %s."""
    return ProtocolError(what % ((conn.address(),) + args))


def reason(exc):
    import iotsv_oserror

    return iotsv_oserror.reason(exc)


def is_timeout(exc):
    import iotsv_oserror

    return iotsv_oserror.is_timeout(exc)


def deadline(conn):
    return HttpTimeout(
        "response from %s not complete after %ss (REQUEST_TIMEOUT_S)" % (conn.address(), conn.request_timeout_s)
    )


def _cut_by_deadline(conn, wait_ms):
    """Whether a wait of wait_ms was shorter than timeout_s because the deadline was near."""
    return wait_ms < int(conn.timeout_s * 1000)


def _no_response(conn):
    return HttpTimeout("no response from %s within %ss" % (conn.address(), conn.timeout_s))


def timed_out(conn, wait_ms, exc=None):
    """The error of a wait that ran out: the deadline's when it was what shortened the wait. With
    exc (CPython's socket error), that error itself unless it is a timeout."""
    if exc is not None and not is_timeout(exc):
        return exc
    if _cut_by_deadline(conn, wait_ms):
        return deadline(conn)
    return _no_response(conn)


def send_failed(conn, exc):
    """What a failed write means: a timeout is one (returned); any other error None, taken by the
    caller for a kept-alive connection the server had closed (Connection.request opens it again)."""
    if is_timeout(exc):
        return exc
    return None


def failed(conn, exc):
    """Connection.request's error for an OSError out of a request."""
    if is_timeout(exc):
        return _no_response(conn)
    return fail(conn, "connection to %s failed: %s", reason(exc))


def closed(conn):
    return fail(conn, "%s closed the connection without a response")


def too_large(conn, n):
    return ResponseTooLarge("response from %s is larger than %d bytes (%d)" % (conn.address(), conn.max_response, n))


def not_http(conn, line):
    return fail(conn, "not an HTTP response from %s: %r", line[:40])


def head_too_large(conn, max_head):
    return fail(conn, "response headers from %s larger than %d bytes", max_head)


def too_many_headers(conn, max_headers):
    return ProtocolError("more than %d response headers from %s" % (max_headers, conn.address()))


def malformed(conn, line):
    return fail(conn, "malformed response header from %s: %r", line[:40])


def control_char(conn):
    return fail(conn, "control character in a response header from %s")


def line_too_long(conn, max_line):
    return fail(conn, "response line from %s longer than %d bytes", max_line)


def unexpected(conn, status):
    """An interim response this client never asks for (101), or one too many."""
    return ProtocolError("unexpected %d response from %s" % (status, conn.address()))


def truncated(conn):
    return fail(conn, "response from %s truncated")


def body_truncated(conn, got, n):
    return fail(conn, "response body from %s truncated (%d of %d bytes)", got, n)


def wrong_length(conn, sent, body):
    return fail(conn, "request body to %s was %d bytes, not the %d its Content-Length said", sent, body.length)


def unreadable_body(conn, exc):
    return ProtocolError("cannot read the request body: %s" % reason(exc))


def bad_ca(conn, exc):
    return TlsError("CA certificate is not a valid DER certificate: %s" % reason(exc))


def bad_client_cert(conn, exc):
    return TlsError("client certificate or key is not a valid DER certificate/key pair: %s" % reason(exc))


def unresolved(conn, exc):
    return ConnectError("cannot resolve %s: %s" % (conn.host, reason(exc)))


def check_deadline(conn, exc, wait_ms):
    """A connect that timed out: the deadline's error when the deadline shortened its wait."""
    if is_timeout(exc) and _cut_by_deadline(conn, wait_ms):
        raise deadline(conn)


def unconnected(conn, exc):
    return ConnectError("cannot connect to %s: %s" % (conn.address(), reason(exc)))


def handshake_failed(conn, exc):
    why = getattr(exc, "verify_message", None) or reason(exc)
    if is_timeout(exc):
        if _cut_by_deadline(conn, conn._left_ms()):
            return deadline(conn)
        return HttpTimeout("TLS handshake with %s timed out" % conn.address())
    import iotsv_oserror as oserror

    if conn.mutual and oserror.code(exc) in (oserror.number("ECONNRESET"), oserror.number("EPIPE")):
        why = "the server closed the connection: it did not accept the device certificate"
    return TlsError("TLS handshake with %s failed: %s" % (conn.address(), why))


def refuse_tls(ssl, ca_der):
    """Connection's refusal of TLS it cannot do."""
    if ssl is None:
        raise ValueError("this build has no ssl module: TLS is not available")
    raise ValueError("TLS needs a CA certificate (DER) to verify the server")
