# Differential test: sigv4.presign against botocore's query signers (SigV4QueryAuth, and
# S3SigV4QueryAuth as boto3's generate_presigned_url uses it) on random requests: the same
# signature and the same query pairs, on CPython and on MicroPython (the 64-bit port and the image).
import datetime
import json
from unittest import mock
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import botocore.config
import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers
import iotsv_sigv4 as sigv4
import unixport
from helpers import INSTANT, NAME, PATH, TEXT, TOKEN, VALUE

HOST = "service.eu-west-1.amazonaws.com"
S3_HOST = "examplebucket.s3.amazonaws.com"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# S3 keys as botocore serializes them into the path: every byte but unreserved ones and "/" escaped
S3_PATH = st.lists(TEXT, min_size=1, max_size=4).map(lambda segs: "/" + quote("/".join(segs), safe="/~"))
# botocore's presigners rebuild the query through a dict (parse_qs): names are unique and not
# empty (parse_qs drops an empty pair, "a&&b", that sign() keeps as "=")
NAMES = TEXT.filter(bool)
QUERY = st.lists(st.tuples(NAMES, st.one_of(st.none(), TEXT)), max_size=4, unique_by=lambda p: p[0]).map(
    lambda pairs: "&".join(quote(k, safe="-_.~") + ("" if v is None else "=" + quote(v, safe="-_.~")) for k, v in pairs)
)
HEADERS = st.lists(st.tuples(NAME, VALUE), max_size=4)


@st.composite
def requests(draw):
    s3 = draw(st.booleans())
    host = S3_HOST if s3 else HOST
    return {
        "s3": s3,
        "method": draw(st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "POST", "get"])),
        "path": draw(S3_PATH if s3 else PATH),
        "query": draw(QUERY),
        "headers": draw(st.permutations([("Host", host)] + draw(HEADERS))),
        "access_key": draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=20)),
        "secret_key": draw(
            st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
        ),
        "region": draw(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"])),
        "service": "s3" if s3 else draw(st.sampled_from(["service", "execute-api", "iotdevicegateway"])),
        "amz_date": draw(INSTANT).strftime("%Y%m%dT%H%M%SZ"),
        "expires_s": draw(st.one_of(st.integers(1, 604800), st.sampled_from([1, 3600, 604800]))),
        "token": draw(TOKEN),
    }


def botocore_url(case):
    host = S3_HOST if case["s3"] else HOST
    url = "https://" + host + case["path"] + ("?" + case["query"] if case["query"] else "")
    request = AWSRequest(method=case["method"], url=url)
    for name, value in case["headers"]:
        request.headers[name] = value
    now = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")
    creds = Credentials(case["access_key"], case["secret_key"], case["token"])
    auth = (S3SigV4QueryAuth if case["s3"] else SigV4QueryAuth)(
        creds, case["service"], case["region"], expires=case["expires_s"]
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        auth.add_auth(request)
    return request.url


def our_target(case):
    return sigv4.presign(
        case["method"],
        case["path"],
        case["query"],
        case["headers"],
        case["access_key"],
        case["secret_key"],
        case["region"],
        case["service"],
        case["amz_date"],
        case["expires_s"],
        session_token=case["token"],
        s3=case["s3"],
        payload_hash="UNSIGNED-PAYLOAD" if case["s3"] else EMPTY_SHA256,
    )


def agree(case, target, theirs):
    """Same signature, same query pairs (botocore orders the X-Amz-* ones otherwise), our path as given."""
    ours_q = target.split("?", 1)[1]
    theirs_q = urlsplit(theirs).query
    assert target.startswith(case["path"] + "?"), target
    sig = [v for n, v in parse_qsl(ours_q) if n == "X-Amz-Signature"]
    assert sig == [v for n, v in parse_qsl(theirs_q) if n == "X-Amz-Signature"], (target, theirs)
    pairs = sorted(parse_qsl(ours_q, keep_blank_values=True))
    assert pairs == sorted(parse_qsl(theirs_q, keep_blank_values=True)), (target, theirs)
    return sig[0]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_cpython_presign_agrees_with_botocore(case):
    agree(case, our_target(case), botocore_url(case))


# Runs the cases of a JSON file (argv[1]) through sigv4.presign on MicroPython: one target a line.
SCRIPT = (
    """
import json, sys
import iotsv_sigv4 as sigv4
with open(sys.argv[1]) as f:
    cases = json.load(f)
for c in cases:
    print(sigv4.presign(c["method"], c["path"], c["query"], [tuple(h) for h in c["headers"]],
        c["access_key"], c["secret_key"], c["region"], c["service"], c["amz_date"], c["expires_s"],
        session_token=c["token"], s3=c["s3"], payload_hash="UNSIGNED-PAYLOAD" if c["s3"] else %r))
"""
    % EMPTY_SHA256
)


def _on_micropython(tmp_path, code, n):
    cases = helpers.examples(requests(), n)
    expected = [botocore_url(c) for c in cases]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    script = tmp_path / "presign_cases.py"
    script.write_text(SCRIPT)
    result = unixport.run([str(script), str(path)], helpers.portable_path(), code=code)
    assert result.returncode == 0, result.stderr
    got = result.stdout.splitlines()
    assert len(got) == len(cases) >= n // 2
    for case, target, theirs in zip(cases, got, expected):
        agree(case, target, theirs)
    return len(cases)


def test_micropython_presign_agrees_with_botocore(tmp_path):
    _on_micropython(tmp_path, "source", 300)


@pytest.mark.image
def test_micropython_image_presign_agrees_with_botocore(tmp_path):
    _on_micropython(tmp_path, "image", 150)


def test_presigned_url_is_boto3s_generate_presigned_url():
    """boto3's own presigner (s3v4, path-style), at a mocked time: the very same query pairs."""
    client = boto3.client(
        "s3",
        region_name="eu-west-1",
        endpoint_url="https://s3.eu-west-1.amazonaws.com",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        aws_session_token="FQoGZXIvYXdzE//token+=",
        config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    now = datetime.datetime(2026, 11, 23, 5, 39, 23)
    for method, op in (("GET", "get_object"), ("PUT", "put_object")):
        with mock.patch("botocore.auth.get_current_datetime", return_value=now):
            theirs = client.generate_presigned_url(
                op, Params={"Bucket": "firmware", "Key": "releases/v1.2 ü/app.bin"}, ExpiresIn=900
            )
        path = urlsplit(theirs).path
        assert path == "/firmware/releases/v1.2%20%C3%BC/app.bin"
        case = {"path": path}
        target = sigv4.presign(
            method,
            path,
            "",
            [("Host", "s3.eu-west-1.amazonaws.com")],
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "eu-west-1",
            "s3",
            "20261123T053923Z",
            900,
            session_token="FQoGZXIvYXdzE//token+=",
            s3=True,
        )
        agree(case, target, theirs)
