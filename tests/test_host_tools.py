# The host tools against the local DynamoDB: provisioning a device folder (and a table), putting
# JSON lines into a table with a report of what was refused, and plotting a device's readings.
import json
import os
import re
import subprocess
import sys
import time

import pytest

import certs
import helpers
import unixport
from localddb import ROOT, LocalDynamoDB, free_port

TOOLS = os.path.join(ROOT, "tools")


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("hosttools"))).start().provision()
    yield server
    server.stop()


def tool(name, args, key, stdin=None, env=None):
    """A host tool run with `key` in the environment (None: no keys there), never this machine's
    ~/.aws or an instance role."""
    isolated = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", **dict(isolated, **(env or {})))
    for name_ in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name_, None)
    if key:
        env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
    return subprocess.run(
        [sys.executable, os.path.join(TOOLS, name)] + args,
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def conn_args(ddb):
    return ["--endpoint", ddb.endpoint, "--ca", ddb.ca_pem, "--region", ddb.region]


def test_provision_writes_a_folder_the_firmware_runs_from(ddb, tmp_path):
    folder = str(tmp_path / "d1")
    device = [folder, "--device-id", "prov-1", "--table", "made-by-provision", "--host", "localhost:%d" % ddb.port]
    device += ["--ca", ddb.ca_pem, "--device-key-id", ddb.device_key[0]]
    secret = {"DEVICE_SECRET_ACCESS_KEY": ddb.device_key[1]}
    # the operator (admin) creates the table; the device gets its own keys, allowed only to write
    r = tool("provision.py", device + ["--readings", "3", "--interval", "0", "--create-table"] + conn_args(ddb),
             ddb.admin_key, env=secret)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "table made-by-provision created" in r.stdout
    assert ddb.admin_key[1] not in r.stdout + r.stderr and ddb.device_key[1] not in r.stdout + r.stderr
    assert sorted(os.listdir(folder)) == ["ca.der", "config.py"]
    assert oct(os.stat(os.path.join(folder, "config.py")).st_mode & 0o777) == "0o600"
    with open(os.path.join(folder, "ca.der"), "rb") as f:
        assert f.read(1) == b"\x30"
    config = helpers.folder_config(folder)
    assert (config["AWS_ACCESS_KEY"], config["AWS_SECRET_KEY"]) == ddb.device_key
    assert ddb.admin_key[0] not in open(os.path.join(folder, "config.py")).read()
    out = unixport.run_firmware(folder, timeout=60).stdout
    assert "done: 3 readings delivered" in out, out
    again = tool("provision.py", device + ["--create-table"] + conn_args(ddb), ddb.admin_key, env=secret)
    assert "exists already" in again.stdout
    # the secret from a file instead of the environment
    secret_file = tmp_path / "device.secret"
    secret_file.write_text(ddb.device_key[1] + "\n")
    args = [str(tmp_path / "d3")] + device[1:] + ["--device-secret-file", str(secret_file)]
    r = tool("provision.py", args, None)
    assert r.returncode == 0, r.stderr
    assert "AWS_SECRET_KEY = %r" % ddb.device_key[1] in open(str(tmp_path / "d3" / "config.py")).read()


def test_provision_refuses_to_give_the_device_the_operators_keys(ddb, tmp_path):
    folder = tmp_path / "admin-device"
    args = [str(folder), "--device-id", "d", "--table", "readings", "--ca", ddb.ca_pem, "--create-table"]
    args += conn_args(ddb)
    r = tool("provision.py", args + ["--device-key-id", ddb.admin_key[0]], ddb.admin_key,
             env={"DEVICE_SECRET_ACCESS_KEY": ddb.admin_key[1]})  # fmt: skip
    line = one_line_error(r)
    assert line.startswith("error: %s is the operator's own access key: " % ddb.admin_key[0]), line
    assert ddb.admin_key[1] not in r.stdout + r.stderr and not folder.exists()
    # no device keys at all: a usage error, not the operator's keys copied
    assert "--device-key-id" in one_line_error(tool("provision.py", args, ddb.admin_key), 2)
    r = tool("provision.py", args + ["--device-key-id", ddb.device_key[0]], ddb.admin_key)
    assert "DEVICE_SECRET_ACCESS_KEY" in one_line_error(r, 2) and not folder.exists()


def test_provision_for_iot_copies_the_device_certificate_in_der(ddb, tmp_path):
    pki = os.path.join(ddb.workdir, "pki")
    cert_pem, _, key_pem, _ = certs.make_client_cert(pki, ddb.ca_pem, os.path.join(pki, "ca.key"), "prov", "thing-9")
    folder = str(tmp_path / "d2")
    r = tool(
        "provision.py",
        [
            folder,
            "--device-id",
            "thing-9",
            "--table",
            "readings",
            "--region",
            "eu-west-1",
            "--ca",
            ddb.ca_pem,
            "--iot",
            "--iot-host",
            "c1.credentials.iot.eu-west-1.amazonaws.com",
            "--role-alias",
            "sensors",
            "--cert",
            cert_pem,
            "--key",
            key_pem,
        ],
        None,
    )
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(folder)) == ["ca.der", "config.py", "device.der", "device.key.der"]
    config, s = helpers.folder_settings(folder)
    assert config["CREDENTIALS"] == "iot" and "AWS_SECRET_KEY" not in config
    assert s.IOT_THING_NAME == "thing-9" and s.device_cert[0] == 0x30 and s.device_key[0] == 0x30


