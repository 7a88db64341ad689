"""What the host tools share: a DynamoDB client made of the firmware's own modules (SigV4, HTTP,
JSON 1.0) from an endpoint, credentials and a CA file, and DER from PEM."""

import base64
import os
import re
import sys
import time

import layout

ROOT = layout.ROOT
sys.path.insert(0, layout.LIB)  # the host tools use the firmware's library, not the app

import dynamodb  # noqa: E402
import httpclient  # noqa: E402


def der_of(data):
    """DER bytes of a certificate or key given as PEM or already DER."""
    if data.lstrip().startswith(b"-----BEGIN"):
        body = re.search(rb"-----BEGIN [^-]+-----(.*?)-----END", data, re.S)
        if not body:
            raise ValueError("malformed PEM")
        return base64.b64decode(b"".join(body.group(1).split()))
    return data


def read_der(path):
    with open(path, "rb") as f:
        return der_of(f.read())


def add_connection_args(parser, with_ca=True):
    parser.add_argument("--endpoint", help="https://host[:port] (default: https://dynamodb.<region>.amazonaws.com)")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    if with_ca:
        parser.add_argument(
            "--ca", help="CA certificate (PEM or DER) that verifies the endpoint; default: the system's"
        )
    parser.add_argument("--timeout", type=float, default=30)


def client_from_args(args):
    """A dynamodb.Client from --endpoint/--region/--ca and AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN in the environment (never from the command line: it would sit in history)."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise SystemExit("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if temporary)")
    endpoint = args.endpoint or "https://dynamodb.%s.amazonaws.com" % args.region
    scheme, _, hostport = endpoint.partition("://")
    hostport = hostport.rstrip("/")
    host, _, port = hostport.partition(":")
    tls = scheme == "https"
    ca = read_der(args.ca) if args.ca else _system_ca_der() if tls else None
    conn = httpclient.Connection(host, int(port) if port else None, tls, ca, args.timeout, max_response=4 << 20)
    creds = dynamodb.Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN"))
    return dynamodb.Client(conn, creds, args.region, hostport, time.time)


def _system_ca_der():
    import ssl

    ctx = ssl.create_default_context()
    certs = ctx.get_ca_certs(binary_form=True)
    if not certs:
        raise SystemExit("no system CA certificates found: give --ca")
    return b"".join(certs)
