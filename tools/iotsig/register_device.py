"""Register a device with AWS IoT and write its device folder: a thing, a certificate (a key pair
AWS IoT makes, or with --csr one signed from a CSR made on this host, whose private key is never
sent), the stack's IoT policy and the thing attached to it, and the folder `iotsig provision`
writes (config.py with CREDENTIALS = "iot", the certificate, its key and the root CA in DER).

The table, the role alias and the IoT policy are the outputs of the stack config/aws/stack.yaml
was deployed as (--stack, default iot-sigv4), or --table, --role-alias and --policy; the
credentials endpoint is looked up (describe-endpoint iot:CredentialProvider) unless --iot-host
names it. AWS credentials are the operator's, taken as the AWS CLI takes them (the environment,
--profile, SSO, an instance role). Nothing is made before every input is read and the stack, the
policy and the endpoint are found; a failure after the certificate was made removes it again.
"""

import botocore.config
import botocore.exceptions
from cryptography import exceptions, x509
from cryptography.hazmat.primitives import serialization

from . import hostclient, provision

EXAMPLE = """iotsig register-device devices/d1 --device-id d1 --root-ca AmazonRootCA1.pem --profile admin
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=d2 \\
    -keyout d2.key -out d2.csr
iotsig register-device devices/d2 --device-id d2 --root-ca AmazonRootCA1.pem --csr d2.csr --key d2.key"""
OUTPUTS = {"table": "TableName", "role_alias": "RoleAlias", "policy": "IotPolicyName"}  # the stack's


def _der(data):
    return hostclient.der_of(data if isinstance(data, bytes) else data.encode())