def test_json_lines_are_put_and_refusals_reported(ddb, tmp_path):
    lines = [
        json.dumps({"deviceId": "import-1", "seq": i, "ts": 1795412461 + i, "t": 20 + i / 10}) for i in range(1, 61)
    ]
    lines[9] = '{"deviceId": "import-1", "ts": 1}'  # no seq: DynamoDB refuses the key
    lines[19] = "not json"
    lines[29] = '{"deviceId": "import-1", "seq": 30, "t": NaN}'
    lines[39] = "[1, 2]"
    r = tool("json2ddb.py", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin="\n".join(lines) + "\n")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout.splitlines()
    assert out[-1] == "56 written, 4 refused"
    assert any(line.startswith("line 10: refused: ValidationException (HTTP 400): ") for line in out), out
    assert "line 20: refused: not JSON" in r.stdout and "line 40: refused: not a JSON object" in r.stdout
    assert "line 30: refused: t: nan cannot be stored as a DynamoDB number" in r.stdout
    seqs = sorted(int(i["seq"]["N"]) for i in ddb.readings("import-1"))
    assert seqs == [i for i in range(1, 61) if i not in (10, 20, 30, 40)]


def test_plot_draws_every_value_of_a_device(ddb, tmp_path):
    ddb.write_config(str(tmp_path / "dev"), device_id="plot-1", readings=12, interval_s=0)
    assert "done: 12 readings delivered" in unixport.run_firmware(str(tmp_path / "dev"), timeout=60).stdout
    png = str(tmp_path / "plot.png")
    r = tool(
        "plot_readings.py",
        ["--table", "readings", "--device", "plot-1", "--first-seq", "3", "--out", png] + conn_args(ddb),
        ddb.reader_key,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plot-1: 10 readings (seq 3..12)" in r.stdout and "plotted to" in r.stdout
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 10000
    none = tool(
        "plot_readings.py", ["--table", "readings", "--device", "nobody", "--out", png] + conn_args(ddb), ddb.reader_key
    )
    assert none.returncode == 1 and "no readings" in none.stdout


def aws_files(tmp_path, profile, key, region):
    """A credentials and a config file as `aws configure` writes them, in the environment's names."""
    credentials, config = tmp_path / "credentials", tmp_path / "config"
    credentials.write_text("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (profile, key[0], key[1]))
    config.write_text("[profile %s]\nregion = %s\n" % (profile, region))
    return {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_CONFIG_FILE": str(config)}


def test_host_tools_take_a_profile_as_the_aws_cli_does(ddb, tmp_path):
    env = aws_files(tmp_path, "ops", ddb.admin_key, ddb.region)
    line = json.dumps({"deviceId": "profile-1", "seq": 1, "ts": 1795412461, "t": 20.5})
    where = ["--endpoint", ddb.endpoint, "--ca", ddb.ca_der]  # the region from the profile; the CA in DER
    r = tool("json2ddb.py", ["--profile", "ops", "--table", "readings"] + where, None, stdin=line + "\n", env=env)
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "1 written, 0 refused", r.stdout + r.stderr
    assert [i["t"] for i in ddb.readings("profile-1")] == [{"N": "20.5"}]
    env = aws_files(tmp_path, "ops", ddb.reader_key, ddb.region)
    png = str(tmp_path / "p.png")
    r = tool("plot_readings.py", ["--profile", "ops", "--table", "readings", "--device", "profile-1", "--out", png]
             + where, None, env=env)  # fmt: skip
    assert r.returncode == 0 and "profile-1: 1 readings" in r.stdout, r.stdout + r.stderr


def test_the_device_and_json2ddb_write_the_same_items(ddb):
    """The firmware's own client (as a board sends readings) and the host tool (boto3), one reading
    each way: the items in the table are the same but for deviceId."""

    import httpclient
    from hostclient import dynamodb

    readings = [
        {"seq": 1, "ts": 1795412461, "load1": 0.07, "mem_free_kb": 24197456, "sim_temp_c": 23.94},
        {"seq": 2, "ts": 1795412462, "load1": 1e-7, "big": 2**53 + 1, "neg": -40.125, "name": "porch"},
        {"seq": 3, "ts": 1795412463, "ok": True, "nested": {"a": [1, 2.5, "x"]}, "none": None},
    ]
    conn = httpclient.Connection(ddb.host, ddb.port, True, open(ddb.ca_der, "rb").read())
    device = dynamodb.Client(conn, dynamodb.Credentials(*ddb.device_key), ddb.region, "%s:%d" % (ddb.host, ddb.port),
                             time.time)  # fmt: skip
    sink = dynamodb.Sink(device, "readings")
    assert sink.send([sink.encode(dict(r, deviceId="same-device")) for r in readings], [1, 2, 3]) == []
    conn.close()
    lines = "".join(json.dumps(dict(r, deviceId="same-host")) + "\n" for r in readings)
    r = tool("json2ddb.py", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin=lines)
    assert r.returncode == 0, r.stdout + r.stderr

    def without_device(items):
        return [{k: v for k, v in item.items() if k != "deviceId"} for item in items]

    from_device, from_host = ddb.readings("same-device"), ddb.readings("same-host")
    assert len(from_device) == 3 and without_device(from_device) == without_device(from_host)


def one_line_error(r, code=1):
    """The tool failed with `code` and said why on one stderr line, no traceback."""
    assert r.returncode == code and "Traceback" not in r.stderr, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


PLOT = ["--table", "readings", "--device", "d"]


@pytest.mark.parametrize(
    "case, expected",
    [
        ("bad --since", r"error: --since: 'yesterday' is neither an ISO time \(\S+\) nor Unix seconds$"),
        ("missing table", r"error: ResourceNotFoundException: \S.*"),
        ("refused key", r"error: (SignatureDoesNotMatch|InvalidSignatureException): \S.*"),
        ("unknown key", r"error: (InvalidClientTokenId|UnrecognizedClientException): \S.*"),
        ("no credentials", r"error: no AWS credentials \(environment, --profile, ~/.aws, SSO or an instance role\)$"),
        ("no such profile", r"error: AWS profile nosuch not found \(~/.aws/config, AWS_CONFIG_FILE\)$"),
        ("unreachable", r"error: cannot connect to https://127.0.0.1:\d+: connection refused$"),
        ("CA not given", r"error: certificate of https://localhost:\d+ not trusted \(--ca\?\): .*verify failed.*"),
        ("CA missing", r"error: --ca: cannot read /nonexistent/ca.pem: No such file or directory$"),
    ],
)
def test_every_failure_is_one_line_and_an_exit_code(ddb, case, expected):
    key, args, code = ddb.reader_key, PLOT + conn_args(ddb), 1
    if case == "bad --since":
        args, code = args + ["--since", "yesterday"], 2
    elif case == "missing table":
        args[1] = "no-such-table"
    elif case == "refused key":
        key = (key[0], "x" * len(key[1]))
    elif case == "unknown key":
        key = ("AKIAUNKNOWNKEY000000", key[1])
    elif case == "no credentials":
        key = None
    elif case == "no such profile":
        args += ["--profile", "nosuch"]
    elif case == "unreachable":
        args[args.index("--endpoint") + 1] = "https://127.0.0.1:%d" % free_port()
    elif case == "CA not given":
        args = PLOT + ["--endpoint", ddb.endpoint, "--region", ddb.region]
    elif case == "CA missing":
        args[args.index("--ca") + 1] = "/nonexistent/ca.pem"
    line = one_line_error(tool("plot_readings.py", args, key), code)
    assert re.match(expected, line), line
    assert key is None or key[1] not in line


def test_json2ddb_says_why_nothing_could_be_written(ddb):
    gone = ["--endpoint", "https://127.0.0.1:%d" % free_port(), "--ca", ddb.ca_pem, "--region", ddb.region]
    r = tool("json2ddb.py", ["--table", "readings"] + gone, ddb.admin_key, stdin='{"deviceId": "x", "seq": 1}\n')
    assert re.match(r"error: cannot connect to https://127.0.0.1:\d+: connection refused$", one_line_error(r))
    untrusted = ["--endpoint", ddb.endpoint, "--region", ddb.region]  # no --ca: the system's CAs
    r = tool("json2ddb.py", ["--table", "readings"] + untrusted, ddb.admin_key, stdin='{"deviceId": "x", "seq": 1}\n')
    assert one_line_error(r).startswith("error: certificate of %s not trusted (--ca?)" % ddb.endpoint)


def test_provision_writes_nothing_when_the_table_cannot_be_made(ddb, tmp_path):
    folder = tmp_path / "never"
    gone = "127.0.0.1:%d" % free_port()
    args = [str(folder), "--device-id", "d", "--table", "t", "--host", gone, "--ca", ddb.ca_pem, "--create-table"]
    args += ["--device-key-id", ddb.device_key[0]]
    r = tool("provision.py", args, ddb.admin_key, env={"DEVICE_SECRET_ACCESS_KEY": ddb.device_key[1]})
    assert one_line_error(r) == "error: cannot connect to https://%s: connection refused" % gone
    assert not folder.exists() and r.stdout == ""


def test_readings_that_share_a_time_are_plotted_by_seq_in_plain_numbers(tmp_path):
    """What make run READINGS=20 INTERVAL=0 leaves: 20 readings in the same second. Drawn by seq, every
    axis in plain numbers: no offset (+2.406e7), no 00:00:00 ticks."""
    import plot_readings

    def item(s):
        values = {"mem_free_kb": 24060000 + s, "sim_temp_c": "%.2f" % (23 + s / 100), "load1": 0.12}
        keys = {"deviceId": {"S": "d"}, "seq": {"N": str(s)}, "ts": {"N": "1795412909"}}
        return dict(keys, **{name: {"N": str(v)} for name, v in values.items()})

    items = [item(s) for s in range(1, 21)]
    assert plot_readings.by_seq(items)
    data = plot_readings.series(items, seq=True)
    assert data["mem_free_kb"][0] == list(range(1, 21))
    fig = plot_readings.figure("d", data, seq=True)
    fig.canvas.draw()
    axes = fig.axes
    assert axes[-1].get_xlabel().startswith("seq")
    assert [ax.get_ylabel() for ax in axes] == ["load1", "mem_free_kb (KB)", "sim_temp_c (°C)"]
    for axis in [ax.yaxis for ax in axes] + [axes[-1].xaxis]:  # the panels above share the bottom's x
        formatter = axis.get_major_formatter()
        assert formatter.get_useOffset() is False and formatter.get_offset() == ""
        labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
        assert labels and not any("e" in t or ":" in t for t in labels), labels
    assert "24060010" in [t.get_text() for t in axes[1].yaxis.get_ticklabels()]
    # readings a time apart keep their time axis
    apart = [dict(item, ts={"N": str(1795412909 + 2 * i)}) for i, item in enumerate(items)]
    assert not plot_readings.by_seq(apart)
    fig = plot_readings.figure("d", plot_readings.series(apart), seq=False)
    assert fig.axes[-1].get_xlabel() == "time (UTC)"


def test_certs_keeps_a_ca_the_folder_holds_unless_forced(tmp_path):
    def certs_tool(*more):
        return subprocess.run([sys.executable, os.path.join(TOOLS, "certs.py"), str(tmp_path)] + list(more),
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    assert certs_tool().returncode == 0
    before = (tmp_path / "ca.der").read_bytes()
    line = one_line_error(certs_tool())
    assert line == (
        "error: %s holds a CA already (ca.pem, ca.der, ca.key): boards trusting it would stop trusting the server;"
        " --force replaces it" % tmp_path
    )
    assert (tmp_path / "ca.der").read_bytes() == before
    assert certs_tool("--force").returncode == 0 and (tmp_path / "ca.der").read_bytes() != before
