# The host manual (tools/iotsig/README.md): every `sh` and `bash` block runs as written, in order, in one shell
# in an empty folder, with iotsig on the PATH as make setup puts it there; what the blocks make is
# checked. Its verb table lists every verb of the command.
import os
import re
import stat
import subprocess
import sys

import helpers
from iotsig import cli

MANUAL = os.path.join(helpers.TOOLS, "iotsig", "README.md")


def blocks():
    """The shell blocks, in order (`bash` for those with shell control flow, which test_docs, reading
    `sh` blocks command by command, does not know)."""
    with open(MANUAL) as f:
        return [block for _, block in re.findall(r"^```(sh|bash)\n(.*?)^```$", f.read(), re.M | re.S)]


def test_the_manual_s_commands_run_as_written(tmp_path):
    shim = tmp_path / "bin" / "iotsig"  # what pip's console script does, from this checkout
    shim.parent.mkdir()
    shim.write_text('#!/bin/sh\nPYTHONPATH=%s exec %s -m iotsig "$@"\n' % (helpers.TOOLS, sys.executable))
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    work = tmp_path / "work"
    work.mkdir()
    script = "set -eu\n" + "\n".join(blocks())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PATH="%s:%s" % (shim.parent, os.environ["PATH"]), AWS_EC2_METADATA_DISABLED="true")
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)  # never this machine's
    r = subprocess.run(["bash", "-c", script], cwd=str(work), env=env, capture_output=True, text=True,
                               timeout=240)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "error:" not in r.stderr, r.stderr
    demo = work / "demo"
    assert sorted(os.listdir(str(demo / "d1"))) == ["ca.der", "config.py"]
    assert "for localhost, 127.0.0.1, sensors.lan" in r.stdout
    assert "2 written, 0 refused" in r.stdout and "hopper: 2 readings (seq 1..2), 1 values plotted" in r.stdout
    assert (demo / "hopper.png").read_bytes()[:4] == b"\x89PNG"
    assert re.search(r'^UPDATE_PUBLIC_KEY = "[0-9a-f]{64}"$', r.stdout, re.M)
    assert "https://firmware.s3.eu-west-1.amazonaws.com/releases/app.bin?X-Amz-Algorithm=" in r.stdout
    assert re.search(r"^curl -X POST https://api.example.com/v1/readings .*Signature-Input", r.stdout, re.M)
    assert "per device per month" in r.stdout


def test_the_manual_s_table_lists_every_verb():
    with open(MANUAL) as f:
        listed = re.findall(r"^\| `iotsig ([a-z-]+)", f.read(), re.M)
    assert listed == list(cli.VERBS)
