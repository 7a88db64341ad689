"""What the verbs share, as the AWS CLI has it: AWS credentials from the boto3 credential chain (the
environment, `~/.aws` profiles with --profile, SSO, instance roles), --region, --endpoint-url,
--output json|table, usage errors on one line with exit 2 and failures on one line with exit 1;
items converted as the firmware converts readings (its numbers rule included), and DER from PEM."""

import argparse
import atexit
import base64
import json
import os
import re
import shutil
import ssl
import sys
import tempfile
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions as bx

import iotsv_dynamodb as dynamodb  # the firmware's (iotsig put its library on the path)
import iotsv_numtext as numtext
import layout
import tooldoc

ROOT = layout.ROOT


class Parser(argparse.ArgumentParser):
    """argparse as the AWS CLI answers a usage error: one line on stderr naming it, exit 2."""

    def error(self, message):
        print("error: %s (see %s --help)" % (message, self.prog), file=sys.stderr)
        sys.exit(2)


def parser(verb, doc, example):
    """The parser of `iotsig <verb>`: its description the first paragraph of doc, its --help
    ending with the example."""
    return Parser(
        prog="iotsig " + verb,
        description=tooldoc.description(doc),
        epilog="example:\n  " + example.strip().replace("\n", "\n  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def endpoint_url(text):
    """--endpoint-url's value: http(s)://host[:port], as botocore takes it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError("%r is not an http(s)://host[:port] URL" % text)
    return text


def add_output_arg(parser):
    parser.add_argument("--output", choices=("table", "json"), default="table", help="how to print (default table)")


def show(args, record, text):
    """Print the outcome: `text` (lines) for --output table, `record` as one JSON object for json."""
    print(json.dumps(record, indent=2) if args.output == "json" else text)


def open_input(path):
    """A binary stream of the file `path` names, or of standard input for "-"."""
    return sys.stdin.buffer if path == "-" else open(path, "rb")


def der_of(data):
    """DER bytes of a certificate or key given as PEM or already DER."""
    if data.lstrip().startswith(b"-----BEGIN"):
        body = re.search(rb"-----BEGIN [^-]+-----(.*?)-----END", data, re.S)
        if not body:
            raise ValueError("malformed PEM")
        return base64.b64decode(b"".join(body.group(1).split()))
    return data


def stage_beside(folder, tag):
    """An empty folder beside `folder` (the same file system: what is made there moves in by
    renames), where a verb makes what it writes before moving it in whole."""
    parent = os.path.dirname(os.path.abspath(folder))
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix=".%s-" % tag, dir=parent)
    except OSError as e:
        raise ToolError("cannot write in %s: %s" % (parent, e.strerror))


def move_in(stage, folder, names=None):
    """The stage's files (or those named) into folder, each by a rename; a new folder is the stage
    itself. The stage is removed either way."""
    try:
        if names is None and not os.path.exists(folder):
            os.rename(stage, folder)
            return
        os.makedirs(folder, exist_ok=True)
        for name in sorted(os.listdir(stage)) if names is None else names:
            os.replace(os.path.join(stage, name), os.path.join(folder, name))
    except OSError as e:
        raise ToolError("cannot write %s: %s" % (folder, e.strerror))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def read_der(path, option="--ca"):
    """DER bytes of the certificate or key file an option names; ToolError when it cannot be read."""
    try:
        with open_input(path) as f:
            return der_of(f.read())
    except OSError as e:
        raise ToolError("%s: cannot read %s: %s" % (option, path, e.strerror))
    except ValueError as e:
        raise ToolError("%s: %s: %s" % (option, path, e))


def read_cert(path, option):
    """DER bytes of the X.509 certificate file an option names (PEM or DER); ToolError otherwise."""
    from cryptography import x509

    der = read_der(path, option)
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        raise ToolError("%s: %s is not a certificate (PEM or DER)" % (option, path))
    return der


def add_connection_args(parser, with_ca=True, service="dynamodb"):
    add_profile_args(parser)
    parser.add_argument(
        "--endpoint-url",
        "--endpoint",
        dest="endpoint",
        type=endpoint_url,
        help="http(s)://host[:port] (default: AWS's %s endpoint of the region)" % service,
    )
    if with_ca:
        parser.add_argument(
            "--ca", help="CA certificate (PEM or DER) that verifies the endpoint; default: the system's"
        )
    parser.add_argument(
        "--timeout", type=float, default=30, help="seconds to connect, and to wait for an answer (default 30)"
    )


def add_profile_args(parser):
    parser.add_argument("--profile", help="AWS profile (~/.aws/config, AWS_CONFIG_FILE); default: as the AWS CLI")
    parser.add_argument("--region", help="default: the profile's, AWS_REGION, AWS_DEFAULT_REGION or us-east-1")


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
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ToolError("--ca: cannot read %s: %s" % (path, e.strerror))
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


def json_of(text):
    """The JSON text's value, its numbers kept as their decimal text (numtext.Number), every digit
    as written: none goes through a float."""
    return json.loads(text, parse_float=numtext.Number, parse_int=numtext.Number)


def item_of(record):
    """A JSON object (dict, as json_of reads it) as a DynamoDB item, converted by the firmware's own
    code (what a board writes for the same reading); ValueError when a value cannot be stored,
    among them a number DynamoDB would refuse (iotsv_ddbmarshal.dynamodb_number)."""
    return dynamodb.marshal_item(record)


class ToolError(Exception):
    """A failure the tool explains in one line (exit 1); usage=True: a bad option value (exit 2)."""

    def __init__(self, message, usage=False):
        super().__init__(message)
        self.usage = usage


def _reason(error):
    """The socket's words for a connection error ("connection refused"), else its text."""
    found = re.search(r"\[Errno -?\d+\] ([^)\]]+)", str(error))
    text = found.group(1) if found else re.sub(r"\[SSL: \w+\] | \(_ssl\.c:\d+\)", "", str(error))
    return text[:1].lower() + text[1:]


def explain(e):
    """The one line that says why a host tool failed, or None for an error it does not know."""
    if isinstance(e, ToolError):
        return str(e)
    if isinstance(e, bx.ClientError):
        error = e.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message") or "no message"
        xml = re.search(r"<Code>(.*?)</Code>.*?<Message>(.*?)</Message>", message, re.S)
        if xml:  # an XML error body where JSON was expected (moto's auth errors): botocore kept it whole
            code, message = xml.groups()
        return "%s: %s" % (code, " ".join(message.split()))
    if isinstance(e, bx.SSLError):
        return "certificate of %s not trusted (--ca?): %s" % (
            e.kwargs.get("endpoint_url", "the endpoint").rstrip("/"),
            _reason(e.kwargs.get("error", "")),
        )
    if isinstance(e, bx.ConnectTimeoutError):
        return "cannot connect to %s: timed out" % e.kwargs.get("endpoint_url", "the endpoint").rstrip("/")
    if isinstance(e, bx.EndpointConnectionError):
        return "cannot connect to %s: %s" % (e.kwargs["endpoint_url"].rstrip("/"), _reason(e.kwargs.get("error")))
    if isinstance(e, bx.ReadTimeoutError):
        return "%s did not answer in time (--timeout)" % e.kwargs.get("endpoint_url", "the endpoint").rstrip("/")
    if isinstance(e, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return "no AWS credentials (environment, --profile, ~/.aws, SSO or an instance role)"
    if isinstance(e, bx.ProfileNotFound):
        return "AWS profile %s not found (~/.aws/config, AWS_CONFIG_FILE)" % e.kwargs.get("profile")
    if isinstance(e, bx.BotoCoreError):
        return str(e)
    if isinstance(e, OSError) and e.filename:
        return "%s: %s" % (e.filename, e.strerror)
    return None


def run(main, argv=None):
    """main(argv) with every failure one line on stderr, never a traceback (IOTSIG_DEBUG=1 shows
    one of an error it does not know): exit 1, 2 for usage."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (| head): nothing more to say, nowhere to say it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as e:
        why = explain(e)
        if why is None:
            if os.environ.get("IOTSIG_DEBUG"):
                raise
            why = "%s: %s (a bug: IOTSIG_DEBUG=1 shows where)" % (type(e).__name__, e)
        print("error: %s" % why, file=sys.stderr)
        return 2 if getattr(e, "usage", False) else 1
