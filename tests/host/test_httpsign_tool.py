# The host tool that signs and verifies requests: round trips for each scheme, curl output,
# tampering caught, the secret never printed.
import base64
import os
import shlex

import pytest

import helpers

SECRET = base64.b64encode(b"integration-test-secret-0123456789").decode()
URL = "https://api.example.com/pts/v2/payments?x=1"


def tool(*args, stdin=None):
    env = dict(os.environ, HTTPSIG_SECRET_B64=SECRET)
    return helpers.iotsig(["httpsign"] + list(args), env=env, stdin=stdin)


def headers_of(out):
    return [a for line in out.splitlines() for a in ("-H", line)]


@pytest.mark.parametrize("scheme", ["cavage", "cybersource", "rfc9421"])
def test_sign_then_verify(scheme, tmp_path):
    body = tmp_path / "body.json"
    body.write_bytes(b'{"amount": "10.00"}')
    extra = ["--merchant-id", "testmerchant"] if scheme == "cybersource" else []
    signed = tool(
        "sign",
        "--scheme",
        scheme,
        "--url",
        URL,
        "--key-id",
        "kid-1",
        "--body-file",
        str(body),
        "-H",
        "Content-Type: application/json",
        *extra,
    )
    assert signed.returncode == 0, signed.stderr
    assert SECRET not in signed.stdout
    h = headers_of(signed.stdout)
    ok = tool("verify", "--scheme", scheme, "--url", URL, "--body-file", str(body), *h)
    assert ok.returncode == 0 and ok.stdout.startswith("verifies: "), ok.stdout + ok.stderr
    body.write_bytes(b'{"amount": "99.00"}')
    bad = tool("verify", "--scheme", scheme, "--url", URL, "--body-file", str(body), *h)
    assert bad.returncode == 1 and bad.stdout.startswith("does not verify: "), bad.stdout
    other = tool("verify", "--scheme", scheme, "--url", URL.replace("x=1", "x=2"), *h)
    assert other.returncode == 1


def test_curl_command_carries_the_signed_headers(tmp_path):
    body = tmp_path / "b.json"
    body.write_bytes(b"{}")
    out = tool("sign", "--scheme", "rfc9421", "--url", URL, "--key-id", "k", "--body-file", str(body), "--curl").stdout
    argv = shlex.split(out)
    assert argv[:4] == ["curl", "-X", "POST", URL] and argv[-2:] == ["--data-binary", "@" + str(body)]
    sent = [argv[i + 1] for i, a in enumerate(argv) if a == "-H"]
    assert any(h.startswith("Signature-Input: sig1=(") for h in sent)
    assert any(h.startswith("Content-Digest: sha-256=:") for h in sent)


def test_bad_secret_is_refused_without_echo():
    args = ["httpsign", "sign", "--scheme", "cavage", "--url", URL, "--key-id", "k", "--secret-b64", "not*base64"]
    r = helpers.iotsig(args)
    assert r.returncode != 0 and "not*base64" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    "secret, why",
    [
        (None, "give the secret"),
        ("not*base64", "not valid base64"),
        (base64.b64encode(b"five!").decode(), "shorter than 16 bytes"),  # the firmware refuses it too
    ],
)
def test_a_secret_the_firmware_would_refuse_is_refused_alike_exit_2(secret, why):
    env = dict(os.environ)
    env.pop("HTTPSIG_SECRET_B64", None)
    args = ["httpsign", "sign", "--scheme", "cavage", "--url", URL, "--key-id", "k"]
    r = helpers.iotsig(args + (["--secret-b64", secret] if secret else []), env=env)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and why in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and (not secret or secret not in r.stdout + r.stderr)


def test_the_body_from_standard_input_and_a_missing_body_file(tmp_path):
    base = ["sign", "--scheme", "rfc9421", "--url", URL, "--key-id", "k", "--created", "1700000000"]
    body = tmp_path / "body.json"
    body.write_bytes(b'{"amount": "10.00"}')
    from_file = tool(*base, "--body-file", str(body))
    from_stdin = tool(*base, "--body-file", "-", stdin='{"amount": "10.00"}')
    assert from_file.returncode == 0 and from_stdin.stdout == from_file.stdout, from_stdin.stderr
    r = tool(*base, "--body-file", str(tmp_path / "none.json"))
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "error: --body-file: cannot read %s: No such file or directory\n" % (tmp_path / "none.json")
