# The firmware on the unix port posting readings to a local stand-in for API Gateway or a Lambda
# function URL that checks every request's SigV4 signature with botocore.
import os
import re

import pytest

import unixport
from sigv4_endpoint import SigV4Endpoint

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def config(folder, endpoint, service, readings, ca_der, secret=SECRET_KEY):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.py"), "w") as f:
        f.write(
            'SINK = "sigv4"\nSIGV4_URL = %r\nSIGV4_SERVICE = %r\nSIGV4_OK_FIELD = "stored"\nSIGV4_OK_VALUE = "true"\n'
            'AWS_REGION = "eu-west-1"\nAWS_ACCESS_KEY = %r\nAWS_SECRET_KEY = %r\nCA_FILE = %r\n'
            'DEVICE_ID = "sigv4-%s"\nINTERVAL_S = 0\nREADINGS = %d\nSTATE_DIR = %r\nDELIVERY_TIMEOUT_S = 3\n'
            % (endpoint.url, service, ACCESS_KEY, secret, ca_der, service, readings, os.path.join(folder, "state"))
        )


def endpoint_for(local_ca, service):
    return SigV4Endpoint(local_ca["server_pem"], local_ca["server_key"], ACCESS_KEY, SECRET_KEY, "eu-west-1", service)


@pytest.mark.parametrize("service", ["execute-api", "lambda"])
def test_readings_are_accepted_by_botocores_signature_check(service, local_ca, tmp_path):
    endpoint = endpoint_for(local_ca, service)
    try:
        config(str(tmp_path), endpoint, service, 30, local_ca["ca_der"])
        out = unixport.run_firmware(str(tmp_path), timeout=60).stdout
        assert "done: 30 readings delivered" in out, out
        assert "signed SigV4 for %s in eu-west-1" % service in out, out
        assert endpoint.refused == [], endpoint.refused
        assert sorted(r["seq"] for r in endpoint.readings) == list(range(1, 31))
        assert endpoint.accepted >= 2  # batched: 25 and 5
        assert all(r["deviceId"] == "sigv4-" + service and isinstance(r["ts"], int) for r in endpoint.readings)
        assert SECRET_KEY not in out
    finally:
        endpoint.stop()


def test_a_wrong_secret_blocks_sending_and_readings_wait_in_the_spool(local_ca, tmp_path):
    endpoint = endpoint_for(local_ca, "execute-api")
    wrong = "not/the/secret/the/endpoint/has/at/all00"
    try:
        config(str(tmp_path), endpoint, "execute-api", 2, local_ca["ca_der"], secret=wrong)
        result = unixport.run_firmware(str(tmp_path), timeout=60)
        assert result.returncode == 1, result.stdout
        assert re.search(
            r"^blocked: InvalidSignatureException \(HTTP 403\): The request signature", result.stdout, re.M
        )
        assert endpoint.readings == [] and endpoint.refused
        config(str(tmp_path), endpoint, "execute-api", 2, local_ca["ca_der"])
        result = unixport.run_firmware(str(tmp_path), timeout=60)
        assert result.returncode == 0 and sorted(r["seq"] for r in endpoint.readings) == [1, 2], result.stdout
        assert wrong not in result.stdout
    finally:
        endpoint.stop()


def test_a_success_status_without_the_configured_field_acknowledges_nothing(local_ca, tmp_path):
    endpoint = endpoint_for(local_ca, "lambda")
    endpoint.answer = {"stored": False}  # what a function that failed inside answers, with a 200
    try:
        config(str(tmp_path), endpoint, "lambda", 3, local_ca["ca_der"])
        result = unixport.run_firmware(str(tmp_path), timeout=60)
        assert result.returncode == 1, result.stdout
        assert "'stored' is false, not 'true'" in result.stdout, result.stdout
        assert "3 reading(s) kept in the spool" in result.stdout, result.stdout
        endpoint.answer = {"stored": True}
        result = unixport.run_firmware(str(tmp_path), timeout=60)
        assert result.returncode == 0, result.stdout
    finally:
        endpoint.stop()
