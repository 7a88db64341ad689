# The host tools against the local DynamoDB: provisioning a device folder (and a table), putting
# JSON lines into a table with a report of what was refused, and plotting a device's readings.
import json
import os
import re
import shutil
import subprocess
import time

import pytest

import helpers
import unixport
from iotsig import certs
from local.localddb import ROOT, LocalDynamoDB, free_port

TOOLS = os.path.join(ROOT, "tools")


@pytest.fixture(scope="module")
def ddb(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("hosttools"))).start().provision()
    yield server
    server.stop()


def tool(verb, args, key, stdin=None, env=None):
    """`iotsig <verb>` run with `key` in the environment (None: no keys there), never this
    machine's ~/.aws or an instance role."""
    isolated = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", **dict(isolated, **(env or {})))
    for name_ in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name_, None)
    if key:
        env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
    return helpers.iotsig([verb] + args, env=env, stdin=stdin)


def conn_args(ddb):
    return ["--endpoint", ddb.endpoint, "--ca", ddb.ca_pem, "--region", ddb.region]


def test_provision_writes_a_folder_the_firmware_runs_from(ddb, tmp_path):
    folder = str(tmp_path / "d1")
    device = [folder, "--device-id", "prov-1", "--table", "made-by-provision", "--host", "localhost:%d" % ddb.port]
    device += ["--ca", ddb.ca_pem, "--device-key-id", ddb.device_key[0]]
    secret = {"DEVICE_SECRET_ACCESS_KEY": ddb.device_key[1]}
    # the operator (admin) creates the table; the device gets its own keys, allowed only to write
    r = tool("provision", device + ["--readings", "3", "--interval", "0", "--create-table"] + conn_args(ddb),
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
    again = tool("provision", device + ["--create-table", "--replace"] + conn_args(ddb), ddb.admin_key, env=secret)
    assert "exists already" in again.stdout
    # the secret from a file instead of the environment
    secret_file = tmp_path / "device.secret"
    secret_file.write_text(ddb.device_key[1] + "\n")
    args = [str(tmp_path / "d3")] + device[1:] + ["--device-secret-file", str(secret_file)]
    r = tool("provision", args, None)
    assert r.returncode == 0, r.stderr
    assert "AWS_SECRET_KEY = %r" % ddb.device_key[1] in open(str(tmp_path / "d3" / "config.py")).read()


def test_provision_refuses_to_give_the_device_the_operators_keys(ddb, tmp_path):
    folder = tmp_path / "admin-device"
    args = [str(folder), "--device-id", "d", "--table", "readings", "--ca", ddb.ca_pem, "--create-table"]
    args += conn_args(ddb)
    r = tool("provision", args + ["--device-key-id", ddb.admin_key[0]], ddb.admin_key,
             env={"DEVICE_SECRET_ACCESS_KEY": ddb.admin_key[1]})  # fmt: skip
    line = one_line_error(r)
    assert line.startswith("error: %s is the operator's own access key: " % ddb.admin_key[0]), line
    assert ddb.admin_key[1] not in r.stdout + r.stderr and not folder.exists()
    # no device keys at all: a usage error, not the operator's keys copied
    assert "--device-key-id" in one_line_error(tool("provision", args, ddb.admin_key), 2)
    r = tool("provision", args + ["--device-key-id", ddb.device_key[0]], ddb.admin_key)
    assert "DEVICE_SECRET_ACCESS_KEY" in one_line_error(r, 2) and not folder.exists()


@pytest.mark.parametrize(
    "more, expected",
    [
        (["--region", "eu_west_1"], "--region: AWS_REGION: must be a region name like 'us-east-1', got 'eu_west_1'"),
        (["--device-key-id", "not-a-key"],
         "--device-key-id: AWS_ACCESS_KEY: must be 16-128 letters and digits, like AKIA..."),
        (["--interval", "-5"], "--interval: INTERVAL_S: must be at least 0, got -5"),
        (["--device-id", "d" * 200], "--device-id: DEVICE_ID: longer than 128 characters"),
        (["--table", "a b"],
         "--table: AWS_DYNAMODB_TABLE: must be 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.', got 'a b'"),
    ],
)  # fmt: skip
def test_provision_refuses_what_the_firmware_would_refuse(ddb, tmp_path, more, expected):
    folder = tmp_path / "bad"
    args = [str(folder), "--device-id", "d", "--table", "readings", "--region", "eu-west-1", "--ca", ddb.ca_pem]
    args += ["--device-key-id", ddb.device_key[0]]
    r = tool("provision", args + more, None, env={"DEVICE_SECRET_ACCESS_KEY": ddb.device_key[1]})
    assert one_line_error(r, 2) == "error: " + expected
    assert not folder.exists() and os.listdir(str(tmp_path)) == []  # nothing staged left behind


def test_provision_refuses_a_file_that_is_no_certificate_as_the_ca(ddb, tmp_path):
    not_ca = tmp_path / "ca.json"
    not_ca.write_text('{"deviceId": "hopper"}')
    args = [str(tmp_path / "d"), "--device-id", "d", "--table", "readings", "--ca", str(not_ca), "--iot"]
    r = tool("provision", args + ["--iot-host", "h", "--role-alias", "r", "--cert", ddb.ca_pem, "--key", "k"], None)
    assert one_line_error(r) == "error: --ca: %s is not a certificate (PEM or DER)" % not_ca


def test_provision_keeps_an_existing_device_unless_told_to_replace_it(ddb, tmp_path):
    folder = tmp_path / "d1"
    args = [str(folder), "--device-id", "d1", "--table", "readings", "--region", "eu-west-1", "--ca", ddb.ca_pem]
    args += ["--device-key-id", ddb.device_key[0]]
    env = {"DEVICE_SECRET_ACCESS_KEY": ddb.device_key[1]}
    assert tool("provision", args, None, env=env).returncode == 0
    (folder / "state").mkdir()  # the device's spool: never touched
    before = (folder / "config.py").read_text()
    other = {"DEVICE_SECRET_ACCESS_KEY": "x" * 40}
    r = tool("provision", args + ["--table", "other-table"], None, env=other)
    assert one_line_error(r) == (
        "error: %s holds a device already (config.py): --replace replaces its config and files, or choose another"
        " folder" % folder
    )
    assert (folder / "config.py").read_text() == before
    r = tool("provision", args + ["--table", "other-table", "--replace"], None, env=other)
    assert r.returncode == 0, r.stderr
    config = helpers.folder_config(str(folder))
    assert (config["AWS_SECRET_KEY"], config["AWS_DYNAMODB_TABLE"]) == ("x" * 40, "other-table")
    assert sorted(os.listdir(str(folder))) == ["ca.der", "config.py", "state"]
    assert oct(os.stat(str(folder / "config.py")).st_mode & 0o777) == "0o600"


def test_provision_for_iot_copies_the_device_certificate_in_der(ddb, tmp_path):
    pki = os.path.join(ddb.workdir, "pki")
    cert_pem, _, key_pem, _ = certs.make_client_cert(pki, ddb.ca_pem, os.path.join(pki, "ca.key"), "prov", "thing-9")
    folder = str(tmp_path / "d2")
    r = tool(
        "provision",
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
    lines[9] = '{"deviceId": "import-1", "ts": 1}'  # no seq: DynamoDB would refuse the key
    lines[19] = "not json"
    lines[29] = '{"deviceId": "import-1", "seq": 30, "t": NaN}'
    lines[39] = "[1, 2]"
    r = tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin="\n".join(lines) + "\n")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["56 written, 4 refused"]
    # the refusals on stderr, in the order of their lines
    refusals = r.stderr.splitlines()
    assert [int(re.match(r"line (\d+): refused: ", line).group(1)) for line in refusals] == [10, 20, 30, 40]
    assert refusals[0] == "line 10: refused: no seq (the table's sort key)", refusals
    assert refusals[1].startswith("line 20: refused: not JSON") and refusals[3] == "line 40: refused: not a JSON object"
    assert refusals[2] == "line 30: refused: t: nan cannot be stored as a DynamoDB number"
    seqs = sorted(int(i["seq"]["N"]) for i in ddb.readings("import-1"))
    assert seqs == [i for i in range(1, 61) if i not in (10, 20, 30, 40)]


def test_put_json_keeps_every_digit_as_written(ddb):
    """Seed-style JSON: each number reaches the table as it was written, never rounded through a
    float (json2ddb kept 15 significant digits)."""
    numbers = {"ts": "1733577600.123456", "pi": "3.141592653589793", "sum": "0.30000000000000004",
               "big": "12345678901234567890123456789012345678", "tiny": "-1.5e-130", "n": {"a": ["2.50"]}}  # fmt: skip
    line = '{"deviceId": "exact-1", "seq": 1, "ts": 1733577600.123456, "pi": 3.141592653589793,'
    line += ' "sum": 0.30000000000000004, "big": 12345678901234567890123456789012345678, "tiny": -1.5e-130,'
    line += ' "n": {"a": [2.50]}, "sensorReading": 39}'
    r = tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin=line + "\n")
    assert r.returncode == 0 and r.stdout == "1 written, 0 refused\n", r.stdout + r.stderr
    (item,) = ddb.readings("exact-1")
    assert {k: item[k]["N"] for k in numbers if k != "n"} == {k: v for k, v in numbers.items() if k != "n"}
    assert item["n"] == {"M": {"a": {"L": [{"N": "2.50"}]}}} and item["sensorReading"] == {"N": "39"}


