"""Write a device's config folder: config.py and the certificates it names, in DER (the form the
board loads), from arguments; optionally create the table.

The device gets credentials of its own, never the operator's: a static device the access key of an
IAM user allowed only to write readings (--device-key-id, its secret from DEVICE_SECRET_ACCESS_KEY
or --device-secret-file, never the command line); with --iot no keys at all, only its certificate
and key for the AWS IoT credentials provider. --create-table uses the operator's credentials (the
environment, --profile, ... as the AWS CLI takes them). The folder is what `make unix
CONFIG=<folder>` runs, or what goes on the board next to the firmware (paths in config.py are
relative to it).

The config is checked by the firmware's own rules (firmware/app/iotsv_settings.py) before anything is
written or made, so a folder provision writes is one the firmware starts with. A folder that holds
a device already (a config.py) is refused unless --replace; the files are written next to it first
and moved into place, so a failure leaves the folder as it was.
"""

import os
import shutil

import botocore.exceptions

from . import hostclient

EXAMPLE = """DEVICE_SECRET_ACCESS_KEY=... iotsig provision devices/d1 --device-id d1 --region eu-west-1 \\
    --table readings --ca AmazonRootCA1.pem --device-key-id AKIA...
iotsig provision devices/d2 --device-id d2 --region eu-west-1 --table readings --ca AmazonRootCA1.pem \\
    --iot --iot-host c1xyz.credentials.iot.eu-west-1.amazonaws.com --role-alias sensors \\
    --cert d2.cert.pem --key d2.private.key"""
# the option that gave each field, to name it in a refusal
OPTIONS = {
    "AWS_REGION": "--region",
    "AWS_HOST": "--host",
    "AWS_DYNAMODB_TABLE": "--table",
    "AWS_ACCESS_KEY": "--device-key-id",
    "AWS_SECRET_KEY": "the device's secret",
    "CA_FILE": "--ca",
    "DEVICE_ID": "--device-id",
    "INTERVAL_S": "--interval",
    "READINGS": "--readings",
    "IOT_CREDENTIALS_HOST": "--iot-host",
    "IOT_ROLE_ALIAS": "--role-alias",
    "IOT_THING_NAME": "--thing-name",
    "DEVICE_CERT_FILE": "--cert",
    "DEVICE_KEY_FILE": "--key",
}


