# What to do after a failed request, decided as the AWS SDKs decide it for DynamoDB, and how
# long to wait: capped exponential backoff with full jitter.
import random

from httpclient import HttpError
from refusal import Refusal

TRANSIENT = "transient"  # throttled, 5xx, 429, reset, timeout, truncated: back off and retry
CLOCK_SKEW = "clock"  # the request's time is too far from the server's: fix the clock, re-sign
ITEM_REFUSED = "item"  # this item can never be written: dead-letter it, go on with the rest
BLOCKED = "blocked"  # credentials, permissions, table, certificate: keep everything, retry later

SKEW_CODES = ("RequestTimeTooSkewed", "RequestExpired", "SignatureExpired", "InvalidSignatureException")
ITEM_CODES = (
    "ValidationException",
    "ItemCollectionSizeLimitExceededException",
    "ConditionalCheckFailedException",
    "HTTP400",  # a plain HTTP endpoint refusing what it was sent
    "HTTP413",
    "HTTP422",
)

# Refusals of the credentials themselves: temporary ones may just have expired.
AUTH_CODES = (
    "ExpiredTokenException",
    "ExpiredToken",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
)

# (base, cap) in milliseconds: the SDKs' DynamoDB backoff, and a slower one while blocked.
TRANSIENT_BACKOFF = (50, 20000)
BLOCKED_BACKOFF = (2000, 60000)


def is_clock_skew(err):
    if err.code not in SKEW_CODES:
        return False
    if err.code != "InvalidSignatureException":
        return True
    msg = err.message.lower()
    return "expired" in msg or "not yet current" in msg


def classify(err):
    if isinstance(err, HttpError):
        return TRANSIENT if err.retryable else BLOCKED
    if isinstance(err, Refusal):
        if is_clock_skew(err):
            return CLOCK_SKEW
        if err.retryable:
            return TRANSIENT
        if err.code in ITEM_CODES:
            return ITEM_REFUSED
    return BLOCKED


def backoff_ms(attempt, policy=TRANSIENT_BACKOFF, rand16=None):
    """Full jitter: a uniform wait in [0, min(cap, base * 2**attempt)] milliseconds."""
    base, cap = policy
    ceiling = min(cap, base << min(attempt, 24))
    if rand16 is None:
        rand16 = random.getrandbits(16)
    return ceiling * rand16 // 0xFFFF