@pytest.mark.parametrize(
    "value, why",
    [
        ("1" * 39, "v: %s has 39 significant digits; DynamoDB keeps 38" % ("1" * 39)),
        ("1e126", "v: 1e126 is out of DynamoDB's range (1E-130 to 9.9E+125)"),
        ("-2E-131", "v: -2E-131 is out of DynamoDB's range (1E-130 to 9.9E+125)"),
    ],
)
def test_put_json_refuses_a_number_aws_would_before_sending_it(ddb, value, why):
    # the local server takes these; AWS refuses them: so does the tool, on the line, by the firmware's rule
    device = "refused-%d" % len(value)
    lines = '{"deviceId": "%s", "seq": 1, "v": %s}\n{"deviceId": "%s", "seq": 2, "v": 1}\n' % (device, value, device)
    r = tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin=lines)
    assert r.returncode == 1 and r.stdout == "1 written, 1 refused\n", r.stdout + r.stderr
    assert r.stderr == "line 1: refused: %s\n" % why
    assert [i["seq"]["N"] for i in ddb.readings(device)] == ["2"]


def test_put_json_never_overwrites_an_item_unless_told(ddb, tmp_path):
    first = '{"deviceId": "keep-1", "seq": 1, "t": 1, "note": "first"}'
    lines = [first, '{"deviceId": "keep-1", "seq": 2, "t": 2}', '{"deviceId": "keep-1", "seq": 1.0, "t": 3}']
    r = tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin="\n".join(lines) + "\n")
    assert r.returncode == 1 and r.stdout == "2 written, 1 refused\n", r.stdout + r.stderr
    assert r.stderr == "line 3: refused: deviceId=keep-1 seq=1.0 repeats line 1's key (--replace to replace it)\n"
    items = ddb.readings("keep-1")
    assert [(i["seq"]["N"], i["t"]["N"], i.get("note")) for i in items] == [
        ("1", "1", {"S": "first"}),
        ("2", "2", None),
    ]
    # again: both keys are in the table now
    path = tmp_path / "again.jsonl"
    path.write_text(lines[0] + "\n" + lines[1] + "\n")
    r = tool("put-json", ["--table", "readings", str(path)] + conn_args(ddb), ddb.admin_key)
    assert r.returncode == 1 and r.stdout == "0 written, 2 refused\n", r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        "line %d: refused: an item with deviceId=keep-1 seq=%d is in the table (--replace to replace it)" % (n, n)
        for n in (1, 2)
    ]
    # --replace: the table's item replaced, a repeat within the input replaces the earlier line's
    lines = ['{"deviceId": "keep-1", "seq": 1, "t": 10}', '{"deviceId": "keep-1", "seq": 3, "t": 30}',
             '{"deviceId": "keep-1", "seq": 3, "t": 31}']  # fmt: skip
    r = tool("put-json", ["--table", "readings", "--replace", "--output", "json", "-"] + conn_args(ddb),
             ddb.admin_key, stdin="\n".join(lines) + "\n")  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout) == {"table": "readings", "written": 2, "refused": [], "replaced": 1}
    assert r.stderr == "line 3: replaces line 2's item (deviceId=keep-1 seq=3)\n"
    items = ddb.readings("keep-1")
    assert [(i["seq"]["N"], i["t"]["N"]) for i in items] == [("1", "10"), ("2", "2"), ("3", "31")]
    assert "note" not in items[0]  # replaced whole, as PutItem does