def write_file(path, data, private=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def check_free(folder, replace=False, way_out="--replace replaces its config and files, or choose another folder"):
    """Refuse a folder that holds a device already (a config.py), unless replace."""
    if os.path.exists(os.path.join(folder, "config.py")) and not replace:
        raise hostclient.ToolError("%s holds a device already (config.py): %s" % (folder, way_out))


def validate(folder):
    """The firmware's own check of the device folder (settings.load, in the folder as the board
    reads it); ToolError naming the option when it refuses."""
    import iotsv_settings as settings  # the firmware app's, on the path hostclient made

    config = {}
    with open(os.path.join(folder, "config.py")) as f:
        exec(f.read(), config)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        settings.load(type("Config", (), config))
    except settings.ConfigError as e:
        raise hostclient.ToolError("%s: %s" % (OPTIONS.get(e.field, e.field), e), usage=e.field in OPTIONS)
    finally:
        os.chdir(cwd)


def staged(folder, files, replace=False):
    """A folder beside `folder` holding the files (name: (bytes, private); private ones mode 600),
    checked by the firmware's rules; place() moves them in, discard() drops them."""
    check_free(folder, replace)
    stage = hostclient.stage_beside(folder, "provision")
    try:
        for name, (data, private) in files.items():
            write_file(os.path.join(stage, name), data, private)
        validate(stage)
    except BaseException:
        discard(stage)
        raise
    return stage


def discard(stage):
    shutil.rmtree(stage, ignore_errors=True)


def place(stage, folder):
    """The staged files into folder (the folder itself when new); its other files, state/ among
    them, stay."""
    hostclient.move_in(stage, folder)


def write_folder(folder, files, replace=False):
    """The device folder, written whole or not at all, as the firmware accepts it."""
    place(staged(folder, files, replace), folder)


def iot_device(iot_host, role_alias, thing_name, cert_der, key_der):
    """(config lines, files) of a device with credentials from the AWS IoT credentials provider."""
    lines = [
        'CREDENTIALS = "iot"',
        "IOT_CREDENTIALS_HOST = %r" % iot_host,
        "IOT_ROLE_ALIAS = %r" % role_alias,
        "IOT_THING_NAME = %r" % thing_name,
        'DEVICE_CERT_FILE = "device.der"',
        'DEVICE_KEY_FILE = "device.key.der"',
    ]
    return lines, {"device.der": (cert_der, False), "device.key.der": (key_der, True)}


def config_py(args, credentials, by="iotsig provision"):
    """config.py (bytes) of the device args describe (device_id, region, host, table, interval,
    readings), with its credential lines; CA_FILE is ca.der."""
    lines = ["# Device %s, written by %s. Holds credentials: keep it private." % (args.device_id, by)]
    lines += credentials
    lines += [
        "AWS_REGION = %r" % args.region,
        "AWS_HOST = %r" % args.host,
        "AWS_DYNAMODB_TABLE = %r" % args.table,
        'CA_FILE = "ca.der"',
        "DEVICE_ID = %r" % args.device_id,
        "INTERVAL_S = %r" % (int(args.interval) if args.interval == int(args.interval) else args.interval),
        "READINGS = %d" % args.readings,
        'STATE_DIR = "state"',
    ]
    return ("\n".join(lines) + "\n").encode()


def create_table(args, session):
    """The table (deviceId S, seq N, on demand) with the operator's credentials; True when new."""
    client = hostclient.client_from_args(args, session)
    try:
        client.create_table(
            TableName=args.table,
            KeySchema=[
                {"AttributeName": "deviceId", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "deviceId", "AttributeType": "S"},
                {"AttributeName": "seq", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        return True
    except client.exceptions.ResourceInUseException:
        return False


def device_keys(args, session):
    """The static device's (access key id, secret): from --device-key-id and DEVICE_SECRET_ACCESS_KEY
    or --device-secret-file; refused when they are the operator's own."""
    if not args.device_key_id:
        raise hostclient.ToolError(
            "a static device needs --device-key-id (its secret in DEVICE_SECRET_ACCESS_KEY or"
            " --device-secret-file), or --iot",
            usage=True,
        )
    if args.device_secret_file:
        try:
            with hostclient.open_input(args.device_secret_file) as f:
                secret = f.read().decode().strip()
        except OSError as e:
            raise hostclient.ToolError(
                "--device-secret-file: cannot read %s: %s" % (args.device_secret_file, e.strerror)
            )
        except UnicodeDecodeError:
            raise hostclient.ToolError("--device-secret-file: %s is not UTF-8 text" % args.device_secret_file)
    else:
        secret = os.environ.get("DEVICE_SECRET_ACCESS_KEY", "").strip()
    if not secret:
        raise hostclient.ToolError("no secret for %s: set DEVICE_SECRET_ACCESS_KEY or give --device-secret-file"
                                   % args.device_key_id, usage=True)  # fmt: skip
    try:
        operator = session.get_credentials()
    except botocore.exceptions.BotoCoreError:  # none to be had: they cannot be the device's
        operator = None
    if operator is not None and (args.device_key_id == operator.access_key or secret == operator.secret_key):
        raise hostclient.ToolError(
            "%s is the operator's own access key: the device needs keys of its own, allowed only"
            " dynamodb:PutItem and dynamodb:BatchWriteItem on the table" % args.device_key_id
        )
    return args.device_key_id, secret


def main(argv=None):
    parser = hostclient.parser("provision", __doc__, EXAMPLE)
    parser.add_argument("folder", help="the device folder to write (refused when it holds a config.py)")
    parser.add_argument("--replace", action="store_true", help="replace the device a folder holds")
    parser.add_argument("--device-id", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--host", help="DynamoDB host[:port] (default dynamodb.<region>.amazonaws.com)")
    parser.add_argument("--ca", required=True, help="CA certificate (PEM or DER) that verifies the hosts")
    parser.add_argument("--interval", type=float, default=2, help="seconds between readings (default 2)")
    parser.add_argument("--readings", type=int, default=0, help="stop after this many (default 0: never)")
    parser.add_argument("--iot", action="store_true", help="credentials from the AWS IoT credentials provider")
    parser.add_argument("--iot-host")
    parser.add_argument("--role-alias")
    parser.add_argument("--thing-name")
    parser.add_argument("--cert", help="device certificate (PEM or DER), with --iot")
    parser.add_argument("--key", help="device private key (PEM PKCS#8 or DER), with --iot")
    parser.add_argument("--device-key-id", help="the device's own access key id (static credentials)")
    parser.add_argument(
        "--device-secret-file", help="a file holding its secret, - for standard input (else DEVICE_SECRET_ACCESS_KEY)"
    )
    parser.add_argument("--create-table", action="store_true", help="create the table with the operator's credentials")
    hostclient.add_connection_args(parser, with_ca=False)  # --ca above verifies the endpoint too
    args = parser.parse_args(argv)
    check_free(args.folder, args.replace)
    session = hostclient.session_from_args(args)  # the operator's; also resolves the region
    if args.create_table and not args.endpoint and args.host:
        args.endpoint = "https://" + args.host

    # Everything is read and checked, and the table made, before anything is written: a failure
    # leaves no half-provisioned folder behind.
    files = {"ca.der": (hostclient.read_cert(args.ca, "--ca"), False)}
    if args.iot:
        for name in ("iot_host", "role_alias", "cert", "key"):
            if not getattr(args, name):
                raise hostclient.ToolError("--iot needs --%s" % name.replace("_", "-"), usage=True)
        cert, key = hostclient.read_cert(args.cert, "--cert"), hostclient.read_der(args.key, "--key")
        lines, device_files = iot_device(args.iot_host, args.role_alias, args.thing_name or args.device_id, cert, key)
        files.update(device_files)
    else:
        key, secret = device_keys(args, session)
        lines = ["AWS_ACCESS_KEY = %r" % key, "AWS_SECRET_KEY = %r" % secret, "AWS_SESSION_TOKEN = None"]
    files["config.py"] = (config_py(args, lines), True)
    stage = staged(args.folder, files, args.replace)
    if args.create_table:
        try:
            made = create_table(args, session)
        except BaseException:
            discard(stage)
            raise
        print("table %s %s" % (args.table, "created" if made else "exists already"))
    place(stage, args.folder)
    print(
        "config for %s written to %s (%s credentials)" % (args.device_id, args.folder, "IoT" if args.iot else "static")
    )
    return 0
