# A board only signs: importing httpsign (or the HTTP sink, its only user on a board) and signing
# with every scheme must not load the verifiers, the RFC 8941 parser or SHA-512, on either
# MicroPython interpreter and on CPython. Each case runs in a fresh process: a test run's own
# imports would hide what one import pulls in.
import subprocess
import sys

import pytest

import helpers
import layout
import unixport

VERIFYING_ONLY = ("iotsv_httpverify", "iotsv_structparse", "iotsv_sha512")

PROBE = """
import sys
%s
print(" ".join(m for m in %r if m in sys.modules))
"""

SIGN_ALL = """
import iotsv_httpsign as httpsign
h = [("Host", "h"), ("Date", "Sun, 05 Jan 2014 21:31:40 GMT"), ("Digest", httpsign.digest(b"{}"))]
h.append(("Content-Digest", httpsign.content_digest(b"{}")))
httpsign.sign_cavage("POST", "/r", h, "k", b"key", ["(request-target)", "host", "date", "digest"])
httpsign.sign_cybersource("POST", "h", "/r", b"{}", "m", "k", "c2VjcmV0", date=h[1][1])
httpsign.sign_rfc9421("POST", "https://h/r", h, ["@method", "@target-uri", "content-digest"], "k", b"key", created=1)
"""

CASES = {
    "import httpsign": ("import iotsv_httpsign", ""),
    "import httpsink": ("import iotsv_httpsink", ""),
    "sign every scheme": (SIGN_ALL, ""),
    "a sha-512 Content-Digest": (
        'import iotsv_httpsign as httpsign; httpsign.content_digest(b"", ("sha-512",))',
        "iotsv_sha512",
    ),
    "import httpverify": ("import iotsv_httpverify", "iotsv_httpverify iotsv_structparse"),
}
RUNNERS = ("micropython-64bit", "micropython-32bit", "cpython")


def loaded(runner, code):
    """Which of VERIFYING_ONLY are in sys.modules after code, in a fresh interpreter."""
    script = PROBE % (code, VERIFYING_ONLY)
    if runner == "cpython":
        path = [p for p in helpers.portable_path() if p != helpers.PORTABLE]
        result = subprocess.run(
            [sys.executable, "-c", "import sys; sys.path[:0] = %r\n%s" % (path, script)],
            capture_output=True,
            text=True,
            cwd=layout.ROOT,
        )
    else:
        code_name = "image" if runner.endswith("32bit") else "source"
        result = unixport.run(["-c", script], helpers.portable_path(), code=code_name, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("runner", RUNNERS)
def test_signing_loads_no_verifying_code(runner, case):
    code, expected = CASES[case]
    assert loaded(runner, code) == expected


def test_the_heap_after_import_httpsign_stays_small():
    """16.5 KB on the 64-bit port from source (35.3 KB when httpsign held the verifiers too)."""
    script = (
        "import gc; gc.collect(); a = gc.mem_alloc(); import iotsv_httpsign; gc.collect(); print(gc.mem_alloc() - a)"
    )
    result = unixport.run(["-c", script], layout.source_path("lib"), code="source", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout) < 22 * 1024