def test_put_json_in_transactions_refuses_exactly_the_lines_it_must(ddb):
    """250 lines, three of whose keys are in the table already, one not JSON, one too big, one with a
    key of the wrong type: the transactions of 100 put every other line; the refusals come out in line
    order, though DynamoDB names them only when a transaction is answered."""
    device = "bulk-1"
    before = "".join('{"deviceId": "%s", "seq": %d, "t": 0}\n' % (device, s) for s in (50, 150, 249))
    assert tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin=before).returncode == 0
    lines = ['{"deviceId": "%s", "seq": %d, "t": %d.5}' % (device, s, s) for s in range(1, 251)]
    lines[99] = "{not json"
    lines[119] = '{"deviceId": "%s", "seq": 120, "blob": "%s"}' % (device, "x" * 500000)  # over 400 KB
    lines[199] = '{"deviceId": "%s", "seq": "200"}' % device
    r = tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin="\n".join(lines) + "\n")
    assert r.returncode == 1 and r.stdout == "244 written, 6 refused\n", r.stdout + r.stderr[-2000:]
    refusals = r.stderr.splitlines()
    assert [int(line.split(":")[0].split()[1]) for line in refusals] == [50, 100, 120, 150, 200, 249], refusals
    assert (
        refusals[0]
        == "line 50: refused: an item with deviceId=%s seq=50 is in the table (--replace to replace it)" % device
    )
    assert refusals[1].startswith("line 100: refused: not JSON: ")
    assert refusals[2].startswith("line 120: refused: ValidationException (HTTP 400): "), refusals[2]
    assert refusals[4] == "line 200: refused: seq must be a number (the table's sort key)"
    items = {int(i["seq"]["N"]): i for i in ddb.readings(device)}
    assert sorted(items) == [s for s in range(1, 251) if s not in (100, 120, 200)]
    assert [items[s]["t"]["N"] for s in (50, 150, 249)] == ["0", "0", "0"]  # kept as they were
    assert items[51]["t"]["N"] == "51.5"


