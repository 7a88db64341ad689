"""A local S3 for the device's S3 client and the presigned URLs: moto's S3 in the same server as
the local DynamoDB (tools/local/localddb.py's, over HTTPS, signatures checked), with a bucket, an IAM
user allowed s3:GetObject and s3:PutObject, and objects put while authentication is off.

moto checks the signature of a request signed in its headers (Authorization) with botocore;
a presigned URL it does not check: with signature checking on it answers one with 500 (it looks
for an Authorization header), with it off it accepts any. `auth(False)` switches checking off for
that, `auth(True)` on again.

    python tools/local/locals3.py [--bucket firmware]   # serve until Ctrl-C, printing the endpoint and keys
"""

import argparse
import json
import os
import ssl
import sys
import urllib.request

import boto3
import botocore.config

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tooldoc
from local.localddb import LocalDynamoDB

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP_KEY = ("AKIAIOSFODNN7SETUP00", "setup-does-not-sign-before-auth-is-on0000")


class LocalS3:
    def __init__(self, workdir, bucket="firmware", region="us-east-1"):
        self.server = LocalDynamoDB(workdir, region=region)
        self.bucket = bucket
        self.region = region
        self.device_key = None  # (access key id, secret) allowed s3:GetObject and s3:PutObject

    @property
    def endpoint(self):
        return self.server.endpoint

    @property
    def port(self):
        return self.server.port

    @property
    def ca_pem(self):
        return self.server.ca_pem

    @property
    def ca_der(self):
        return self.server.ca_der

    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()

    def client(self, key=None):
        """boto3's S3 client, path-style (what the local server answers), signing with key."""
        key = key or SETUP_KEY
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            verify=self.ca_pem,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def provision(self, objects=()):
        """The bucket, the device's user and key, `objects` ((key, bytes) put), then checking on."""
        iam = self.server.client("iam", SETUP_KEY)
        iam.create_user(UserName="device")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}],
        }
        iam.put_user_policy(UserName="device", PolicyName="device-s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="device")["AccessKey"]
        self.device_key = (key["AccessKeyId"], key["SecretAccessKey"])
        s3 = self.client()
        s3.create_bucket(Bucket=self.bucket)
        for name, data in objects:
            s3.put_object(Bucket=self.bucket, Key=name, Body=data)
        self.auth(True)
        return self

    def provision_updates(self, device_id, release_prefix="releases", log_prefix="logs", user="device"):
        """For updates over the air, on a server whose DynamoDB is provisioned (LocalDynamoDB's
        `device` user exists): the bucket, the device user's S3 policy (only s3:GetObject on
        release_prefix/* and s3:PutObject on log_prefix/<device_id>/*, what config/aws/stack.yaml
        gives the device role) and a `releaser` user for iotsig release (s3:PutObject and
        s3:GetObject on release_prefix/*, s3:ListBucket on the bucket); signature checking on again after. Returns the
        releaser's key. moto checks the action and the object's ARN against the policy's
        statements for header-signed requests (tests/e2e/test_update_end_to_end.py shows a GET
        outside the prefix and a PUT of a release refused), not conditions or bucket policies."""
        self.auth(False)
        iam = self.server.client("iam", SETUP_KEY)
        arn = "arn:aws:s3:::%s/" % self.bucket
        device = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": arn + release_prefix + "/*"},
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "%s%s/%s/*" % (arn, log_prefix, device_id)},
            ],
        }
        iam.put_user_policy(UserName=user, PolicyName="device-s3", PolicyDocument=json.dumps(device))
        iam.create_user(UserName="releaser")
        releaser = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:GetObject"],
                    "Resource": arn + release_prefix + "/*",
                },
                # to read the release numbers already published (the next one is above them all)
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn[:-1]},
            ],
        }
        iam.put_user_policy(UserName="releaser", PolicyName="release-s3", PolicyDocument=json.dumps(releaser))
        key = iam.create_access_key(UserName="releaser")["AccessKey"]
        self.client().create_bucket(Bucket=self.bucket)
        self.auth(True)
        return key["AccessKeyId"], key["SecretAccessKey"]

    def auth(self, on):
        """Signature checking on (from the next request) or off (moto's reset-auth)."""
        ctx = ssl.create_default_context(cafile=self.ca_pem)
        req = urllib.request.Request(
            self.endpoint + "/moto-api/reset-auth",
            data=b"0" if on else b"1000000000",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(req, context=ctx, timeout=10).read()


def main(argv=None):
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("--bucket", default="firmware")
    parser.add_argument("--workdir", default=os.path.join(ROOT, ".local", "s3"))
    args = parser.parse_args(argv)
    local = LocalS3(args.workdir, args.bucket).start()
    try:
        local.provision()
        print("local S3: %s, bucket %s, CA %s" % (local.endpoint, local.bucket, local.ca_pem), flush=True)
        print("device key: AWS_ACCESS_KEY_ID=%s (secret in %s)" % (local.device_key[0], args.workdir), flush=True)
        secret = os.path.join(args.workdir, "device-secret")
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(local.device_key[1] + "\n")
        local.server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
