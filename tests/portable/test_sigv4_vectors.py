# Every header-signing case of both AWS SigV4 suites: canonical request, string to sign and
# Authorization header, on CPython (pytest) and MicroPython (mprunner) alike.
import hashlib
from binascii import hexlify

import iotsv_sigv4 as sigv4
from sigv4_vectors import (
    ACCESS_KEY,
    AMZ_DATE,
    REGION,
    SECRET_KEY,
    SERVICE,
    crt_case,
    crt_cases,
    legacy_case,
    legacy_cases,
)


def check(case):
    """Empty string when the case passes, else what differs."""
    method, path, query, headers, body = case["request"]
    headers = list(headers)
    if case["sign_body"]:
        headers.append(("x-amz-content-sha256", hexlify(hashlib.sha256(body).digest()).decode()))
    out = sigv4.sign(
        method,
        path,
        query,
        headers,
        body,
        ACCESS_KEY,
        SECRET_KEY,
        REGION,
        SERVICE,
        AMZ_DATE,
        session_token=case["token"],
        s3=not case["normalize"],
    )
    lines = sigv4.canonical_request_lines(
        method, path, query, out[:-1], sigv4.payload_hash(out, body), not case["normalize"]
    )
    creq, _ = sigv4.canonical_request(
        method, path, query, out[:-1], sigv4.payload_hash(out, body), not case["normalize"]
    )
    assert sigv4.canonical_request_hash(lines) == hexlify(hashlib.sha256(creq).digest())
    problems = []
    if creq.decode() != case["creq"]:
        problems.append("canonical request:\n%s\n--- expected:\n%s" % (creq.decode(), case["creq"]))
    scope = sigv4.credential_scope(AMZ_DATE, REGION, SERVICE)
    sts = sigv4.string_to_sign(AMZ_DATE, scope, sigv4.canonical_request_hash(lines)).decode()
    if sts != case["sts"]:
        problems.append("string to sign:\n%s\n--- expected:\n%s" % (sts, case["sts"]))
    authz = [v for n, v in out if n == "Authorization"]
    if authz != [case["authz"]]:
        problems.append("Authorization: %s\n--- expected: %s" % (authz, case["authz"]))
    if "signature" in case and not authz[0].endswith("Signature=" + case["signature"]):
        problems.append("signature differs from header-signature.txt")
    return "\n".join(problems)


def _run(cases, load, expected_count):
    failures = []
    for name, folder in cases:
        problem = check(load(folder))
        if problem:
            failures.append("%s:\n%s" % (name, problem))
    assert len(cases) == expected_count, "found %d cases" % len(cases)
    assert not failures, "\n\n".join(failures)


def test_aws_sigv4_testsuite_all_34_cases():
    _run(legacy_cases(), legacy_case, 34)


def test_aws_c_auth_v4_all_38_cases():
    _run(crt_cases(), crt_case, 38)
