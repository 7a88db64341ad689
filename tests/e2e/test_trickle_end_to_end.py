# The firmware on the unix port against a server that answers one byte every 0.3 s: each read
# gets a byte well inside HTTP_TIMEOUT_S, so only REQUEST_TIMEOUT_S ends a request, and
# DELIVERY_TIMEOUT_S ends the run on time, saying how long nothing was delivered.
import os
import re
import time

import unixport
from stub_http import StubServer

HTTP_TIMEOUT_S = 1
REQUEST_TIMEOUT_S = 2
DELIVERY_TIMEOUT_S = 3


def test_trickling_server_cannot_hold_the_run_past_its_timeouts(local_ca, tmp_path):
    server = StubServer(local_ca["server_pem"], local_ca["server_key"], trickle_gap_s=0.3)
    folder = str(tmp_path)
    values = {
        "AWS_ACCESS_KEY": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_REGION": "us-east-1",
        "AWS_HOST": "localhost:%d" % server.port,
        "AWS_DYNAMODB_TABLE": "readings",
        "CA_FILE": local_ca["ca_der"],
        "DEVICE_ID": "e2e-trickle",
        "INTERVAL_S": 0,
        "READINGS": 3,
        "STATE_DIR": os.path.join(folder, "state"),
        "HTTP_TIMEOUT_S": HTTP_TIMEOUT_S,
        "REQUEST_TIMEOUT_S": REQUEST_TIMEOUT_S,
        "DELIVERY_TIMEOUT_S": DELIVERY_TIMEOUT_S,
    }
    with open(os.path.join(folder, "config.py"), "w") as f:
        f.write("".join("%s = %r\n" % item for item in values.items()))
    try:
        started = time.monotonic()
        result = unixport.run_firmware(folder, timeout=40)
        took = time.monotonic() - started
    finally:
        server.close()
    out = result.stdout
    assert result.returncode == 1, out
    # each attempt ends at its deadline, not after the 200-odd bytes' minute
    deadline = r"response from localhost:%d not complete after 2s \(REQUEST_TIMEOUT_S\)" % server.port
    assert re.search("^retry: " + deadline, out, re.M), out
    last = out.strip().splitlines()[-1]
    found = re.match(
        r"error: nothing delivered for (\d+)s \(DELIVERY_TIMEOUT_S=3\): "
        + deadline
        + r"; 3 reading\(s\) kept in the spool for the next start$",
        last,
    )
    assert found, out
    stalled = int(found.group(1))
    # the honest figure: past the limit, at most the run's own length
    assert DELIVERY_TIMEOUT_S <= stalled <= took, (stalled, took, out)
    assert took < DELIVERY_TIMEOUT_S + REQUEST_TIMEOUT_S + 4, (took, out)
