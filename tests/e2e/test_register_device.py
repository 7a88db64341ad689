# iotsig register-device against moto's IoT (in this process, moto.mock_aws, with the stack
# config/aws/stack.yaml deployed by moto's CloudFormation), and the device folder it writes run by
# the firmware against the local IoT credentials provider (tools/local/iotcreds.py) and DynamoDB.
#
# moto's certificates are real X.509 but none the local provider can take: create_keys_and_certificate's
# is signed by its own key under an issuer named "Moto" (no CA to trust), and create_certificate_from_csr
# signs a fresh key of its own instead of the CSR's. So the end-to-end run takes the --csr path with
# moto's create_certificate_from_csr made to do what AWS IoT does, sign the CSR's own key, with the
# local CA of iotsig certs; moto's own answer to a CSR is refused by the tool (a test says so).
import base64
import os
import re
import subprocess

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from moto import mock_aws
from moto.iot.models import IoTBackend

import helpers
import unixport
from iotsig import certs, hostclient, register_device
from local.iotcreds import LocalIotCredentialsProvider
from local.localddb import ROOT, LocalDynamoDB

TEMPLATE = os.path.join(ROOT, "config", "aws", "stack.yaml")
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The local DynamoDB (signatures checked) and IoT credentials provider (mutual TLS, the local CA)."""
    ddb = LocalDynamoDB(str(tmp_path_factory.mktemp("register"))).start().provision(iot=True)
    pki = os.path.join(ddb.workdir, "pki")
    provider = LocalIotCredentialsProvider(
        ddb, os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"), ddb.ca_pem, lifetime_s=900
    )
    yield ddb, provider
    provider.stop()
    ddb.stop()


@pytest.fixture
def aws(tmp_path, monkeypatch):
    """The operator's AWS CLI profile 'ops' (region eu-west-1), never this machine's ~/.aws."""
    credentials, config = tmp_path / "aws-credentials", tmp_path / "aws-config"
    credentials.write_text("[ops]\naws_access_key_id = AKIAOPERATOR00000000\naws_secret_access_key = operator\n")
    config.write_text("[profile ops]\nregion = %s\n" % REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.Session(profile_name="ops")


def deploy_stack(session, region=None, **parameters):
    cfn = session.client("cloudformation", region_name=region)
    with open(TEMPLATE) as f:
        cfn.create_stack(
            StackName="iot-sigv4",
            TemplateBody=f.read(),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )


def register(capsys, *args):
    """iotsig register-device's exit code and (stdout, stderr), run as its command line runs it."""
    code = hostclient.run(register_device.main, list(args) + ["--profile", "ops"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def public_key(cert_der):
    key = x509.load_der_x509_certificate(cert_der).public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def make_csr(folder, name):
    """A P-256 key and a CSR for it made on this host, as the README's openssl line makes them."""
    key, csr = os.path.join(folder, name + ".key"), os.path.join(folder, name + ".csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=" + name, "-keyout", key, "-out", csr], check=True, capture_output=True)  # fmt: skip
    return csr, key


def test_register_makes_the_thing_certificate_and_folder_from_the_stack(site, aws, tmp_path, capsys):
    ddb, provider = site
    folder = str(tmp_path / "d1")
    with mock_aws():
        deploy_stack(aws)
        code, out, err = register(capsys, folder, "--device-id", "d1", "--root-ca", ddb.ca_pem)
        assert code == 0, err
        iot = aws.client("iot")
        [principal] = iot.list_thing_principals(thingName="d1")["principals"]
        cert = iot.describe_certificate(certificateId=principal.split("/")[-1])["certificateDescription"]
        attached = iot.list_attached_policies(target=principal)["policies"]
    assert cert["status"] == "ACTIVE" and [p["policyName"] for p in attached] == ["iot-sigv4-device"]
    # the endpoint describe-endpoint gave (moto makes a new prefix at each call; AWS has one an account)
    config = helpers.folder_config(folder)
    endpoint = config["IOT_CREDENTIALS_HOST"]
    assert re.fullmatch(r"[a-z0-9]+\.credentials\.iot\.eu-west-1\.amazonaws\.com", endpoint), endpoint
    assert out.splitlines() == [
        "thing d1 created",
        "certificate %s (ACTIVE, key pair made by AWS IoT) attached to d1, policy iot-sigv4-device"
        % cert["certificateId"],
        "config for d1 written to %s (credentials from %s, role alias iot-sigv4-devices, table readings)"
        % (folder, endpoint),
    ]
    assert sorted(os.listdir(folder)) == ["ca.der", "config.py", "device.der", "device.key.der"]
    modes = {name: os.stat(os.path.join(folder, name)).st_mode & 0o777 for name in os.listdir(folder)}
    assert modes == {"ca.der": 0o644, "config.py": 0o600, "device.der": 0o644, "device.key.der": 0o600}
    assert {k: v for k, v in config.items() if k.isupper()} == {
        "CREDENTIALS": "iot",
        "IOT_CREDENTIALS_HOST": endpoint,
        "IOT_ROLE_ALIAS": "iot-sigv4-devices",
        "IOT_THING_NAME": "d1",
        "DEVICE_CERT_FILE": "device.der",
        "DEVICE_KEY_FILE": "device.key.der",
        "AWS_REGION": REGION,
        "AWS_HOST": None,
        "AWS_DYNAMODB_TABLE": "readings",
        "CA_FILE": "ca.der",
        "DEVICE_ID": "d1",
        "INTERVAL_S": 2,
        "READINGS": 0,
        "STATE_DIR": "state",
    }
    with open(os.path.join(folder, "device.der"), "rb") as f:
        cert_der = f.read()
    with open(os.path.join(folder, "device.key.der"), "rb") as f:
        key = serialization.load_der_private_key(f.read(), password=None)  # DER, PKCS#8
    assert cert_der == hostclient.der_of(cert["certificatePem"].encode())
    assert public_key(cert_der) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with open(os.path.join(folder, "ca.der"), "rb") as f:
        assert f.read() == hostclient.read_der(ddb.ca_pem)
    key_b64 = base64.b64encode(key_der := open(os.path.join(folder, "device.key.der"), "rb").read()).decode()
    assert "PRIVATE KEY" not in out + err and key_b64[20:60] not in out + err and key_der
    assert helpers.folder_settings(folder)[1].device_cert == cert_der

    # The firmware loads the RSA certificate and key AWS IoT made (no config error) and presents
    # them over mutual TLS; the local provider, trusting only the local CA, turns them away.
    with open(os.path.join(folder, "config.py"), "a") as f:
        f.write('IOT_CREDENTIALS_HOST = "localhost:%d"\nREADINGS = 1\nDELIVERY_TIMEOUT_S = 3\n' % provider.port)
    r = unixport.run_firmware(folder, timeout=60)
    assert r.returncode == 1 and "config error" not in r.stdout, r.stdout
    assert "it did not accept the device certificate" in r.stdout, r.stdout


def test_a_device_registered_from_a_csr_delivers_through_the_credentials_provider(site, aws, tmp_path, capsys,
                                                                                  monkeypatch):  # fmt: skip
    ddb, provider = site
    pki = os.path.join(ddb.workdir, "pki")
    csr, key = make_csr(str(tmp_path), "thing-csr")
    signed = []

    def sign_with_the_local_ca(self, csr, set_as_active):
        # what AWS IoT does with a CSR (moto 5.2.5 signs a fresh key instead): a certificate for the
        # CSR's own key, here from the CA the local provider trusts
        signed.append(csr)
        path = str(tmp_path / "signed")
        with open(path + ".csr", "w") as f:
            f.write(csr)
        with open(path + ".ext", "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
        subprocess.run(["openssl", "x509", "-req", "-in", path + ".csr", "-CA", ddb.ca_pem, "-CAkey",
                        os.path.join(pki, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", path + ".ext",
                        "-out", path + ".pem"], check=True, capture_output=True)  # fmt: skip
        with open(path + ".pem") as f:
            return self.register_certificate(f.read(), None, set_as_active, "INACTIVE")

    monkeypatch.setattr(IoTBackend, "create_certificate_from_csr", sign_with_the_local_ca)
    folder = str(tmp_path / "thing-csr")
    with mock_aws():
        deploy_stack(aws, ddb.region)  # the local DynamoDB's region, not the profile's
        # the local stand-ins: the provider's role alias, its host, the local DynamoDB
        args = [folder, "--device-id", "thing-csr", "--root-ca", ddb.ca_der, "--csr", csr, "--key", key]
        args += ["--region", ddb.region, "--role-alias", provider.role_alias]
        args += ["--iot-host", "localhost:%d" % provider.port, "--host", "localhost:%d" % ddb.port]
        code, out, err = register(capsys, *args, "--readings", "3", "--interval", "0")
        assert code == 0, err
        iot = aws.client("iot", region_name=ddb.region)
        assert iot.list_thing_principals(thingName="thing-csr")["principals"]
    assert "signed from %s: the key stayed on this host" % csr in out
    assert len(signed) == 1 and "PRIVATE KEY" not in signed[0] and "CERTIFICATE REQUEST" in signed[0]
    with open(key, "rb") as f:
        host_key = serialization.load_pem_private_key(f.read(), password=None)
    with open(os.path.join(folder, "device.key.der"), "rb") as f:
        assert f.read() == host_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    assert helpers.folder_config(folder)["IOT_ROLE_ALIAS"] == provider.role_alias

    r = unixport.run_firmware(folder, timeout=60)
    assert "done: 3 readings delivered" in r.stdout, r.stdout
    assert [int(i["seq"]["N"]) for i in ddb.readings("thing-csr")] == [1, 2, 3]
    assert [name for name, _ in provider.issued if name == "thing-csr"] == ["thing-csr"]


def test_a_certificate_not_for_the_csrs_key_is_refused_and_removed(aws, tmp_path, capsys):
    # moto's own create_certificate_from_csr: a certificate for a key it made, not the CSR's
    csr, key = make_csr(str(tmp_path), "d3")
    ca_pem = certs.make_ca(str(tmp_path / "ca"))[0]
    folder = tmp_path / "d3"
    with mock_aws():
        deploy_stack(aws)
        code, out, err = register(
            capsys, str(folder), "--device-id", "d3", "--root-ca", ca_pem, "--csr", csr, "--key", key
        )
        iot = aws.client("iot")
        left = iot.list_certificates()["certificates"], iot.list_things()["things"]
    assert code == 1 and out == "" and not folder.exists()
    assert err == (
        "error: the certificate AWS IoT returned is not for the device's key;"
        " nothing is left registered (the certificate and the thing removed)\n"
    )
    assert left == ([], [])


def test_register_failures_are_one_line_and_make_nothing(aws, tmp_path, capsys):
    ca_pem = certs.make_ca(str(tmp_path / "ca"))[0]
    folder = str(tmp_path / "d4")
    base = [folder, "--device-id", "d4", "--root-ca", ca_pem]
    with mock_aws():
        iot = aws.client("iot")
        assert register(capsys, *base) == (
            1,
            "",
            "error: no stack iot-sigv4 in eu-west-1: deploy config/aws/stack.yaml first (README: Running against"
            " AWS), or give --stack, or --table, --role-alias and --policy\n",
        )
        deploy_stack(aws)
        code, out, err = register(capsys, *base, "--policy", "no-such-policy")
        assert code == 1 and err.startswith("error: ResourceNotFoundException: ") and err.count("\n") == 1, err
        code, _, err = register(capsys, *base, "--csr", ca_pem)
        assert (code, err) == (2, "error: --csr and --key go together (the CSR and the private key it was made with)\n")
        code, _, err = register(capsys, folder, "--device-id", "d4", "--root-ca", TEMPLATE)
        assert (code, err) == (1, "error: --root-ca: %s is not a certificate (PEM or DER)\n" % TEMPLATE)
        code, _, err = register(capsys, *base, "--csr", ca_pem, "--key", ca_pem)
        assert (code, err) == (1, "error: --key: not a private key (PEM or DER)\n")
        assert iot.list_things()["things"] == [] and iot.list_certificates()["certificates"] == []
        assert not os.path.exists(folder)
        code, _, err = register(capsys, *base)
        assert code == 0, err
        code, _, err = register(capsys, *base)  # a second time: the folder holds the first's key
        held = "error: %s holds a device already (config.py): remove it or choose another folder\n" % folder
        assert (code, err) == (1, held)
        assert len(iot.list_certificates()["certificates"]) == 1


def test_a_stack_with_an_alerts_topic_gives_the_device_its_arn_to_turn_on(site, aws, tmp_path, capsys):
    ddb, _ = site
    folder = str(tmp_path / "d2")
    with mock_aws():
        deploy_stack(aws, AlertEmail="me@example.com")
        code, out, err = register(capsys, folder, "--device-id", "d2", "--root-ca", ddb.ca_pem)
        assert code == 0, err
    with open(os.path.join(folder, "config.py")) as f:
        text = f.read()
    assert "\n# ALERT_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:iot-sigv4-alerts'\n" in text, text
    assert "ALERT_TOPIC_ARN" not in helpers.folder_config(folder)  # off until the person writes rules
