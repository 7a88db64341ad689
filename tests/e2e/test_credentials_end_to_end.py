# Credentials a fleet can live with: temporary keys with a session token, and the AWS IoT
# credentials provider over mutual TLS (a local one that issues credentials moto accepts).
import os
import re

import pytest

import unixport
from iotsig import certs
from local.iotcreds import LocalIotCredentialsProvider
from local.localddb import LocalDynamoDB


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ddb = LocalDynamoDB(str(tmp_path_factory.mktemp("iot"))).start().provision(iot=True)
    pki = os.path.join(ddb.workdir, "pki")
    device = certs.make_client_cert(pki, ddb.ca_pem, os.path.join(pki, "ca.key"), "device", "thing-1")
    other_ca = certs.make_ca(pki, "rogue-ca", "Rogue CA")
    rogue = certs.make_client_cert(pki, other_ca[0], other_ca[2], "rogue", "thing-rogue")
    yield ddb, device, rogue
    ddb.stop()


def start_provider(ddb, lifetime_s):
    """The local credentials provider, with the local server's certificate, trusting the local CA."""
    pki = os.path.join(ddb.workdir, "pki")
    return LocalIotCredentialsProvider(
        ddb, os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"), ddb.ca_pem, lifetime_s=lifetime_s
    )


@pytest.fixture
def provider(site):
    """A provider issuing credentials for a minute: longer than the tests that use it run."""
    ddb, _, _ = site
    p = start_provider(ddb, lifetime_s=60)
    yield p
    p.stop()


def iot_config(ddb, provider, device, folder, readings, interval_s, thing="thing-1"):
    extra = (
        'CREDENTIALS = "iot"\nIOT_CREDENTIALS_HOST = "localhost:%d"\nIOT_ROLE_ALIAS = "device-role-alias"\n'
        "IOT_THING_NAME = %r\nDEVICE_CERT_FILE = %r\nDEVICE_KEY_FILE = %r\nDELIVERY_TIMEOUT_S = 5\n"
        % (provider.port, thing, device[1], device[3])
    )
    ddb.write_config(str(folder), device_id=thing, readings=readings, interval_s=interval_s, extra=extra)
    path = os.path.join(str(folder), "config.py")
    text = open(path).read()
    open(path, "w").write(re.sub(r"^AWS_(ACCESS|SECRET)_KEY = .*\n", "", text, flags=re.M))


def test_session_token_credentials_are_signed_and_accepted(site, tmp_path):
    ddb, _, _ = site
    creds = ddb.client("sts", ddb.provider_key).assume_role(
        RoleArn=ddb.device_role_arn, RoleSessionName="static-session", DurationSeconds=900
    )["Credentials"]
    ddb.write_config(
        str(tmp_path),
        device_id="session-1",
        readings=3,
        interval_s=0,
        access_key=creds["AccessKeyId"],
        secret_key=creds["SecretAccessKey"],
    )
    path = os.path.join(str(tmp_path), "config.py")
    text = open(path).read().replace("AWS_SESSION_TOKEN = None", "AWS_SESSION_TOKEN = %r" % creds["SessionToken"])
    open(path, "w").write(text)
    out = unixport.run_firmware(str(tmp_path), timeout=60).stdout
    assert "done: 3 readings delivered" in out, out
    assert creds["SessionToken"] not in out and creds["SecretAccessKey"] not in out
    assert len(ddb.readings("session-1")) == 3


def test_iot_credentials_are_refreshed_through_a_full_lifetime(site, tmp_path):
    ddb, device, _ = site
    provider = start_provider(ddb, lifetime_s=8)
    try:
        iot_config(ddb, provider, device, tmp_path, readings=40, interval_s=0.5)
        out = unixport.run_firmware(str(tmp_path), timeout=120).stdout
        assert "done: 40 readings delivered" in out, out
        assert [int(i["seq"]["N"]) for i in ddb.readings("thing-1")] == list(range(1, 41))
        # 20 s of readings with credentials that last 8 s: fetched at start, refreshed twice or more
        assert len(provider.issued) >= 3, (provider.issued, out)
        assert all(name == "thing-1" for name, _ in provider.issued)
        assert out.count("credentials: fetched from the IoT credentials provider") == len(provider.issued)
        assert "blocked" not in out and "credentials: refused" not in out  # refreshed before expiry
    finally:
        provider.stop()


def test_device_without_a_certificate_from_the_local_ca_is_refused(site, provider, tmp_path):
    ddb, _, rogue = site
    iot_config(ddb, provider, rogue, tmp_path, readings=1, interval_s=0, thing="thing-rogue")
    out = unixport.run_firmware(str(tmp_path), timeout=60).stdout
    assert (
        "(DELIVERY_TIMEOUT_S=5): TLS handshake with localhost:%d failed: the server closed the "
        "connection: it did not accept the device certificate" % provider.port in out
    ), out
    assert provider.issued == [] and ddb.readings("thing-rogue") == []


def test_a_device_key_that_does_not_load_is_a_config_error_at_start(site, provider, tmp_path):
    ddb, device, _ = site
    cert_as_key = (None, device[1], None, device[1])  # DER-shaped, but a certificate, not a key
    iot_config(ddb, provider, cert_as_key, tmp_path, readings=1, interval_s=0)
    r = unixport.run_firmware(str(tmp_path), timeout=60)
    assert r.returncode == 2, r.stdout
    assert "config error: client certificate or key is not a valid DER certificate/key pair" in r.stdout
    assert provider.issued == []
