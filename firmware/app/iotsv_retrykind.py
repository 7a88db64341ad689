# What kind of failure a request met, decided as the AWS SDKs decide it for DynamoDB. Read through
# iotsv_retry (retry.classify, retry.BLOCKED, ...), which loads this module only when a request has
# failed: the kinds are named here, not there, so none of this is in the heap while requests succeed.
from iotsv_httpclient import HttpError
from iotsv_refusal import Refusal

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


# Throttling refusals: the table (or the account) is over its capacity, not the request wrong.
THROTTLE_CODES = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "HTTP429")


def is_throttling(err):
    return isinstance(err, Refusal) and err.code in THROTTLE_CODES
