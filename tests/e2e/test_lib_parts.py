# Each library part on its own, as a MicroPython user gets it: installed alone into an empty folder
# the way mip installs it (its package.json's files, then its deps' the same way), and its
# README's example run from that folder and nothing else: on the stock 64-bit MicroPython (only
# .frozen and the folder on MICROPYPATH) and on CPython (the folder and the standard library).
# The examples that talk to a server get a local one, through the settings they name at the top.
import os
import re
import subprocess
import sys

import pytest

import layout
import unixport
from local.localddb import LocalDynamoDB
from local.locals3 import LocalS3
from stub_http import StubServer

PARTS = sorted(layout.lib_parts())
INTERPRETERS = ("micropython", "cpython")


def readme(part):
    with open(os.path.join(layout.LIB, part, "README.md")) as f:
        return f.read()


def example(part):
    """The README's example (its first python block) and the output it shows (the text block
    after it, with prose between them at most, if any)."""
    text = readme(part)
    code = re.search(r"^```python\n(.*?)^```\n", text, re.M | re.S)
    assert code, "%s/README.md: no ```python example" % part
    shown = re.match(r"(?:(?!```)[^\n]*\n)*?```text\n(.*?)^```\n", text[code.end() :], re.M | re.S)
    return code.group(1), shown.group(1) if shown else None


def with_settings(code, settings):
    """The example with the values of its settings lines (NAME = ... or NAME, NAME = ..., before
    any other code) replaced by the test's: each setting must be there."""
    found = set()

    def replace(m):
        names = [n.strip() for n in m.group(1).split(",")]
        if not set(names) <= set(settings):
            return m.group(0)
        found.update(names)
        values = ", ".join(repr(settings[n]) for n in names)
        return "%s = %s%s" % (m.group(1), values, "  # set by the test")

    code = re.sub(r"^([A-Z_]+(?:, [A-Z_]+)*) = [^\n]*$", replace, code, flags=re.M)
    assert found == set(settings), "the example does not name %s" % sorted(set(settings) - found)
    return code


def install(part, target):
    """The part installed alone into an empty folder; the files there."""
    os.makedirs(target)
    files = layout.install(part, target)
    assert sorted(os.listdir(target)) == sorted(set(files))
    return set(files)


def run(interpreter, folder, code, cwd):
    script = os.path.join(cwd, "example.py")
    with open(script, "w") as f:
        f.write(code)
    if interpreter == "micropython":
        env = dict(os.environ, MICROPYPATH=".frozen:" + folder)
        args = [unixport.interpreter("source"), script]
    else:  # -I -S: no site-packages, no PYTHONPATH, no script folder of ours: the folder and the stdlib
        env = dict(os.environ)
        args = [sys.executable, "-I", "-S", "-c", "import sys; sys.path.insert(0, %r); exec(open(%r).read())"]
        args[-1] = args[-1] % (folder, script)
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def servers(local_ca, tmp_path_factory):
    """A TLS server for the HTTP client, a local DynamoDB and a local S3 (moto, signatures checked)."""
    stub = StubServer(local_ca["server_pem"], local_ca["server_key"])
    ddb = LocalDynamoDB(str(tmp_path_factory.mktemp("parts-ddb"))).start().provision()
    s3 = LocalS3(str(tmp_path_factory.mktemp("parts-s3"))).start().provision()
    try:
        yield {"stub": stub, "ddb": ddb, "s3": s3, "ca_der": local_ca["ca_der"]}
    finally:
        stub.close()
        ddb.stop()
        s3.stop()


