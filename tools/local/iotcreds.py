"""A local AWS IoT credentials provider: HTTPS with mutual TLS on 127.0.0.1, for testing devices
that get their AWS credentials the way AWS IoT hands them out.

GET /role-aliases/<alias>/credentials from a client whose certificate the local CA signed answers
{"credentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}: credentials of
the device role, assumed through the local DynamoDB's STS (moto), so moto accepts them. The
expiration it states is `lifetime_s` from now (moto's own are longer: STS's minimum is 15 minutes),
so a short test sees a device refresh on schedule.
"""

import datetime

from local.jsonserver import JsonServer


class LocalIotCredentialsProvider:
    def __init__(self, ddb, server_cert, server_key, client_ca_pem, role_alias="device-role-alias", lifetime_s=3600):
        self.ddb = ddb
        self.role_alias = role_alias
        self.lifetime_s = lifetime_s
        self.issued = []  # (thing name, access key id)
        self.refused = 0
        # the device proves itself with a certificate the local CA signed
        self.server = JsonServer(self._answer, server_cert, server_key, client_ca_pem)
        self.port = self.server.port

    def stop(self):
        self.server.stop()

    def _answer(self, method, path, headers, body):
        return self.answer(path, headers.get("x-amzn-iot-thingname"))

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
