# The SSL context of a Connection: its CA, and for mutual TLS the device's certificate and key.
# Made once, at start (Connection.tls_context), by this module loaded for that call alone; its
# errors come from iotsv_httperrors. `conn` is an iotsv_httpclient.Connection.
import sys

MICROPYTHON = sys.implementation.name == "micropython"


def tls_context(conn, ssl):
    """Connection.tls_context's work: the context made and kept on the connection. ssl: the TLS
    module the client chose (MicroPython's tls itself, else ssl; never None: the client refuses
    TLS where there is none)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # required whatever the default (micropython-lib's ssl wrapper makes it CERT_NONE)
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        if ssl.__name__ == "tls":
            ctx.load_verify_locations(conn.ca_der)  # DER bytes, positional only
        else:  # CPython's ssl, or micropython-lib's wrapper where a port has no tls
            ctx.load_verify_locations(cadata=conn.ca_der)
    except (ValueError, OSError) as e:
        raise conn._error("bad_ca", e)
    if conn.client_cert:
        try:
            load_client_cert(ctx, *conn.client_cert)  # mutual TLS
        except (ValueError, OSError) as e:
            raise conn._error("bad_client_cert", e)
    conn._ctx = ctx
    conn.ca_der = conn.client_cert = None  # parsed into the context: the DER copies can go
    return ctx


def load_client_cert(ctx, cert_der, key_der):
    """The device's certificate and key (DER) into an SSL context, for mutual TLS."""
    if MICROPYTHON:
        ctx.load_cert_chain(cert_der, key_der)  # MicroPython takes DER bytes
        return
    # CPython loads PEM files only (host-side tools and tests): write them for the moment.
    import os
    import tempfile  # pyright: ignore[reportMissingImports]  # CPython only
    from binascii import b2a_base64

    def pem(kind, der):
        b64 = b2a_base64(der, newline=False).decode()
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (kind, "\n".join(lines), kind)

    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(pem("CERTIFICATE", cert_der) + pem("PRIVATE KEY", key_der))
        ctx.load_cert_chain(path)
    finally:
        os.remove(path)