def test_put_json_input_errors_are_one_line(ddb, tmp_path):
    args = ["--table", "readings"] + conn_args(ddb)
    r = tool("put-json", args + [str(tmp_path / "none.jsonl")], ddb.admin_key)
    assert one_line_error(r) == "error: %s: No such file or directory" % (tmp_path / "none.jsonl")
    latin1 = b'{"deviceId": "latin-1", "seq": 1, "t": 1}\n{"deviceId": "caf\xe9", "seq": 1}\n'
    r = tool("put-json", args + ["-"], ddb.admin_key, stdin=latin1)
    assert r.returncode == 1 and r.stdout == b"1 written, 1 refused\n", r.stdout + r.stderr
    assert r.stderr == b"line 2: refused: not UTF-8 text (byte 18)\n"
    schemeless = ["--table", "readings", "--endpoint", "localhost:%d" % ddb.port, "--region", ddb.region]
    line = one_line_error(tool("put-json", schemeless, ddb.admin_key, stdin="{}\n"), 2)
    assert line == (
        "error: argument --endpoint-url/--endpoint: 'localhost:%d' is not an http(s)://host[:port] URL"
        " (see iotsig put-json --help)" % ddb.port
    )


def test_plot_draws_every_value_of_a_device(ddb, tmp_path):
    ddb.write_config(str(tmp_path / "dev"), device_id="plot-1", readings=12, interval_s=0)
    assert "done: 12 readings delivered" in unixport.run_firmware(str(tmp_path / "dev"), timeout=60).stdout
    png = str(tmp_path / "plot.png")
    r = tool(
        "plot",
        ["--table", "readings", "--device", "plot-1", "--first-seq", "3", "--out", png] + conn_args(ddb),
        ddb.reader_key,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plot-1: 10 readings (seq 3..12)" in r.stdout and "plotted to" in r.stdout
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 10000
    none = tool("plot", ["--table", "readings", "--device", "nobody", "--out", png] + conn_args(ddb), ddb.reader_key)
    assert one_line_error(none) == "error: no readings of nobody in that range" and none.stdout == ""


def test_plot_draws_seed_style_items_without_a_time(ddb, tmp_path):
    # what put-json writes from the project's seed JSON: no ts, so drawn by seq
    lines = "".join('{"deviceId": "hopper", "seq": %d, "sensorReading": %d}\n' % (n, 36 + n) for n in range(1, 6))
    assert tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin=lines).returncode == 0
    png = str(tmp_path / "hopper.png")
    r = tool("plot", ["--table", "readings", "--device", "hopper", "--out", png] + conn_args(ddb), ddb.reader_key)
    assert r.returncode == 0 and r.stdout == "hopper: 5 readings (seq 1..5), 1 values plotted to %s\n" % png, r.stderr
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    svg = str(tmp_path / "hopper.svg")
    r = tool("plot", ["--table", "readings", "--device", "hopper", "--out", svg, "--output", "json"] + conn_args(ddb),
             ddb.reader_key)  # fmt: skip
    assert r.returncode == 0 and json.loads(r.stdout) == {
        "device": "hopper", "readings": 5, "first_seq": 1, "last_seq": 5, "values": ["sensorReading"], "out": svg
    }, r.stdout + r.stderr  # fmt: skip
    assert open(svg).read(5) in ("<?xml", "<svg ")


