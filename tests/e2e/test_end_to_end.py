# The firmware on the MicroPython unix port against moto's DynamoDB over HTTPS with SigV4
# checking on (tools/local/localddb.py), read back with boto3.
import os
import re
import time

import pytest

import unixport
from local.localddb import LocalDynamoDB, free_port


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("localddb"))).start().provision()
    yield server
    server.stop()


def firmware(ddb, folder, delivery_timeout_s=3, **config):
    config.setdefault("extra", "DELIVERY_TIMEOUT_S = %d\n" % delivery_timeout_s)
    ddb.write_config(str(folder), **config)
    result = unixport.run_firmware(str(folder), timeout=120)
    return result.returncode, result.stdout


def seqs(ddb, device_id):
    return sorted(int(item["seq"]["N"]) for item in ddb.readings(device_id))


def assert_no_secret(ddb, out, *more):
    for secret in (ddb.device_key[1],) + more:
        assert secret not in out


def test_readings_land_signed_and_verified(ddb, tmp_path):
    code, out = firmware(ddb, tmp_path, device_id="e2e-land", readings=5, interval_s=0)
    assert code == 0, out
    assert len(re.findall(r"^delivered seq=\d+ ", out, re.M)) == 5, out
    assert "done: 5 readings delivered in this run (last seq 5), 0 queued, 0 retries" in out
    items = ddb.readings("e2e-land")
    assert [int(i["seq"]["N"]) for i in items] == [1, 2, 3, 4, 5]
    for item in items:
        assert abs(int(item["ts"]["N"]) - time.time()) < 120
        values = set(item) - {"deviceId", "seq", "ts"}
        assert values and all("N" in item[v] for v in values), item
        assert "load1" in item and "mem_free_kb" in item
    assert_no_secret(ddb, out)


def test_seq_continues_across_restarts_and_stops_at_readings(ddb, tmp_path):
    code, out = firmware(ddb, tmp_path, device_id="e2e-restart", readings=3, interval_s=0)
    assert code == 0, out
    code, out = firmware(ddb, tmp_path, device_id="e2e-restart", readings=6, interval_s=0)
    assert code == 0, out
    assert re.findall(r"^delivered seq=(\d+)", out, re.M) == ["4", "5", "6"]
    code, out = firmware(ddb, tmp_path, device_id="e2e-restart", readings=6, interval_s=0)
    assert code == 0 and "all 6 readings were delivered before" in out
    assert seqs(ddb, "e2e-restart") == [1, 2, 3, 4, 5, 6]


def test_interval_paces_the_readings(ddb, tmp_path):
    started = time.monotonic()
    code, out = firmware(ddb, tmp_path, device_id="e2e-interval", readings=3, interval_s=0.5)
    assert code == 0, out
    assert time.monotonic() - started >= 1.0  # readings at 0, 0.5 and 1.0 s
    assert seqs(ddb, "e2e-interval") == [1, 2, 3]


def test_wrong_secret_is_refused_and_the_readings_wait_in_the_spool(ddb, tmp_path):
    wrong = "x" * 20 + ddb.device_key[1][20:][::-1]
    code, out = firmware(ddb, tmp_path, device_id="e2e-wrong-secret", readings=2, interval_s=0, secret_key=wrong)
    assert code == 1, out
    assert re.search(
        r"^blocked: SignatureDoesNotMatch \(HTTP 403\): .*; 2 reading\(s\) kept in the spool", out, re.M
    ), out
    assert re.search(
        r"^error: nothing delivered for \d+s \(DELIVERY_TIMEOUT_S=3\): SignatureDoesNotMatch \(HTTP 403\).*; "
        r"2 reading\(s\) kept in the spool for the next start$",
        out,
        re.M,
    ), out
    assert seqs(ddb, "e2e-wrong-secret") == []
    assert_no_secret(ddb, out, wrong)
    # the right secret at the next start delivers what was kept, with the seqs it had
    code, out = firmware(ddb, tmp_path, device_id="e2e-wrong-secret", readings=2, interval_s=0)
    assert code == 0, out
    assert "2 waiting in the spool" in out and seqs(ddb, "e2e-wrong-secret") == [1, 2]


def test_unknown_access_key_is_refused(ddb, tmp_path):
    code, out = firmware(
        ddb, tmp_path, device_id="e2e-unknown-key", readings=1, interval_s=0, access_key="AKIAUNKNOWNKEY000000"
    )
    assert code == 1, out
    # moto's code for what DynamoDB calls UnrecognizedClientException
    assert re.search(
        r"error: nothing delivered for \d+s \(DELIVERY_TIMEOUT_S=3\): InvalidClientTokenId \(HTTP 403\)", out
    ), out
    assert_no_secret(ddb, out)


def test_ca_that_did_not_sign_the_server_is_refused(ddb, tmp_path, local_ca):
    code, out = firmware(
        ddb, tmp_path, device_id="e2e-wrong-ca", readings=1, interval_s=0, ca_der=local_ca["other_der"]
    )
    assert code == 1, out
    assert "blocked: TLS handshake with localhost:%d failed: " % ddb.port in out, out
    assert "not correctly signed by the trusted CA" in out, out
    assert seqs(ddb, "e2e-wrong-ca") == []


def test_refused_connection_names_the_address_and_is_retried(ddb, tmp_path):
    port = free_port()
    code, out = firmware(ddb, tmp_path, device_id="e2e-refused", readings=1, interval_s=0, host="127.0.0.1:%d" % port)
    assert code == 1, out
    assert "(DELIVERY_TIMEOUT_S=3): cannot connect to 127.0.0.1:%d: connection refused" % port in out, out
    assert out.count("retry: cannot connect") >= 3  # a refused connection may be a server restarting


def test_config_error_is_one_line_naming_the_field(ddb, tmp_path):
    ddb.write_config(str(tmp_path), device_id="e2e-config")
    path = os.path.join(str(tmp_path), "config.py")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(re.sub(r"^AWS_REGION = .*$", "", text, flags=re.M))
    result = unixport.run_firmware(str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert result.stdout.strip() == "config error: AWS_REGION: missing"


def test_pem_ca_file_is_refused_with_the_conversion_command(ddb, tmp_path):
    code, out = firmware(ddb, tmp_path, device_id="e2e-pem", readings=1, ca_der=ddb.ca_pem)
    assert code == 2
    assert out.startswith("config error: CA_FILE: %s is PEM; the board needs DER: openssl x509" % ddb.ca_pem)


def test_deep_sleep_mode_spools_each_wake_and_sends_every_third(ddb, tmp_path):
    extra = 'POWER_MODE = "deep_sleep"\nSEND_EVERY = 3\nDELIVERY_TIMEOUT_S = 10\n'
    ddb.write_config(str(tmp_path), device_id="e2e-sleepy", readings=7, interval_s=60, extra=extra)
    seen = []
    for wake in range(1, 8):
        result = unixport.run_firmware(str(tmp_path), timeout=60)
        assert result.returncode == 0, result.stdout
        seen.append(len(seqs(ddb, "e2e-sleepy")))
        if wake < 7:  # the interval less the time this wake was awake: the next wake on its slot
            slept = re.search(r"deep sleep for (\d+) ms", result.stdout)
            assert slept and 50000 < int(slept.group(1)) <= 60000, result.stdout
    assert seen == [0, 0, 3, 3, 3, 6, 7]  # sent on wakes 3 and 6, and the last
    assert "done: all 7 readings delivered" in result.stdout
    assert seqs(ddb, "e2e-sleepy") == list(range(1, 8))
