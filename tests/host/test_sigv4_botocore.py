# Differential test: our signer against botocore's SigV4Auth.add_auth on random requests, byte for
# byte, on CPython and on the MicroPython unix port. Queries are percent-encoded the way botocore's
# own serializer builds them (quote(x, safe="-_.~")), reserved and non-ASCII characters included.
import datetime
import json
from binascii import hexlify
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers
import iotsv_sigv4 as sigv4
import iotsv_sigv4signer as sigv4signer
from helpers import INSTANT, NAME, PATH, QUERY, TOKEN, VALUE
from iotsv_sigv4base import pieces_hash

HOST = "dynamodb.eu-west-1.amazonaws.com"
HEADERS = st.lists(st.tuples(NAME, VALUE), max_size=6)


@st.composite
def requests(draw):
    headers = [("Host", HOST)] + draw(HEADERS)
    if draw(st.booleans()):
        headers.append(
            (
                "X-Amz-Content-SHA256",
                draw(
                    st.sampled_from(
                        ["UNSIGNED-PAYLOAD", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
                    )
                ),
            )
        )
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "get"])),
        "path": draw(PATH),
        "query": draw(QUERY),
        "headers": draw(st.permutations(headers)),
        "body": hexlify(draw(st.one_of(st.just(b""), st.binary(max_size=300)))).decode(),
        "access_key": draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=20)),
        "secret_key": draw(
            st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
        ),
        "region": draw(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"])),
        "service": draw(st.sampled_from(["dynamodb", "service", "execute-api", "iot"])),
        "amz_date": draw(INSTANT).strftime("%Y%m%dT%H%M%SZ"),
        "token": draw(TOKEN),
    }


def botocore_authorization(case):
    url = "https://" + HOST + case["path"] + ("?" + case["query"] if case["query"] else "")
    request = AWSRequest(method=case["method"], url=url, data=bytes.fromhex(case["body"]))
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: repeated names are kept
    now = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")
    creds = Credentials(case["access_key"], case["secret_key"], case["token"])
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        SigV4Auth(creds, case["service"], case["region"]).add_auth(request)
    return request.headers["Authorization"]


def our_headers(case):
    return sigv4.sign(
        case["method"],
        case["path"],
        case["query"],
        case["headers"],
        bytes.fromhex(case["body"]),
        case["access_key"],
        case["secret_key"],
        case["region"],
        case["service"],
        case["amz_date"],
        session_token=case["token"],
    )


def our_signer(case):
    """The prepared signer the DynamoDB client uses: must give what sign() gives."""
    return sigv4signer.Signer(
        case["method"],
        case["path"],
        case["query"],
        case["headers"],
        case["access_key"],
        case["secret_key"],
        case["region"],
        case["service"],
        case["token"],
    )


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_cpython_signer_agrees_with_botocore(case):
    ours = dict((n, v) for n, v in our_headers(case) if n in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"))
    assert ours["Authorization"] == botocore_authorization(case)
    assert ours["X-Amz-Date"] == case["amz_date"]
    assert ours.get("X-Amz-Security-Token") == case["token"]
    body = bytes.fromhex(case["body"])
    fast = dict(our_signer(case).sign(body, case["amz_date"]))
    assert fast["Authorization"] == ours["Authorization"]
    # a body hashed piece by piece as it is read (the DynamoDB client's, from the spool)
    streamed = dict(our_signer(case).sign(None, case["amz_date"], pieces_hash([body[:3], body[3:]])[0]))
    assert streamed["Authorization"] == ours["Authorization"]
    assert fast["X-Amz-Date"] == case["amz_date"] and fast.get("X-Amz-Security-Token") == case["token"]


def test_micropython_signer_agrees_with_botocore(tmp_path):
    cases = helpers.examples(requests(), 400)
    expected = [botocore_authorization(c) for c in cases]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    result = helpers.run_portable("sign_cases.py", [str(path)])
    assert result.returncode == 0, result.stderr
    got = result.stdout.splitlines()
    assert len(got) == 4 * len(cases) >= 400
    for i, (case, theirs) in enumerate(zip(cases, expected)):
        assert got[4 * i] == theirs, case  # sign()
        assert got[4 * i + 1] == theirs, case  # Signer.sign()
        assert got[4 * i + 2] == theirs, case  # Signer.sign() of a body hashed piece by piece
        assert got[4 * i + 3] == theirs, case  # the same, its value in parts (head, signature)