def test_plot_refuses_an_output_it_cannot_write_before_reading(ddb, tmp_path):
    args = ["--table", "readings", "--device", "hopper"] + conn_args(ddb)
    line = one_line_error(tool("plot", args + ["--out", str(tmp_path / "x.txt")], ddb.reader_key), 2)
    assert line == "error: --out: %s: the name must end in .png, .svg, .pdf" % (tmp_path / "x.txt")
    line = one_line_error(tool("plot", args + ["--out", str(tmp_path / "no" / "x.png")], ddb.reader_key))
    assert line == "error: --out: %s: no such folder" % (tmp_path / "no")
    # a folder no one writes in (root may write in any other: /proc refuses it too)
    line = "".join('{"deviceId": "plot-out", "seq": 1, "t": 1}\n')
    assert tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin=line).returncode == 0
    args[args.index("hopper")] = "plot-out"
    line = one_line_error(tool("plot", args + ["--out", "/proc/readings.png"], ddb.reader_key))
    assert line in (
        "error: --out: /proc: the folder is not writable",
        "error: --out: cannot write /proc/readings.png: No such file or directory",
    )


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
    r = tool("put-json", ["--profile", "ops", "--table", "readings"] + where, None, stdin=line + "\n", env=env)
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "1 written, 0 refused", r.stdout + r.stderr
    assert [i["t"] for i in ddb.readings("profile-1")] == [{"N": "20.5"}]
    env = aws_files(tmp_path, "ops", ddb.reader_key, ddb.region)
    png = str(tmp_path / "p.png")
    r = tool("plot", ["--profile", "ops", "--table", "readings", "--device", "profile-1", "--out", png]
             + where, None, env=env)  # fmt: skip
    assert r.returncode == 0 and "profile-1: 1 readings" in r.stdout, r.stdout + r.stderr