def settings_for(part, servers):
    """The values of the settings lines of a part's example here: a local server's (none offline)."""
    if part == "iotsv-httpclient":
        return {"HOST": "localhost", "PORT": servers["stub"].port, "PATH": "/len", "CA_FILE": servers["ca_der"]}
    if part in ("iotsv-dynamodb", "iotsv-s3"):  # moto: DynamoDB's table or S3's bucket, a key allowed it
        local = servers["ddb" if part == "iotsv-dynamodb" else "s3"]
        where = {"TABLE": local.table} if part == "iotsv-dynamodb" else {"BUCKET": local.bucket}
        key_id, secret = local.device_key
        return dict(
            where,
            HOST="localhost",
            PORT=local.port,
            REGION=local.region,
            KEY_ID=key_id,
            SECRET=secret,
            CA_FILE=local.ca_der,
        )
    return {}


# What each part must not bring: the point of parts (SigV4 alone has no HTTP client, no DynamoDB).
NOT_WITH = {
    "iotsv-transient": ("iotsv_sigv4", "iotsv_httpclient", "iotsv_utc"),
    "iotsv-core": ("iotsv_sigv4", "iotsv_httpclient"),
    "iotsv-sigv4": ("iotsv_httpclient", "iotsv_dynamodb", "iotsv_s3", "iotsv_httpsign"),
    "iotsv-httpclient": ("iotsv_sigv4", "iotsv_dynamodb", "iotsv_utc"),
    "iotsv-dynamodb": ("iotsv_s3", "iotsv_httpsign"),
    "iotsv-s3": ("iotsv_dynamodb", "iotsv_httpsign"),
    "iotsv-httpsign": ("iotsv_sigv4", "iotsv_httpclient", "iotsv_httpverify", "iotsv_structparse"),
    "iotsv-httpverify": ("iotsv_sigv4", "iotsv_httpclient"),
    "iotsv-sha512": ("iotsv_ed25519", "iotsv_utc"),
    "iotsv-ed25519": ("iotsv_utc", "iotsv_httpclient"),
}


def test_every_part_is_checked_here():
    assert sorted(NOT_WITH) == PARTS


@pytest.mark.parametrize("part", PARTS)
def test_a_part_installs_alone_with_what_it_needs(part, tmp_path):
    files = install(part, str(tmp_path / "lib"))
    wanted = {m + ".py" for p in [part] + requires_all(part) for m in layout.manifest(p).own}
    assert files == wanted
    assert not {m + ".py" for m in NOT_WITH[part]} & files


def requires_all(part):
    found, todo = [], list(layout.manifest(part).requires)
    while todo:
        p = todo.pop(0)
        if p not in found:
            found.append(p)
            todo += layout.manifest(p).requires
    return found


@pytest.mark.parametrize("part", PARTS)
def test_a_part_has_a_short_readme(part):
    text = readme(part)
    assert text.startswith("# %s: " % part), "the title names the part"
    install_line = "mpremote mip install " + layout.dep_url(os.path.join(layout.LIB, part))
    assert install_line in text, install_line
    code, _ = example(part)
    lines = [line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) <= 12, "a short example: %d lines" % len(lines)
    assert "\n## Limits\n" in text


@pytest.mark.parametrize("interpreter", INTERPRETERS)
@pytest.mark.parametrize("part", PARTS)
def test_the_readme_example_runs_from_the_part_alone(part, interpreter, servers, tmp_path):
    folder = str(tmp_path / "lib")
    install(part, folder)
    code, shown = example(part)
    settings = settings_for(part, servers)
    out = run(interpreter, folder, with_settings(code, settings), str(tmp_path))
    if part == "iotsv-httpclient":
        assert out == "200 5 hello\n"  # the stub's /len
    else:
        assert shown is not None, "%s/README.md: the example's output, in a ```text block after it" % part
        assert out == shown


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_examples_see_only_the_part(interpreter, tmp_path):
    """The runs above import from the part's folder and the interpreter's own: nothing of the
    project (firmware/, tests/, tools/) nor the folder they run in."""
    code = "import sys\nprint([p for p in sys.path if p in ('', '.') or %r in p])\n" % layout.ROOT
    assert run(interpreter, str(tmp_path / "lib"), code, str(tmp_path)) == "[]\n"
