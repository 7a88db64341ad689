# The firmware on the unix port posting readings to a local HTTPS endpoint that verifies every
# request's HTTP Signature with an independent implementation, for each scheme.
import base64
import os
import re

import pytest

import unixport
from signed_endpoint import SignedEndpoint

SECRET_B64 = base64.b64encode(b"device-secret-shared-with-the-endpoint").decode()


def config(folder, endpoint, scheme, readings, secret_b64=SECRET_B64, ca_der=None):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.py"), "w") as f:
        f.write(
            'SINK = "http"\nHTTP_URL = %r\nHTTP_AUTH = %r\nHTTP_KEY_ID = "device-key-1"\n'
            'HTTP_SECRET_B64 = %r\nHTTP_MERCHANT_ID = "testmerchant"\nCA_FILE = %r\n'
            'DEVICE_ID = "http-%s"\nINTERVAL_S = 0\nREADINGS = %d\nSTATE_DIR = %r\nDELIVERY_TIMEOUT_S = 3\n'
            % (endpoint.url, scheme, secret_b64, ca_der, scheme, readings, os.path.join(folder, "state"))
        )


@pytest.mark.parametrize("scheme", ["cavage", "cybersource", "rfc9421"])
def test_readings_are_accepted_by_an_independent_verifier(scheme, local_ca, tmp_path):
    endpoint = SignedEndpoint(local_ca["server_pem"], local_ca["server_key"], scheme, "device-key-1", SECRET_B64)
    try:
        config(str(tmp_path), endpoint, scheme, 30, ca_der=local_ca["ca_der"])
        out = unixport.run_firmware(str(tmp_path), timeout=60).stdout
        assert "done: 30 readings delivered" in out, out
        assert endpoint.refused == [], endpoint.refused
        assert sorted(r["seq"] for r in endpoint.readings) == list(range(1, 31))
        assert endpoint.accepted >= 2  # batched: 25 and 5
        assert all(r["deviceId"] == "http-" + scheme and isinstance(r["ts"], int) for r in endpoint.readings)
        assert SECRET_B64 not in out
    finally:
        endpoint.stop()


def test_a_wrong_secret_is_refused_and_readings_wait_in_the_spool(local_ca, tmp_path):
    endpoint = SignedEndpoint(local_ca["server_pem"], local_ca["server_key"], "rfc9421", "device-key-1", SECRET_B64)
    wrong = base64.b64encode(b"not-the-secret-the-endpoint-has").decode()
    try:
        config(str(tmp_path), endpoint, "rfc9421", 2, secret_b64=wrong, ca_der=local_ca["ca_der"])
        result = unixport.run_firmware(str(tmp_path), timeout=60)
        assert result.returncode == 1, result.stdout
        assert re.search(r"^blocked: HTTP401 \(HTTP 401\): .*InvalidSignature", result.stdout, re.M), result.stdout
        assert endpoint.readings == [] and endpoint.refused
        config(str(tmp_path), endpoint, "rfc9421", 2, ca_der=local_ca["ca_der"])
        result = unixport.run_firmware(str(tmp_path), timeout=60)
        assert result.returncode == 0 and sorted(r["seq"] for r in endpoint.readings) == [1, 2]
        assert wrong not in result.stdout
    finally:
        endpoint.stop()
