"""A local AWS IoT credentials provider: HTTPS with mutual TLS on 127.0.0.1, for testing devices
that get their AWS credentials the way AWS IoT hands them out.

GET /role-aliases/<alias>/credentials from a client whose certificate the local CA signed answers
{"credentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}: credentials of
the device role, assumed through the local DynamoDB's STS (moto), so moto accepts them. The
expiration it states is `lifetime_s` from now (moto's own are longer: STS's minimum is 15 minutes),
so a short test sees a device refresh on schedule.
"""

import datetime
import http.server
import json
import ssl
import threading


class LocalIotCredentialsProvider:
    def __init__(self, ddb, server_cert, server_key, client_ca_pem, role_alias="device-role-alias", lifetime_s=3600):
        self.ddb = ddb
        self.role_alias = role_alias
        self.lifetime_s = lifetime_s
        self.issued = []  # (thing name, access key id)
        self.refused = 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                status, doc = provider.answer(self.path, self.headers.get("x-amzn-iot-thingname"))
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(server_cert, server_key)
        ctx.verify_mode = ssl.CERT_REQUIRED  # the device proves itself with its certificate
        ctx.load_verify_locations(client_ca_pem)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()

    def answer(self, path, thing_name):
        if path != "/role-aliases/%s/credentials" % self.role_alias:
            self.refused += 1
            return 404, {"message": "Role alias does not exist"}
        sts = self.ddb.client("sts", self.ddb.provider_key)
        assumed = sts.assume_role(
            RoleArn=self.ddb.device_role_arn,
            RoleSessionName=thing_name or "device",
            DurationSeconds=max(900, self.lifetime_s),
        )["Credentials"]
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.lifetime_s)
        self.issued.append((thing_name, assumed["AccessKeyId"]))
        return 200, {
            "credentials": {
                "accessKeyId": assumed["AccessKeyId"],
                "secretAccessKey": assumed["SecretAccessKey"],
                "sessionToken": assumed["SessionToken"],
                "expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        }
