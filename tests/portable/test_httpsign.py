# HTTP Signatures: the RFC 9421 B.2.5 vector, RFC 9530 digests, draft-cavage and CyberSource
# signing (httpsign), and every refusal of the verifiers (httpverify).
from binascii import a2b_base64

import iotsv_httpsign as httpsign
import iotsv_httpverify as httpverify
from iotsv_httpsign import SignatureError
from portable import raises

# RFC 9421 Appendix B.2: the test request, and B.1.5's shared secret
B2_URL = "https://example.com/foo?param=Value&Pet=dog"
B2_BODY = b'{"hello": "world"}'
B2_HEADERS = [
    ("Host", "example.com"),
    ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("Content-Type", "application/json"),
    (
        "Content-Digest",
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    ),
    ("Content-Length", "18"),
]
B15_KEY = a2b_base64("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==")
B25_CREATED = 1618884473
KEY = b"a shared secret of some length, 32+"


def test_rfc9421_b25_hmac_sha256_vector():
    out = httpsign.sign_rfc9421(
        "POST",
        B2_URL,
        B2_HEADERS,
        ["date", "@authority", "content-type"],
        "test-shared-secret",
        B15_KEY,
        label="sig-b25",
        created=B25_CREATED,
    )
    assert out == [
        (
            "Signature-Input",
            'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
        ),
        ("Signature", "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"),
    ]
    p = httpverify.verify_rfc9421("POST", B2_URL, B2_HEADERS + out, B15_KEY, now=B25_CREATED + 10)
    assert (p["label"], p["keyid"], p["created"]) == ("sig-b25", "test-shared-secret", B25_CREATED)


def test_rfc9421_b2_content_digest_sha512():
    assert httpsign.content_digest(B2_BODY, ("sha-512",)) == B2_HEADERS[3][1]
    httpverify.check_content_digest(B2_HEADERS[3][1], B2_BODY)
    raises(SignatureError, httpverify.check_content_digest, B2_HEADERS[3][1], B2_BODY + b" ")
    assert httpsign.content_digest(b"hello", ("sha-256", "sha-512")).startswith(
        "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:, sha-512=:"
    )


def test_rfc9421_derived_components():
    url = "HTTPS://Example.COM:443/a/b?x=1&y=%20"
    v = lambda name: httpsign.component_value(name, "GET", url, [("X-A", " 1 "), ("x-a", "2")])
    assert v("@authority") == "example.com" and v("@scheme") == "https"
    assert v("@target-uri") == "https://example.com/a/b?x=1&y=%20"
    assert v("@request-target") == "/a/b?x=1&y=%20" and v("@path") == "/a/b" and v("@query") == "?x=1&y=%20"
    assert v("x-a") == "1, 2"
    assert httpsign.component_value("@query", "GET", "http://h:8080", []) == "?"
    assert httpsign.component_value("@authority", "GET", "http://h:8080", []) == "h:8080"
    assert httpsign.component_value("@path", "GET", "http://h", []) == "/"


def _signed_9421(**kw):
    headers = [
        ("Host", "api.example"),
        ("Content-Type", "application/json"),
        ("Content-Digest", httpsign.content_digest(B2_BODY)),
    ]
    args = dict(created=1000, key_id="k1")
    args.update(kw)
    return headers + httpsign.sign_rfc9421(
        "POST",
        "https://api.example/r?a=1",
        headers,
        ["@method", "@target-uri", "content-digest", "content-type"],
        args.pop("key_id"),
        KEY,
        **args,
    )


def test_rfc9421_round_trip_with_every_parameter():
    h = _signed_9421(expires=1300, nonce="n-1", tag="app", alg="hmac-sha256", label="reading")
    assert (
        'reading=("@method" "@target-uri" "content-digest" "content-type");created=1000;expires=1300;'
        'nonce="n-1";alg="hmac-sha256";keyid="k1";tag="app"' in [v for n, v in h]
    )
    p = httpverify.verify_rfc9421(
        "POST",
        "https://api.example/r?a=1",
        h,
        {"k1": KEY}.get,
        now=1100,
        body=B2_BODY,
        tag="app",
        required=("@method", "content-digest"),
    )
    assert p["nonce"] == "n-1" and p["components"][0] == "@method"


