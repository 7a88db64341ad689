"""A small threaded HTTPS server on 127.0.0.1 that answers each request with JSON, for the local
stand-ins of remote services (the IoT credentials provider, a signed-request endpoint)."""

import http.server
import json
import ssl
import threading


class JsonServer:
    def __init__(self, answer, cert, key, client_ca_pem=None):
        """answer(method, path, headers, body) -> (status, JSON-able document), or (status,
        document, [(name, value), ...]) to send headers of its own too. With
        client_ca_pem, only clients with a certificate that CA signed get through (mutual TLS)."""

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, doc, *extra = answer(self.command, self.path, self.headers, body)
                data = json.dumps(doc).encode()
                self.send_response(status)
                for name, value in extra[0] if extra else ():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if client_ca_pem:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca_pem)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
