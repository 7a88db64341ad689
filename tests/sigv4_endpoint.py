"""A local HTTPS endpoint standing in for an API Gateway route or a Lambda function URL with IAM
auth: it accepts readings only when botocore, signing the same request with the same keys, service
and region, computes the same Authorization, and answers refusals as AWS's front ends do (403 with
x-amzn-ErrorType)."""

import datetime
import json
import time
import uuid
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.jsonserver import JsonServer


class SigV4Endpoint:
    def __init__(self, cert, key, access_key, secret_key, region, service, token=None):
        self.credentials = Credentials(access_key, secret_key, token)
        self.region, self.service = region, service
        self.readings, self.accepted, self.refused = [], 0, []
        self.answer = {"stored": True}  # the body of a success
        self.server = JsonServer(self._answer, cert, key)
        self.port = self.server.port
        self.url = "https://localhost:%d/prod/readings?source=device" % self.port

    def stop(self):
        self.server.stop()

    def _answer(self, method, path, headers, body):
        kind, why = self.check(method, path, headers, body)
        if why is not None:
            self.refused.append(why)
            return 403, {"message": why}, [("x-amzn-ErrorType", kind)]
        if self.answer.get("stored"):
            self.accepted += 1
            self.readings += json.loads(body)["readings"]
        return 200, self.answer, [("x-amzn-RequestId", str(uuid.uuid4()))]

    def check(self, method, path, headers, body):
        """(None, None) when the request's signature is botocore's, else (AWS's error type, why)."""
        auth = headers.get("Authorization") or ""
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
        scope = fields["Credential"].split("/")
        want = [self.credentials.access_key, headers["X-Amz-Date"][:8], self.region, self.service, "aws4_request"]
        if scope != want:
            return "InvalidSignatureException", "Credential should be scoped to %s, got %s" % (want, scope)
        when = datetime.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        if abs(time.time() - when.replace(tzinfo=datetime.timezone.utc).timestamp()) > 300:
            return "InvalidSignatureException", "Signature expired: %s is now earlier than allowed" % headers[
                "X-Amz-Date"
            ]
        request = AWSRequest(method=method, url="https://%s%s" % (headers["Host"], path), data=body)
        for name in fields["SignedHeaders"].split(";"):
            request.headers[name] = headers[name]
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            SigV4Auth(self.credentials, self.service, self.region).add_auth(request)
        if request.headers["Authorization"] != auth:
            return (
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )
        return None, None
