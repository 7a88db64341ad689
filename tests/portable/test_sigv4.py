# SigV4's canonical header rules that differ between interpreters unless the signer pins them:
# CPython's whitespace (what botocore squashes), on CPython and MicroPython alike.
import iotsv_sigv4 as sigv4
from portable import raises

# botocore: " ".join(value.split()) on CPython's str, whose whitespace includes these
CPYTHON_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"


def test_every_whitespace_cpython_knows_is_squashed():
    for c in CPYTHON_WHITESPACE:
        assert sigv4.canonical_value(c + "a" + c + c + "b" + c) == "a b", hex(ord(c))


def test_other_characters_stay_as_they_are():
    for value in ("é€ሴ", "a\u200bb", "x\x7fy", "a-b_c", "\x1b[0m"):  # zero-width space is not whitespace
        assert sigv4.canonical_value(value) == value, value


def test_signed_headers_agree_whatever_the_whitespace():
    plain = sigv4.canonical_headers([("X-A", "1 2"), ("Host", "h")])
    odd = sigv4.canonical_headers([("X-A", "\xa01\x1f\u3000 2\x85"), ("Host", "\u2028h")])
    assert odd == plain == (b"host:h\nx-a:1 2\n", b"host;x-a")


def test_a_header_name_that_is_not_ascii_is_refused_alike_on_both():
    e = raises(ValueError, sigv4.canonical_headers, [("X-Ä", "1")])
    assert "not ASCII" in str(e)


def test_the_day_key_is_the_same_from_a_date_or_an_amz_date_and_changes_with_the_day():
    secret, msg = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"string to sign"
    day = sigv4.signing_key(secret, "20261123", "eu-west-1", "dynamodb").digest(msg)
    assert sigv4.signing_key(secret, "20261123T054101Z", "eu-west-1", "dynamodb").digest(msg) == day
    assert sigv4.signing_key(secret, "20261124T000000Z", "eu-west-1", "dynamodb").digest(msg) != day
    assert sigv4.signing_key(secret, "20261123T235959Z", "eu-west-1", "dynamodb").digest(msg) == day
    assert sigv4.signing_key(secret, "20261123T235959Z", "eu-west-2", "dynamodb").digest(msg) != day
    assert sigv4.signing_key(secret, "2026112", "eu-west-1", "dynamodb").digest(msg) != day  # a short date is its own
    assert sigv4.signing_key(secret, "20261123", "eu-west-1", "dynamodb").digest(msg) == day