def test_rfc9421_refusals():
    url = "https://api.example/r?a=1"
    good = _signed_9421()
    verify = lambda h, **kw: httpverify.verify_rfc9421(
        "POST", kw.pop("url", url), h, kw.pop("key", KEY), now=kw.pop("now", 1010), **kw
    )
    verify(good)
    cases = (
        (dict(url="https://api.example/r?a=2"), good, "does not match"),
        (dict(key=b"another key"), good, "does not match"),
        (dict(key={"other": KEY}.get), good, "unknown keyid"),
        (dict(now=1000 + 300 + 31), good, "old"),
        (dict(now=1000 - 31), good, "future"),
        (dict(body=b"tampered"), good, "Content-Digest sha-256 does not match"),
        (dict(required=("@authority",)), good, "required but not covered"),
        (dict(tag="app"), good, "tag"),
        (dict(label="nope"), good, "no signature labelled"),
    )
    for kw, headers, expect in cases:
        msg = str(raises(SignatureError, verify, headers, **kw))
        assert expect in msg, (kw, msg)
    tweak = lambda name, old, new: [(n, v.replace(old, new) if n == name else v) for n, v in good]
    bad_headers = (
        (tweak("Signature-Input", ";created=1000", ';created=1000;alg="rsa-pss-sha512"'), "unknown algorithm"),
        (tweak("Signature-Input", ";created=1000", ";created=1000;created=1001"), "given twice"),
        (tweak("Signature-Input", ";created=1000", ';created=1000;color="red"'), "unknown signature parameter"),
        (tweak("Signature-Input", '"@method"', '"@method";req'), "component parameters"),
        (tweak("Signature-Input", '"content-type"', '"@method"'), "covered twice"),
        (tweak("Signature-Input", "sig1=", "sig1=sig2=("), "malformed"),
        (tweak("Signature-Input", ";created=1000", ';created="1000"'), "wrong type"),
        (tweak("Signature", "sig1=:", "sig1=:!"), "malformed"),
        (tweak("Signature-Input", ";created=1000", ""), "no created time"),
        (tweak("Content-Type", "json", "xml"), "does not match"),
        ([h for h in good if h[0] != "Signature"], "no Signature header"),
        (good + [("Signature-Input", 'sig1=("@method");created=1')], "given twice"),
        (good + [("Signature-Input", 'sig2=("@method");created=1')], "say which label"),
    )
    for headers, expect in bad_headers:
        msg = str(raises(SignatureError, verify, headers))
        assert expect in msg, (expect, msg)


def test_rfc9421_one_byte_changed_anywhere_fails():
    good = _signed_9421()
    for i, (name, value) in enumerate(good):
        for j in range(len(value)):
            bad = list(good)
            bad[i] = (name, value[:j] + chr(ord(value[j]) ^ 1) + value[j + 1 :])
            try:
                httpverify.verify_rfc9421("POST", "https://api.example/r?a=1", bad, KEY, now=1010, body=B2_BODY)
            except SignatureError:
                continue
            if name.lower() == "host":
                continue  # not covered: @target-uri comes from the URL
            if name == "Signature" and _same_signature(bad[i][1], value):
                continue  # a flip in base64's padding bits leaves the signature's bytes as they were
            raise AssertionError("verified with %s changed at %d" % (name, j))


def _same_signature(a, b):
    import iotsv_structfield as structfield
    import iotsv_structparse as structparse

    try:
        return structparse.parse_dictionary(a) == structparse.parse_dictionary(b)
    except structfield.StructError:
        return False


CAVAGE_HEADERS = [
    ("Host", "example.org"),
    ("Date", "Sun, 05 Jan 2014 21:31:40 GMT"),
    ("Content-Type", "application/json"),
    ("X-Rep", "a"),
    ("x-rep", " b "),
]
CAVAGE_NOW = 1388957500  # 2014-01-05T21:31:40Z


def test_cavage_signing_string():
    text = httpsign.cavage_signing_string(
        "POST", "/foo?param=value&pet=dog", CAVAGE_HEADERS, ["(request-target)", "host", "date", "x-rep"]
    )
    assert text == (
        b"(request-target): post /foo?param=value&pet=dog\nhost: example.org\n"
        b"date: Sun, 05 Jan 2014 21:31:40 GMT\nx-rep: a, b"
    )


def test_cavage_round_trip_as_signature_and_authorization():
    names = ["(request-target)", "host", "date", "content-type"]
    params = httpsign.sign_cavage("POST", "/foo?a=1", CAVAGE_HEADERS, "key-1", KEY, names)
    assert params.startswith(
        'keyId="key-1",algorithm="hmac-sha256",headers="(request-target) host date content-type",signature="'
    )
    for authorization in (False, True):
        headers = CAVAGE_HEADERS + [httpsign.cavage_header(params, authorization)]
        p = httpverify.verify_cavage(
            "POST", "/foo?a=1", headers, KEY, required=("(request-target)", "date"), now=CAVAGE_NOW + 5
        )
        assert p["keyid"] == "key-1"


def test_cavage_hs2019_created_and_expires():
    names = ["(request-target)", "(created)", "(expires)", "host"]
    params = httpsign.sign_cavage("GET", "/x", CAVAGE_HEADERS, "k", KEY, names, "hs2019", created=2000, expires=2060)
    assert ",created=2000,expires=2060," in params
    h = CAVAGE_HEADERS + [("Signature", params)]
    httpverify.verify_cavage("GET", "/x", h, KEY, now=2030)
    assert "expired" in str(raises(SignatureError, httpverify.verify_cavage, "GET", "/x", h, KEY, now=2100))
    msg = str(raises(SignatureError, httpsign.sign_cavage, "GET", "/x", CAVAGE_HEADERS, "k", KEY, names))
    assert "hs2019" in msg