def test_the_device_and_json2ddb_write_the_same_items(ddb):
    """The firmware's own client (as a board sends readings) and the host tool (boto3), one reading
    each way: the items in the table are the same but for deviceId."""

    import iotsv_httpclient as httpclient
    from iotsig.hostclient import dynamodb

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
    r = tool("put-json", ["--table", "readings"] + conn_args(ddb), ddb.admin_key, stdin=lines)
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
    line = one_line_error(tool("plot", args, key), code)
    assert re.match(expected, line), line
    assert key is None or key[1] not in line


def test_json2ddb_says_why_nothing_could_be_written(ddb):
    gone = ["--endpoint", "https://127.0.0.1:%d" % free_port(), "--ca", ddb.ca_pem, "--region", ddb.region]
    r = tool("put-json", ["--table", "readings"] + gone, ddb.admin_key, stdin='{"deviceId": "x", "seq": 1}\n')
    assert re.match(r"error: cannot connect to https://127.0.0.1:\d+: connection refused$", one_line_error(r))
    untrusted = ["--endpoint", ddb.endpoint, "--region", ddb.region]  # no --ca: the system's CAs
    r = tool("put-json", ["--table", "readings"] + untrusted, ddb.admin_key, stdin='{"deviceId": "x", "seq": 1}\n')
    assert one_line_error(r).startswith("error: certificate of %s not trusted (--ca?)" % ddb.endpoint)


def test_provision_writes_nothing_when_the_table_cannot_be_made(ddb, tmp_path):
    folder = tmp_path / "never"
    gone = "127.0.0.1:%d" % free_port()
    args = [str(folder), "--device-id", "d", "--table", "never", "--host", gone, "--ca", ddb.ca_pem, "--create-table"]
    args += ["--device-key-id", ddb.device_key[0]]
    r = tool("provision", args, ddb.admin_key, env={"DEVICE_SECRET_ACCESS_KEY": ddb.device_key[1]})
    assert one_line_error(r) == "error: cannot connect to https://%s: connection refused" % gone
    assert not folder.exists() and r.stdout == ""


def test_readings_that_share_a_time_are_plotted_by_seq_in_plain_numbers(tmp_path):
    """What make run READINGS=20 INTERVAL=0 leaves: 20 readings in the same second. Drawn by seq, every
    axis in plain numbers: no offset (+2.406e7), no 00:00:00 ticks."""
    from iotsig import plot as plot_readings

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


def certs_tool(*args, env=None):
    return helpers.iotsig(["certs"] + [str(a) for a in args], env=env, timeout=60)


