"""A local DynamoDB for the firmware: moto's server over HTTPS, checking every SigV4 signature and
keeping connections alive as AWS does.

`run` starts it, provisions it (IAM users, access keys, policy, table), writes a device config,
runs the firmware on the MicroPython unix port against it, checks the table and stops the server.
`serve` starts and provisions it and keeps it up for `make unix CONFIG=.local/serve/config`, with
AWS profiles `local-reader` and `local-admin` for the host tools in .local/serve/aws/. Each keeps
its files in a folder of its own (.local/run/, .local/serve/), so both can run at once; the CA in
.local/pki/ is shared.
"""

import argparse
import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import boto3

if not __package__:  # run by path: tools/ holds the packages (local, lab, iotsig)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tooldoc
import unixport
from iotsig import certs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _die_with_parent():
    # The server runs in a session of its own (so Ctrl-C reaches only the firmware and us), yet
    # must not outlive us even when we are killed: Linux's PR_SET_PDEATHSIG.
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class LocalDynamoDB:
    def __init__(self, workdir, region="us-east-1", table="readings", host="localhost", tls=True, pki=None):
        self.workdir = os.path.abspath(workdir)
        self.pki = os.path.abspath(pki or os.path.join(self.workdir, "pki"))  # the CA and server certificate
        self.tls = tls  # plain HTTP only behind a TLS-terminating proxy on this machine (make bench)
        self.region = region
        self.table = table
        self.host = host
        self.port = None
        self.proc = None
        self.device_key = None  # (access key id, secret) allowed to write readings
        self.reader_key = None  # (access key id, secret) allowed to read them back
        self.provider_key = None  # (access key id, secret) of the IoT credentials provider
        self.admin_key = None  # (access key id, secret) allowed every DynamoDB action
        self.device_role_arn = None

    @property
    def endpoint(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)

    def start(self):
        pki = self.pki
        os.makedirs(self.workdir, exist_ok=True)
        if not os.path.exists(os.path.join(pki, "server.pem")):
            ca_pem, _, ca_key = certs.make_ca(pki)
            certs.make_server_cert(pki, ca_pem, ca_key)
        self.ca_pem = os.path.join(pki, "ca.pem")
        self.ca_der = os.path.join(pki, "ca.der")
        self.port = free_port()
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="1000000000")
        self.log_path = os.path.join(self.workdir, "moto.log")
        log = open(self.log_path, "w")
        tls_args = []
        if self.tls:
            tls_args = ["--cert", os.path.join(pki, "server.pem"), "--key", os.path.join(pki, "server.key")]
        # moto's app under a handler that keeps connections alive, as AWS does (moto.server's closes each)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tools/local/motoserver.py"), "--port", str(self.port)] + tls_args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s=60):
        ctx = ssl.create_default_context(cafile=self.ca_pem)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("moto server exited (%s): see %s" % (self.proc.returncode, self.log_path))
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/data.json", context=ctx, timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("moto server not ready after %ss: see %s" % (timeout_s, self.log_path))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self, service, key=None):
        key = key or ("AKIAIOSFODNN7SETUP00", "setup-does-not-sign-before-auth-is-on0000")
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            verify=self.ca_pem if self.tls else None,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
        )

    def _user(self, iam, name, actions):
        iam.create_user(UserName=name)
        # moto checks DynamoDB actions against resource "*" only, so a policy naming the table's
        # ARN (what the README advises on AWS) would deny everything here.
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName=name + "-dynamodb", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def provision(self, iot=False, device_actions=(), before_auth=None):
        """Users, keys and table while authentication is off; then signature checking on. With
        iot, also a role for devices and a user the IoT credentials provider assumes it as.
        device_actions: more the device may do (sns:Publish); before_auth(self, iam): more
        set up while authentication is still off."""
        iam = self.client("iam")
        if iot:
            self.provider_key = self._user(iam, "iot-provider", ["sts:AssumeRole"])
            provider_arn = iam.get_user(UserName="iot-provider")["User"]["Arn"]
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": provider_arn}, "Action": "sts:AssumeRole"}],
            }
            role = iam.create_role(RoleName="device-role", AssumeRolePolicyDocument=json.dumps(trust))
            self.device_role_arn = role["Role"]["Arn"]
            write = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:BatchWriteItem"], "Resource": "*"}
                ],
            }
            iam.put_role_policy(RoleName="device-role", PolicyName="device-writes", PolicyDocument=json.dumps(write))
        self.device_key = self._user(
            iam, "device", ["dynamodb:PutItem", "dynamodb:BatchWriteItem"] + list(device_actions)
        )
        self.reader_key = self._user(
            iam, "reader", ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:DescribeTable"]
        )
        self.admin_key = self._user(iam, "admin", ["dynamodb:*"])  # for host tools: tables, imports
        ddb = self.client("dynamodb")
        ddb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "deviceId", "KeyType": "HASH"}, {"AttributeName": "seq", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "deviceId", "AttributeType": "S"},
                {"AttributeName": "seq", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        if before_auth is not None:
            before_auth(self, iam)
        ctx = ssl.create_default_context(cafile=self.ca_pem)
        req = urllib.request.Request(
            self.endpoint + "/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(req, context=ctx, timeout=10).read()
        return self

    def write_config(
        self,
        folder,
        device_id="device-1",
        readings=0,
        interval_s=2,
        state_dir=None,
        secret_key=None,
        access_key=None,
        ca_der=None,
        host=None,
        extra="",
    ):
        """A config.py for the firmware in `folder`; keyword arguments override what is right."""
        os.makedirs(folder, exist_ok=True)
        values = {
            "AWS_ACCESS_KEY": access_key or self.device_key[0],
            "AWS_SECRET_KEY": secret_key or self.device_key[1],
            "AWS_SESSION_TOKEN": None,
            "AWS_REGION": self.region,
            "AWS_HOST": host or "%s:%d" % (self.host, self.port),
            "AWS_DYNAMODB_TABLE": self.table,
            "CA_FILE": ca_der or self.ca_der,
            "DEVICE_ID": device_id,
            "INTERVAL_S": interval_s,
            "READINGS": readings,
            "STATE_DIR": state_dir or os.path.join(os.path.abspath(folder), "state"),
        }
        path = os.path.join(folder, "config.py")
        with open(path, "w") as f:
            f.write("# Written by tools/local/localddb.py for the local DynamoDB at %s.\n" % self.endpoint)
            for name, value in values.items():
                f.write("%s = %r\n" % (name, value))
            f.write(extra)
        return path

    def write_aws_profiles(self, folder):
        """An AWS credentials and config file with profiles local-reader and local-admin (the users
        of provision()), for the host tools' --profile; returns their paths."""
        os.makedirs(folder, exist_ok=True)
        credentials, config = os.path.join(folder, "credentials"), os.path.join(folder, "config")
        users = (("local-reader", self.reader_key), ("local-admin", self.admin_key))
        fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# Written by tools/local/localddb.py serve for the local DynamoDB at %s.\n" % self.endpoint)
            for name, key in users:
                f.write("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (name, key[0], key[1]))
        with open(config, "w") as f:
            for name, _ in users:  # where the server is and the CA to trust it by: no flags needed
                f.write("[profile %s]\nregion = %s\nendpoint_url = %s\nca_bundle = %s\n"
                        % (name, self.region, self.endpoint, os.path.abspath(self.ca_pem)))  # fmt: skip
        return credentials, config

    def readings(self, device_id):
        """Every item of the device, read back with boto3 Query (signed by botocore)."""
        ddb = self.client("dynamodb", self.reader_key)
        items, start = [], None
        while True:
            kw = {"ExclusiveStartKey": start} if start else {}
            page = ddb.query(
                TableName=self.table,
                KeyConditionExpression="deviceId = :d",
                ExpressionAttributeValues={":d": {"S": device_id}},
                **kw,
            )
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items


def _summary(ddb, device_id):
    seqs = sorted(int(item["seq"]["N"]) for item in ddb.readings(device_id))
    if not seqs:
        return "table check: no items for %s" % device_id
    gaps = len(seqs) != seqs[-1] - seqs[0] + 1
    return "table check (boto3 Query): %d items for %s, seq %d..%d%s" % (
        len(seqs),
        device_id,
        seqs[0],
        seqs[-1],
        ", with gaps" if gaps else "",
    )


def _lock(folder, command):
    """Hold folder/lock while we live: a second `run` or `serve` in the same folder would overwrite
    the config the first handed out."""
    os.makedirs(folder, exist_ok=True)
    f = open(os.path.join(folder, "lock"), "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise SystemExit("error: another `localddb.py %s` is using %s" % (command, os.path.relpath(folder)))
    return f


def main():
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("command", choices=("run", "serve"))
    parser.add_argument("--readings", type=int, default=0, help="stop after this many (0: until Ctrl-C)")
    parser.add_argument("--interval", type=float, default=2, help="seconds between readings")
    parser.add_argument("--workdir", default=os.path.join(ROOT, ".local"), help="run/, serve/ and pki/ go here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out

    home = os.path.join(os.path.abspath(args.workdir), args.command)
    lock = _lock(home, args.command)
    ddb = LocalDynamoDB(home, pki=os.path.join(os.path.abspath(args.workdir), "pki"))
    config_folder = os.path.join(home, "config")
    code = 1
    try:
        print("local DynamoDB: starting moto over HTTPS ...", flush=True)
        ddb.start().provision()
        # The server keeps its table in memory: a new server means a new device state too.
        shutil.rmtree(os.path.join(config_folder, "state"), ignore_errors=True)
        interval = int(args.interval) if args.interval == int(args.interval) else args.interval
        ddb.write_config(config_folder, readings=args.readings, interval_s=interval)
        print(
            "local DynamoDB: %s, table %s, signature checking on; config in %s"
            % (ddb.endpoint, ddb.table, os.path.relpath(config_folder)),
            flush=True,
        )
        if args.command == "serve":
            credentials, config = ddb.write_aws_profiles(os.path.join(home, "aws"))
            print(
                "host tools: export AWS_SHARED_CREDENTIALS_FILE=%s AWS_CONFIG_FILE=%s\n"
                "  then e.g. iotsig plot --profile local-reader --table %s --device device-1 --out readings.png"
                "   (the profiles name the endpoint %s and the CA %s; local-admin may do everything)"
                % (credentials, config, ddb.table, ddb.endpoint, os.path.relpath(ddb.ca_pem)),
                flush=True,
            )
            print(
                "run the firmware with: make unix CONFIG=%s   (Ctrl-C here stops the server)"
                % os.path.relpath(config_folder),
                flush=True,
            )
            ddb.proc.wait()
            return 1
        try:
            code = unixport.run_firmware(config_folder, stdout=None).returncode
        except KeyboardInterrupt:  # the firmware got the same Ctrl-C and is stopping
            code = 0
        print(_summary(ddb, "device-1"), flush=True)
    except KeyboardInterrupt:
        code = 0
    finally:
        ddb.stop()
        lock.close()
        print("local DynamoDB: stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