def test_cavage_refusals():
    params = httpsign.sign_cavage("POST", "/p", CAVAGE_HEADERS, "k", KEY, ["(request-target)", "date", "host"])
    good = CAVAGE_HEADERS + [("Signature", params)]
    verify = lambda h, **kw: httpverify.verify_cavage(
        kw.pop("method", "POST"), kw.pop("target", "/p"), h, kw.pop("key", KEY), now=kw.pop("now", CAVAGE_NOW), **kw
    )
    verify(good)
    swap = lambda old, new: CAVAGE_HEADERS + [("Signature", params.replace(old, new))]
    cases = (
        (good, dict(target="/p?x"), "does not match"),
        (good, dict(method="PUT"), "does not match"),
        (good, dict(key=b"wrong"), "does not match"),
        (good, dict(key={}.get), "unknown keyId"),
        (good, dict(now=CAVAGE_NOW + 400), "old"),
        (good, dict(now=CAVAGE_NOW - 100), "future"),
        (good, dict(required=("(request-target)", "digest")), "required but not signed"),
        (swap('algorithm="hmac-sha256"', 'algorithm="rsa-sha256"'), {}, "unknown algorithm"),
        (swap('keyId="k",', 'keyId="k",keyId="j",'), {}, "given twice"),
        (swap('keyId="k",', "keyId=k,"), {}, "quoted"),
        (swap('headers="(request-target) date host"', 'headers="date date host"'), {}, "twice"),
        (swap('signature="', 'signature="!!'), {}, "base64"),
        (swap(",signature=", ",,signature="), {}, "malformed"),
        (CAVAGE_HEADERS, {}, "no Signature header"),
        (good + [("Signature", params)], {}, "more than one"),
        ([(n, v) for n, v in good if n != "Date"], {}, "not in the request"),
    )
    for headers, kw, expect in cases:
        msg = str(raises(SignatureError, verify, headers, **kw))
        assert expect in msg, (expect, msg)


def test_cybersource_post_and_get():
    secret = "c2VjcmV0LWtleS1vZi1hLW1lcmNoYW50LTEyMzQ1Ng=="
    date = "Thu, 18 Jul 2019 00:18:03 GMT"
    body = b'{"clientReferenceInformation":{"code":"TC50171_3"}}'
    out = httpsign.sign_cybersource(
        "POST",
        "apitest.cybersource.com",
        "/pts/v2/payments/",
        body,
        "mymerchantid",
        "6d75ffad-ed36-4a6d-85af-5609185494f4",
        secret,
        date=date,
    )
    names = [n for n, _ in out]
    assert names == ["Host", "Date", "Digest", "v-c-merchant-id", "Signature"]
    sig = dict(out)["Signature"]
    assert sig.startswith(
        'keyid="6d75ffad-ed36-4a6d-85af-5609185494f4", algorithm="HmacSHA256", '
        'headers="host date request-target digest v-c-merchant-id", signature="'
    )
    assert dict(out)["Digest"].startswith("SHA-256=")
    now = 1563409083 + 10
    httpverify.verify_cybersource("POST", "/pts/v2/payments/", out, secret, body, now=now)
    tampered = body + b" "
    verify = httpverify.verify_cybersource
    assert "Digest" in str(raises(SignatureError, verify, "POST", "/pts/v2/payments/", out, secret, tampered, now=now))
    legacy = httpsign.sign_cybersource(
        "GET",
        "apitest.cybersource.com",
        "/reporting/v3/reports",
        b"",
        "mymerchantid",
        "kid",
        secret,
        date=date,
        legacy=True,
    )
    assert 'headers="host date (request-target) v-c-merchant-id"' in dict(legacy)["Signature"]
    assert "Digest" not in dict(legacy)
    httpverify.verify_cybersource("GET", "/reporting/v3/reports", legacy, secret, now=now)


def test_cybersource_date_defaults_to_now_in_rfc1123():
    out = dict(httpsign.sign_cybersource("GET", "h", "/", b"", "m", "k", "c2VjcmV0"))
    assert out["Date"].endswith(" GMT") and len(out["Date"]) == 29


def test_long_keys_are_hashed_first():
    long_key = b"\xaa" * 131  # RFC 4231 cases 6 and 7: longer than the SHA-256 block
    params = httpsign.sign_cavage("GET", "/", CAVAGE_HEADERS, "k", long_key, ["(request-target)", "date"])
    httpverify.verify_cavage("GET", "/", CAVAGE_HEADERS + [("Signature", params)], long_key, now=CAVAGE_NOW)


def test_the_verifiers_raise_the_signing_side_s_error():
    assert httpverify.SignatureError is httpsign.SignatureError
    raises(httpsign.SignatureError, httpverify.verify_cavage, "GET", "/", CAVAGE_HEADERS, KEY)


def test_field_values_are_trimmed_of_http_whitespace_only_alike_on_both_interpreters():
    # CPython's strip() would also take the no-break space and the separators; MicroPython's not
    headers = [("X-A", " \t\xa0a\x1f \t"), ("X-A", "b\r\n  \u3000c ")]
    assert httpsign.field_value(headers, "x-a") == "\xa0a\x1f, b \u3000c"
