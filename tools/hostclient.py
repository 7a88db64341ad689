"""What the host tools share: AWS credentials taken as the AWS CLI takes them (a boto3 Session: the
environment, `~/.aws` profiles with --profile, SSO, instance roles), a DynamoDB client from
--endpoint/--region/--ca, items converted as the firmware converts readings, and DER from PEM."""

import atexit
import base64
import os
import re
import ssl
import sys
import tempfile

import boto3
import botocore.config

import layout

ROOT = layout.ROOT
sys.path.insert(0, layout.LIB)  # the host tools convert items with the firmware's library, not the app

import dynamodb  # noqa: E402


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
    parser.add_argument("--profile", help="AWS profile (~/.aws/config, AWS_CONFIG_FILE); default: as the AWS CLI")
    parser.add_argument("--endpoint", help="https://host[:port] (default: https://dynamodb.<region>.amazonaws.com)")
    parser.add_argument("--region", help="default: the profile's, AWS_REGION, AWS_DEFAULT_REGION or us-east-1")
    if with_ca:
        parser.add_argument(
            "--ca", help="CA certificate (PEM or DER) that verifies the endpoint; default: the system's"
        )
    parser.add_argument("--timeout", type=float, default=30)


def session_from_args(args):
    """The operator's boto3 Session (--profile, or the environment and ~/.aws as the AWS CLI reads
    them); sets args.region to the region it resolves."""
    session = boto3.Session(profile_name=args.profile)
    args.region = (
        args.region
        or session.region_name
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    return session


def ca_bundle(path):
    """A PEM file of the CA at `path` for botocore's verify: the file itself when PEM, else a
    temporary PEM copy of the DER certificate (removed at exit)."""
    with open(path, "rb") as f:
        data = f.read()
    if data.lstrip().startswith(b"-----BEGIN"):
        return path
    fd, pem = tempfile.mkstemp(prefix="ca-", suffix=".pem")
    with os.fdopen(fd, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(data))
    atexit.register(os.remove, pem)
    return pem


def endpoint_of(args):
    return args.endpoint or "https://dynamodb.%s.amazonaws.com" % args.region


def client_from_args(args, session=None):
    """A boto3 DynamoDB client of the operator's session, at --endpoint, trusting --ca."""
    session = session or session_from_args(args)
    config = botocore.config.Config(
        connect_timeout=args.timeout, read_timeout=args.timeout, retries={"mode": "standard", "max_attempts": 4}
    )
    ca = getattr(args, "ca", None)
    return session.client(
        "dynamodb",
        region_name=args.region,
        endpoint_url=args.endpoint,
        verify=ca_bundle(ca) if ca else None,
        config=config,
    )


def item_of(record):
    """A JSON object (dict) as a DynamoDB item, converted by the firmware's own code (what a board
    writes for the same reading); ValueError when a value cannot be stored."""
    return dynamodb.marshal_item(record)