def private_key(data, option="--key"):
    """A private key (PEM or DER: PKCS#8, PKCS#1 or SEC1) as cryptography's key object."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except TypeError:  # a password is needed
        raise hostclient.ToolError("%s: the key is encrypted; the board needs it in the clear" % option)
    except (ValueError, exceptions.UnsupportedAlgorithm):
        raise hostclient.ToolError("%s: not a private key (PEM or DER)" % option)


def key_der(key):
    """The key as the board loads it: DER, PKCS#8."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def read_csr(path, key_path):
    """(the CSR in PEM, the private key) from --csr and --key, the CSR checked to be the key's."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        with open(key_path, "rb") as f:
            key = private_key(f.read())
    except OSError as e:
        raise hostclient.ToolError("cannot read %s: %s" % (e.filename, e.strerror))
    try:
        csr = x509.load_der_x509_csr(_der(data))
    except ValueError:
        raise hostclient.ToolError("--csr: %s is not a certificate signing request (PEM or DER)" % path)
    if not csr.is_signature_valid or public_der(csr.public_key()) != public_der(key.public_key()):
        raise hostclient.ToolError("--csr: %s is not signed by the key in %s" % (path, key_path))
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key


def stack_names(session, args, config):
    """--table, --role-alias and --policy, each from the stack's outputs when not given; the alerts
    topic (args.alert_topic) when the stack has one."""
    args.alert_topic = None
    missing = [name for name in OUTPUTS if not getattr(args, name)]
    if not missing:
        return
    cfn = session.client("cloudformation", region_name=args.region, config=config)
    try:
        stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
    except botocore.exceptions.ClientError as e:
        if "does not exist" not in str(e):
            raise
        raise hostclient.ToolError(
            "no stack %s in %s: deploy config/aws/stack.yaml first (README: Running against AWS),"
            " or give --stack, or --table, --role-alias and --policy" % (args.stack, args.region)
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    for name in missing:
        if OUTPUTS[name] not in outputs:
            raise hostclient.ToolError(
                "stack %s (%s) has no output %s: is it config/aws/stack.yaml?"
                % (args.stack, stack.get("StackStatus"), OUTPUTS[name])
            )
        setattr(args, name, outputs[OUTPUTS[name]])
    args.alert_topic = outputs.get("AlertTopicArn")


def undo(iot, thing, thing_made, cert, policy):
    """Best effort after a failure: the certificate detached and deleted (and the thing, if it was
    made here); returns what the error line adds about what is left."""
    arn, cert_id = cert["certificateArn"], cert["certificateId"]
    calls = [
        ("detach", lambda: iot.detach_thing_principal(thingName=thing, principal=arn)),
        ("detach", lambda: iot.detach_policy(policyName=policy, target=arn)),
        ("deactivate", lambda: iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")),
        ("certificate", lambda: iot.delete_certificate(certificateId=cert_id)),
    ]
    if thing_made:
        calls.append(("thing", lambda: iot.delete_thing(thingName=thing)))
    left = []
    for what, call in calls:
        try:
            call()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
            left.append(what)
    if "certificate" in left:
        return "certificate %s is left%s: aws iot delete-certificate --certificate-id %s" % (
            cert_id,
            " ACTIVE" if "deactivate" in left else " INACTIVE",
            cert_id,
        )
    if "thing" in left:
        return "the certificate was removed, thing %s is left: aws iot delete-thing --thing-name %s" % (thing, thing)
    return "nothing is left registered (the certificate%s removed)" % (" and the thing" if thing_made else "")


def main(argv=None):
    parser = hostclient.parser("register-device", __doc__, EXAMPLE)
    parser.add_argument("folder", help="the device folder to write (must not hold a config.py yet)")
    parser.add_argument("--device-id", required=True)
    parser.add_argument("--thing-name", help="the IoT thing (default: the device id)")
    parser.add_argument("--root-ca", required=True, help="Amazon Root CA 1 (PEM or DER): verifies both hosts")
    parser.add_argument("--csr", help="a CSR (PEM or DER) made on this host: AWS IoT signs it")
    parser.add_argument("--key", help="with --csr: its private key (PEM or DER), copied into the folder only")
    parser.add_argument("--stack", default="iot-sigv4", help="the stack config/aws/stack.yaml was deployed as")
    parser.add_argument("--table", help="default: the stack's output TableName")
    parser.add_argument("--role-alias", help="default: the stack's output RoleAlias")
    parser.add_argument("--policy", help="the IoT policy to attach; default: the stack's output IotPolicyName")
    parser.add_argument(
        "--iot-host", help="the credentials endpoint; default: describe-endpoint iot:CredentialProvider"
    )
    parser.add_argument("--host", help="DynamoDB host[:port] (default dynamodb.<region>.amazonaws.com)")
    parser.add_argument("--interval", type=float, default=2, help="seconds between readings (default 2)")
    parser.add_argument("--readings", type=int, default=0, help="stop after this many (default 0: never)")
    hostclient.add_profile_args(parser)
    parser.add_argument(
        "--timeout", type=float, default=30, help="seconds to connect, and to wait for an answer (default 30)"
    )
    args = parser.parse_args(argv)
    if bool(args.csr) != bool(args.key):
        raise hostclient.ToolError("--csr and --key go together (the CSR and the private key it was made with)", True)
    provision.check_free(args.folder, way_out="remove it or choose another folder")
    thing = args.thing_name or args.device_id
    ca = hostclient.read_cert(args.root_ca, "--root-ca")
    csr_pem, key = read_csr(args.csr, args.key) if args.csr else (None, None)

    session = hostclient.session_from_args(args)  # the operator's; also resolves the region
    config = botocore.config.Config(
        connect_timeout=args.timeout, read_timeout=args.timeout, retries={"mode": "standard", "max_attempts": 4}
    )
    stack_names(session, args, config)
    iot = session.client("iot", region_name=args.region, config=config)
    iot.get_policy(policyName=args.policy)  # there, before anything is made
    iot_host = args.iot_host or iot.describe_endpoint(endpointType="iot:CredentialProvider")["endpointAddress"]

    if csr_pem:
        cert = iot.create_certificate_from_csr(certificateSigningRequest=csr_pem, setAsActive=True)
    else:
        cert = iot.create_keys_and_certificate(setAsActive=True)
    thing_made = False
    try:
        try:
            iot.describe_thing(thingName=thing)
        except iot.exceptions.ResourceNotFoundException:
            iot.create_thing(thingName=thing)
            thing_made = True
        cert_der = _der(cert["certificatePem"])
        if not csr_pem:
            key = private_key(cert["keyPair"]["PrivateKey"].encode(), "AWS IoT's key pair")
        if public_der(x509.load_der_x509_certificate(cert_der).public_key()) != public_der(key.public_key()):
            raise hostclient.ToolError("the certificate AWS IoT returned is not for the device's key")
        iot.attach_policy(policyName=args.policy, target=cert["certificateArn"])
        iot.attach_thing_principal(thingName=thing, principal=cert["certificateArn"])
        lines, files = provision.iot_device(iot_host, args.role_alias, thing, cert_der, key_der(key))
        if args.alert_topic:  # the topic is the stack's; which readings alert is the person's to say
            lines += [
                "# Alerts to the stack's topic: uncomment both, with rules for this device's sensors",
                "# (firmware/README.md, Text me when).",
                "# ALERT_TOPIC_ARN = %r" % args.alert_topic,
                '# ALERT_RULES = (("temp_c", ">", -15, 1, 900),)',
            ]
        files["ca.der"] = (ca, False)
        files["config.py"] = (provision.config_py(args, lines, by="iotsig register-device"), True)
        provision.write_folder(args.folder, files)
    except BaseException as e:  # Ctrl-C and bugs too: no certificate left behind that no folder holds
        left = undo(iot, thing, thing_made, cert, args.policy)
        why = hostclient.explain(e) if isinstance(e, Exception) else None
        if why is None:
            raise
        raise hostclient.ToolError("%s; %s" % (why, left)) from None
    print("thing %s %s" % (thing, "created" if thing_made else "exists already"))
    print(
        "certificate %s (ACTIVE, %s) attached to %s, policy %s"
        % (
            cert["certificateId"],
            "signed from %s: the key stayed on this host" % args.csr if csr_pem else "key pair made by AWS IoT",
            thing,
            args.policy,
        )
    )
    print(
        "config for %s written to %s (credentials from %s, role alias %s, table %s)"
        % (args.device_id, args.folder, iot_host, args.role_alias, args.table)
    )
    return 0
