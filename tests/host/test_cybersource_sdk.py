# Our CyberSource signature against CyberSource's own Python SDK (cybersource-rest-client-python's
# HTTPSignatureToken, what its API clients send) on random requests of every method: the same
# headers signed, the same Signature value, byte for byte; and ours verifies what the SDK signs.
import base64
import types

from authenticationsdk.http.HTTPSignatureToken import HTTPSignatureToken
from hypothesis import given, settings
from hypothesis import strategies as st

import iotsv_httpsign as httpsign
import iotsv_httpverify as httpverify

HOST = "apitest.cybersource.com"
DATE = "Thu, 18 Jul 2019 00:18:03 GMT"
NOW = 1563409083
TEXT = st.text(alphabet="abcxyz019-_./", min_size=1, max_size=12)


@st.composite
def requests(draw):
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"])),
        "target": "/" + draw(TEXT) + draw(st.sampled_from(["", "?limit=10", "?a=1&b=two"])),
        "body": draw(st.one_of(st.just(""), st.text(alphabet='{}":,abc 0123', min_size=1, max_size=80))),
        "merchant": draw(st.text(alphabet="abcdefghij0123456789_", min_size=3, max_size=20)),
        "key_id": draw(st.uuids()).hex,
        "secret": base64.b64encode(draw(st.binary(min_size=16, max_size=48))).decode(),
    }


def sdk_signature(r):
    """The Signature header value CyberSource's SDK sends for this request."""
    config = types.SimpleNamespace(
        merchant_keyid=r["key_id"],
        merchant_secretkey=r["secret"],
        merchant_id=r["merchant"],
        request_host=HOST,
        use_metakey=False,
    )
    token = HTTPSignatureToken()
    token.http_signature_token(config, DATE, r["method"], r["target"], r["body"])
    return token.get_token()


@settings(max_examples=300, deadline=None)
@given(requests())
def test_our_signature_is_the_sdks_for_every_method(r):
    body = r["body"].encode()
    ours = httpsign.sign_cybersource(
        r["method"], HOST, r["target"], body, r["merchant"], r["key_id"], r["secret"], date=DATE
    )
    assert dict(ours)["Signature"] == sdk_signature(r)
    # a Digest goes with POST, PUT and PATCH only, as the SDK sends it (a DELETE's body is not signed)
    assert ("Digest" in dict(ours)) == (r["method"] in ("POST", "PUT", "PATCH"))


@settings(max_examples=100, deadline=None)
@given(requests())
def test_we_verify_what_the_sdk_signs(r):
    body = r["body"].encode()
    headers = [("Host", HOST), ("Date", DATE), ("v-c-merchant-id", r["merchant"])]
    if r["method"] in ("POST", "PUT", "PATCH"):
        headers.append(("Digest", httpsign.digest(body)))
    headers.append(("Signature", sdk_signature(r)))
    httpverify.verify_cybersource(r["method"], r["target"], headers, r["secret"], body, now=NOW)
