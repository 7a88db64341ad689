# The local DynamoDB (tools/local/localddb.py) as a board and the host tools see it: connections kept
# alive as AWS keeps them.
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys

import pytest

import helpers
import unixport
from local.localddb import ROOT, LocalDynamoDB


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


def start_serve(workdir):
    """`localddb.py serve` in the background; (process, what it printed up to its last line)."""
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools/local/localddb.py"), "serve", "--workdir",
                             str(workdir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    out = ""
    while "run the firmware with" not in out:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            pytest.fail("serve ended (%s): %s" % (proc.returncode, out))
        out += line
    return proc, out


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def host_tool(verb, args, env, stdin=None):
    env = dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, AWS_EC2_METADATA_DISABLED="true",
               **env)  # fmt: skip
    return helpers.iotsig([verb] + args, env=env, stdin=stdin)


def test_serve_hands_out_profiles_for_the_host_tools_and_run_leaves_its_config_alone(tmp_path):
    proc, out = start_serve(tmp_path)
    try:
        exports = dict(re.search(r"export (AWS_SHARED_CREDENTIALS_FILE=\S+) (AWS_CONFIG_FILE=\S+)", out).groups()[i]
                       .split("=", 1) for i in (0, 1))  # fmt: skip
        assert exports["AWS_SHARED_CREDENTIALS_FILE"] == str(tmp_path / "serve" / "aws" / "credentials")
        assert oct(os.stat(exports["AWS_SHARED_CREDENTIALS_FILE"]).st_mode & 0o777) == "0o600"
        # the profiles name the endpoint and its CA: the command the hint prints runs as it is
        assert "iotsig plot --profile local-reader --table readings --device device-1 --out readings.png" in out
        where = []
        line = json.dumps({"deviceId": "served-1", "seq": 1, "ts": 1795412461, "t": 21.5}) + "\n"
        r = host_tool("put-json", ["--profile", "local-admin", "--table", "readings"] + where, exports, line)
        assert r.returncode == 0, r.stdout + r.stderr
        png = str(tmp_path / "served.png")
        r = host_tool("plot", ["--profile", "local-reader", "--table", "readings", "--device",
                                           "served-1", "--out", png] + where, exports)  # fmt: skip
        assert r.returncode == 0 and "served-1: 1 readings" in r.stdout, r.stdout + r.stderr
        # the reader may read, not write
        r = host_tool("put-json", ["--profile", "local-reader", "--table", "readings"] + where, exports, line)
        assert r.returncode == 1 and r.stderr.startswith("error: AccessDenied"), r.stderr

        # make run meanwhile: a folder of its own, serve's config untouched
        served = (tmp_path / "serve" / "config" / "config.py").read_text()
        run = subprocess.run([sys.executable, os.path.join(ROOT, "tools/local/localddb.py"), "run", "--readings", "2",
                              "--interval", "0", "--workdir", str(tmp_path)], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
        assert run.returncode == 0 and "table check (boto3 Query): 2 items" in run.stdout, run.stdout + run.stderr
        assert (tmp_path / "serve" / "config" / "config.py").read_text() == served
        assert (tmp_path / "run" / "config" / "config.py").exists()
        # a second serve in the same folder is refused, in one line
        second = subprocess.run([sys.executable, os.path.join(ROOT, "tools/local/localddb.py"), "serve", "--workdir",
                                 str(tmp_path)], capture_output=True, text=True, timeout=60)  # fmt: skip
        assert second.returncode == 1 and second.stderr.strip() == "error: another `localddb.py serve` is using %s" % (
            os.path.relpath(str(tmp_path / "serve"))
        ), second.stdout + second.stderr
        assert (tmp_path / "serve" / "config" / "config.py").read_text() == served
    finally:
        stop(proc)
