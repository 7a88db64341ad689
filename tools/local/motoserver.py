"""moto's server (its WSGI app, as `python -m moto.server` builds it) under Werkzeug, with connections
kept alive across requests as AWS keeps them: one TLS handshake for a device's many requests.

Werkzeug's own handler answers every request with `Connection: close`; this one speaks HTTP/1.1
and closes only when the client asks. The rest is moto's (INITIAL_NO_AUTH_ACTION_COUNT, the
/moto-api endpoints).

  motoserver.py --port 4566 [--cert server.pem --key server.key]
"""

import argparse
import io
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tooldoc

IDLE_TIMEOUT_S = 300  # an idle kept-alive connection is closed after this long (its thread ends)


class KeepAliveHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S

    def run_wsgi(self):
        # Werkzeug sends `Connection: close`, then drains whatever the socket holds, which on a
        # kept-alive connection would be the next request. So the body is read here first, whole,
        # and the app (and that drain) read it from memory; the socket is left at the next request.
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True  # rare here; Werkzeug's own handling, then close
            return super().run_wsgi()
        length = int(self.headers.get("Content-Length") or 0)
        socket_file, self.rfile = self.rfile, io.BytesIO(self.rfile.read(length) if length > 0 else b"")
        try:
            return super().run_wsgi()
        finally:
            self.rfile = socket_file

    def send_header(self, keyword, value):
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return  # the client did not ask to close: keep the connection
        super().send_header(keyword, value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", help="server certificate (PEM); with --key: HTTPS")
    parser.add_argument("--key", help="its private key (PEM)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto.server sets it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto.server runs it
    ssl_context = (args.cert, args.key) if args.cert and args.key else None
    run_simple(args.host, args.port, app, threaded=True, ssl_context=ssl_context, request_handler=KeepAliveHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