def test_certs_adds_hosts_to_the_ca_the_folder_holds(tmp_path):
    from iotsig import certs

    assert certs_tool(tmp_path).returncode == 0
    before = (tmp_path / "ca.der").read_bytes()
    r = certs_tool(tmp_path, "--host", "sensors.lan", "--host", "192.168.1.20")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].endswith("for localhost, 127.0.0.1, sensors.lan, 192.168.1.20")
    assert (tmp_path / "ca.der").read_bytes() == before  # the boards' trust kept
    assert certs.server_hosts(str(tmp_path / "server.pem")) == ["localhost", "sensors.lan", "127.0.0.1", "192.168.1.20"]
    verify = ["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "server.pem")]
    assert subprocess.run(verify, capture_output=True).returncode == 0
    assert certs_tool(tmp_path, "--replace").returncode == 0 and (tmp_path / "ca.der").read_bytes() != before
    assert sorted(os.listdir(str(tmp_path))) == ["ca.der", "ca.key", "ca.pem", "ca.srl", "server.key", "server.pem"]


@pytest.mark.parametrize("host", ["bad host name!", "-x.lan", "a..b", "1.2.3.999", ""])
def test_certs_refuses_a_host_that_is_no_name_or_address(tmp_path, host):
    r = certs_tool(tmp_path / "pki", "--host", "localhost", "--host=" + host)
    assert one_line_error(r, 2) == "error: --host: %r is neither a DNS name nor an IP address" % host
    assert os.listdir(str(tmp_path)) == []


def test_certs_leaves_no_half_written_folder(tmp_path):
    # an openssl that fails to sign: the CA was made, the server certificate not
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "openssl").write_text('#!/bin/sh\n[ "$1 $2" = "x509 -req" ] && { echo "unable to sign" >&2; exit 1; }\n'
                                  'exec %s "$@"\n' % shutil.which("openssl"))  # fmt: skip
    (fake / "openssl").chmod(0o755)
    env = dict(os.environ, PATH="%s:%s" % (fake, os.environ["PATH"]))
    r = certs_tool(tmp_path / "pki", env=env)
    assert one_line_error(r) == "error: openssl x509 failed: unable to sign"
    assert sorted(os.listdir(str(tmp_path))) == ["bin"]
    assert certs_tool(tmp_path / "pki").returncode == 0  # the corrected run is not refused
    # and an existing CA is left as it was
    before = {name: (tmp_path / "pki" / name).read_bytes() for name in os.listdir(str(tmp_path / "pki"))}
    r = certs_tool(tmp_path / "pki", "--host", "sensors.lan", env=env)
    assert one_line_error(r) == "error: openssl x509 failed: unable to sign"
    assert {name: (tmp_path / "pki" / name).read_bytes() for name in os.listdir(str(tmp_path / "pki"))} == before
    assert sorted(os.listdir(str(tmp_path))) == ["bin", "pki"]


def test_provision_reads_the_secret_from_stdin_and_refuses_one_not_utf8(ddb, tmp_path):
    args = [str(tmp_path / "d"), "--device-id", "d", "--table", "readings", "--region", "eu-west-1"]
    args += ["--ca", ddb.ca_pem, "--device-key-id", ddb.device_key[0], "--device-secret-file"]
    r = tool("provision", args + ["-"], None, stdin=ddb.device_key[1] + "\n")
    assert r.returncode == 0, r.stderr
    assert helpers.folder_config(str(tmp_path / "d"))["AWS_SECRET_KEY"] == ddb.device_key[1]
    latin1 = tmp_path / "secret.txt"
    latin1.write_bytes(b"caf\xe9" * 10)
    r = tool("provision", [str(tmp_path / "e")] + args[1:] + [str(latin1)], None)
    assert one_line_error(r) == "error: --device-secret-file: %s is not UTF-8 text" % latin1


@pytest.mark.parametrize(
    "words",
    [["put-json"], ["plot"], ["provision", "f"], ["release", "publish", "s3://b/p"], ["presign", "s3://b/k"]],
)
def test_an_endpoint_without_a_scheme_is_one_usage_line(words):
    r = helpers.iotsig(words + ["--endpoint", "localhost:8000"])
    assert r.returncode == 2 and r.stderr == (
        "error: argument --endpoint-url/--endpoint: 'localhost:8000' is not an http(s)://host[:port] URL"
        " (see iotsig %s --help)\n" % " ".join(w for w in words if w in ("release", "publish") or w == words[0])
    ), r.stderr
