# What the host-side tests share (the portable tests share tests/portable/portable.py).
import datetime
import os
import subprocess
import sys
from urllib.parse import quote

from hypothesis import strategies as st

import layout
import unixport
from iotsig import certs
from local.localddb import free_port
from stub_http import StubServer

ROOT = layout.ROOT
PORTABLE = os.path.join(ROOT, "tests", "portable")
TOOLS = os.path.join(ROOT, "tools")


def iotsig(args, env=None, stdin=None, timeout=120, **kw):
    """`iotsig <args>` as the command installed by make setup runs it (its package from tools/),
    with `env` as its whole environment (default: this one)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = TOOLS
    return subprocess.run([sys.executable, "-m", "iotsig"] + list(args), env=env, input=stdin, capture_output=True,
                          text=not isinstance(stdin, bytes), timeout=timeout, **kw)  # fmt: skip


def portable_path():
    """The import path of the portable tests on MicroPython: every firmware folder (the ESP32
    board layer runs there against fakes) and the tests' own."""
    folders = []
    for board in layout.BOARD_NAMES:
        folders += [f for f in layout.source_path(board) if f not in folders and f != layout.FIRMWARE]
    return folders + [layout.FIRMWARE, PORTABLE]


def make_pki(folder):
    """A local CA with a server certificate for localhost and 127.0.0.1 (and one for another
    name), and an unrelated CA, in folder: their paths."""
    ca_pem, ca_der, ca_key = certs.make_ca(folder)
    server_pem, server_key = certs.make_server_cert(folder, ca_pem, ca_key)
    other_pem, other_der, _ = certs.make_ca(folder, "other", "Some Other CA")
    wrong_pem, wrong_key = certs.make_server_cert(folder, ca_pem, ca_key, "wrongname", ("wrong.example",))
    return {
        "ca_pem": ca_pem,
        "ca_der": ca_der,
        "server_pem": server_pem,
        "server_key": server_key,
        "other_der": other_der,
        "wrongname_pem": wrong_pem,
        "wrongname_key": wrong_key,
        "folder": folder,
    }


def stub_servers(pki, scratch):
    """The scripted HTTP and HTTPS servers the portable tests talk to, certificates from pki
    (make_pki's): (the environment that tells the tests where they are, the servers to close)."""
    https = StubServer(pki["server_pem"], pki["server_key"])
    http = StubServer()
    wrong_name = StubServer(pki["wrongname_pem"], pki["wrongname_key"])
    env = {
        "SCRATCH_DIR": scratch,
        "STUB_WRONGNAME_PORT": str(wrong_name.port),
        "STUB_HTTPS_PORT": str(https.port),
        "STUB_HTTP_PORT": str(http.port),
        "STUB_CLOSED_PORT": str(free_port()),  # nothing listens there
        "STUB_CA_DER": pki["ca_der"],
        "STUB_OTHER_CA_DER": pki["other_der"],
    }
    return env, (https, http, wrong_name)


def run_portable(script, args=(), env=None, code="source", timeout=None):
    """A script of tests/portable on MicroPython (code="image": the 32-bit interpreter of make
    image) with the firmware's source and the portable tests on the import path; timeout
    PORTABLE_TIMEOUT_S (120 s: make fuzz's long runs raise it)."""
    timeout = timeout or int(os.getenv("PORTABLE_TIMEOUT_S") or "120")
    return unixport.run([os.path.join(PORTABLE, script)] + list(args), portable_path(), code=code, env=env,
                        timeout=timeout)  # fmt: skip


def folder_config(folder):
    """The names config.py in a device folder sets."""
    config = {}
    with open(os.path.join(folder, "config.py")) as f:
        exec(f.read(), config)
    return config


def folder_settings(folder):
    """(folder_config(folder), the firmware's validated settings of it), read in the folder as the
    board reads it (paths in config.py are relative to it)."""
    from iotsv_settings import load

    config = folder_config(folder)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return config, load(type("Cfg", (), config))
    finally:
        os.chdir(cwd)


def examples(strategy, n):
    """n values drawn by hypothesis from strategy, for a batch that MicroPython runs in one go."""
    from hypothesis import given, settings

    out = []

    @settings(max_examples=n, deadline=None, database=None)
    @given(strategy)
    def collect(value):
        out.append(value)

    collect()
    return out


# -- the parts of a request the SigV4 differential tests draw (sign and presign against botocore) --
# Queries are percent-encoded the way botocore's own serializer builds them (quote(x, safe="-_.~")),
# reserved and non-ASCII characters included.
TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019-_.~ !$&'()*+,;=:@/?#[]%\"<>\\^`{|}") + ["é", "ሴ", "€", "\U0001f600"]),
    max_size=8,
)
SEGMENT = st.one_of(
    st.sampled_from(["", ".", "..", "a", "ሴ", "example space", "$delete", "%2F", "50%"]),
    TEXT.map(lambda s: quote(s, safe="")),
    st.text(alphabet="abcXYZ09-_.~!$'()*+,;=:@ é€", max_size=6),
)
PATH = st.lists(SEGMENT, max_size=6).map(lambda segs: "/" + "/".join(segs))
PAIR = st.tuples(TEXT, st.one_of(st.none(), TEXT))
QUERY = st.lists(PAIR, max_size=5).map(
    lambda pairs: "&".join(quote(k, safe="-_.~") + ("" if v is None else "=" + quote(v, safe="-_.~")) for k, v in pairs)
)
NAME = st.one_of(
    st.sampled_from(
        [
            "Content-Type",
            "X-Amz-Target",
            "my-header",
            "My-Header",
            "User-Agent",
            "Connection",
            "Expect",
            "Transfer-Encoding",
            "X-Amzn-Trace-Id",
            "traceparent",
            "Content-Length",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12).filter(
        lambda n: (
            n.lower()
            not in ("authorization", "x-amz-date", "x-amz-security-token", "date", "host", "x-amz-content-sha256")
        )
    ),
)
# Whitespace CPython's str.split() knows and MicroPython's does not (separators, no-break and wide
# spaces): botocore squashes it, so the signer must on both interpreters.
ODD_SPACE = "\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2003\u2028\u202f\u3000\x0b\x0c"
VALUE = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    st.lists(st.text(alphabet="ab c\t", max_size=6), min_size=2, max_size=3).map("\n  ".join),
    st.text(alphabet=st.sampled_from(list("ab é€\t") + list(ODD_SPACE)), max_size=12),
)
TOKEN = st.one_of(st.none(), st.text(alphabet="ABCabc0123+/=", min_size=1, max_size=60))
INSTANT = st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 12, 31))
