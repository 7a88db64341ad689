# httpsign and httpverify against independent implementations, on random requests: what we sign,
# PyPI's httpsig (draft-cavage) and http-message-signatures (RFC 9421) verify; what they sign, we
# verify; one byte changed in any covered part fails on both sides. The MicroPython leg runs the same cases.
import datetime
import json
import time

import requests
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.exceptions import InvalidSignature
from httpsig import HeaderSigner, HeaderVerifier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers
import iotsv_httpsign as httpsign
import iotsv_httpverify as httpverify

KEY = "an HMAC key the oracles share with us"
HOST = "api.example.com"
SEGMENT = st.text(alphabet="abcxyz019-._~", min_size=1, max_size=8).filter(
    lambda s: s.strip(".") != ""
)  # requests drops dot segments
PATH = st.lists(SEGMENT, min_size=0, max_size=4).map(lambda s: "/" + "/".join(s))
QUERY = st.lists(st.tuples(SEGMENT, SEGMENT), max_size=3).map(lambda p: "&".join("%s=%s" % kv for kv in p))
NAMES = st.lists(
    st.sampled_from(["date", "content-type", "x-device", "x-seq", "digest", "accept"]),
    unique=True,
    min_size=1,
    max_size=4,
)
VALUE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20).map(
    lambda v: v.replace('"', "").replace("\\", "") or "v"
)


@st.composite
def requests_(draw):
    names = draw(NAMES)
    headers = [("Host", HOST)]
    for n in names:
        headers.append(
            (n.title(), time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()) if n == "date" else draw(VALUE))
        )
    query = draw(QUERY)
    path = draw(PATH)
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"])),
        "target": path + ("?" + query if query else ""),
        "url": "https://" + HOST + path + ("?" + query if query else ""),
        "headers": headers,
        "names": ["(request-target)", "host"] + names,
        "components": ["@method", "@authority", "@target-uri", "@path", "@query"][: draw(st.integers(1, 5))] + names,
        "key": KEY,
        "created": int(time.time()),
    }


class Keys(HTTPSignatureKeyResolver):
    def resolve_public_key(self, key_id):
        return KEY.encode()

    def resolve_private_key(self, key_id):
        return KEY.encode()


def their_request(case, headers):
    return requests.Request(case["method"], case["url"], headers=dict(headers)).prepare()


def httpsig_verifies(case, headers):
    try:
        return HeaderVerifier(
            dict(headers), KEY, required_headers=case["names"], method=case["method"], path=case["target"]
        ).verify()
    except Exception:
        return False


def hms_verifies(case, headers):
    try:
        HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=Keys()).verify(
            their_request(case, headers), max_age=datetime.timedelta(minutes=5)
        )
        return True
    except InvalidSignature:
        return False


def httpsig_signs(case):
    signer = HeaderSigner("k1", KEY, algorithm="hmac-sha256", headers=case["names"])
    signed = signer.sign(dict(case["headers"]), method=case["method"], path=case["target"])
    return list(case["headers"]) + [("Authorization", signed["authorization"])]


def hms_signs(case):
    req = their_request(case, case["headers"])
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=Keys()).sign(
        req,
        key_id="k1",
        covered_component_ids=case["components"],
        label="theirs",
        created=datetime.datetime.fromtimestamp(case["created"], datetime.timezone.utc),
    )
    return list(case["headers"]) + [(n, req.headers[n]) for n in ("Signature-Input", "Signature")]


def tampered(headers):
    """One byte changed in the last covered header before the signature."""
    out = list(headers)
    i = len([h for h in out if h[0].lower() not in ("authorization", "signature", "signature-input")]) - 1
    name, value = out[i]
    out[i] = (name, value[:-1] + ("a" if value[-1] != "a" else "b"))
    return out


def our_cavage(case):
    return list(case["headers"]) + [
        httpsign.cavage_header(
            httpsign.sign_cavage(case["method"], case["target"], case["headers"], "k1", KEY.encode(), case["names"]),
            True,
        )
    ]


def our_rfc9421(case):
    return list(case["headers"]) + httpsign.sign_rfc9421(
        case["method"], case["url"], case["headers"], case["components"], "k1", KEY.encode(), created=case["created"]
    )


def we_verify_cavage(case, headers):
    try:
        httpverify.verify_cavage(case["method"], case["target"], headers, KEY.encode(), required=(), max_age_s=None)
        return True
    except httpsign.SignatureError:
        return False


def we_verify_rfc9421(case, headers):
    try:
        httpverify.verify_rfc9421(case["method"], case["url"], headers, KEY.encode(), max_age_s=None)
        return True
    except httpsign.SignatureError:
        return False


def both_ways(case, we_sign, they_verify, they_sign, we_verify):
    ours = we_sign(case)
    assert they_verify(case, ours)
    assert not they_verify(case, tampered(ours)) and not we_verify(case, tampered(ours))
    theirs = they_sign(case)
    assert we_verify(case, theirs)
    assert not we_verify(case, tampered(theirs))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests_())
def test_cavage_both_ways_with_httpsig(case):
    both_ways(case, our_cavage, httpsig_verifies, httpsig_signs, we_verify_cavage)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests_())
def test_rfc9421_both_ways_with_http_message_signatures(case):
    both_ways(case, our_rfc9421, hms_verifies, hms_signs, we_verify_rfc9421)


def test_oracles_both_ways_on_micropython(tmp_path):
    cases = helpers.examples(requests_(), 60)
    ops, expect = [], []
    for c in cases:
        for op, headers, ok in (
            ("verify_cavage", httpsig_signs(c), True),
            ("verify_cavage", tampered(httpsig_signs(c)), False),
            ("verify_rfc9421", hms_signs(c), True),
            ("verify_rfc9421", tampered(hms_signs(c)), False),
            ("sign_cavage", c["headers"], None),
            ("sign_rfc9421", c["headers"], None),
        ):
            ops.append(dict(c, op=op, headers=headers))
            expect.append((c, op, ok))
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(ops))
    result = helpers.run_portable("httpsign_cases.py", [str(path)])
    assert result.returncode == 0, result.stderr
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outs) == len(ops) >= 300
    for (c, op, ok), out in zip(expect, outs):
        if op == "sign_cavage":
            headers = list(c["headers"]) + [("Authorization", "Signature " + out["value"])]
            assert httpsig_verifies(c, headers), c
        elif op == "sign_rfc9421":
            assert hms_verifies(c, list(c["headers"]) + [tuple(h) for h in out["headers"]]), c
        else:
            assert out["ok"] is ok, (op, c, out)
