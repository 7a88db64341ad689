# The local DynamoDB (tools/localddb.py) as a board and the host tools see it: connections kept
# alive as AWS keeps them.
import http.client
import re
import ssl

import pytest

import unixport
from localddb import LocalDynamoDB


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("localserver"))).start().provision()
    yield server
    server.stop()


def test_the_firmware_sends_every_batch_on_one_connection(ddb, tmp_path):
    ddb.write_config(str(tmp_path), device_id="keepalive-1", readings=60, interval_s=0)
    out = unixport.run_firmware(str(tmp_path), timeout=120).stdout
    assert len(re.findall(r"^batch: delivered ", out, re.M)) >= 3, out  # several requests
    assert re.search(r"^done: 60 readings delivered .* 0 retries, .* 1 connection\(s\)", out, re.M), out
    assert len(ddb.readings("keepalive-1")) == 60


def test_connection_close_is_sent_only_when_the_client_asks(ddb):
    conn = http.client.HTTPSConnection(ddb.host, ddb.port, context=ssl.create_default_context(cafile=ddb.ca_pem))
    for _ in range(3):
        conn.request("GET", "/moto-api/data.json")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200 and resp.getheader("Connection") != "close"
    sock = conn.sock
    conn.request("GET", "/moto-api/data.json", headers={"Connection": "close"})
    resp = conn.getresponse()
    resp.read()
    assert resp.getheader("Connection") == "close" and conn.sock is None and sock is not None
