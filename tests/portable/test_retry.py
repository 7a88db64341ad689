# The retry classifier for every error code we know, and the bounds of the backoff.
import retry
from dynamodb import DynamoDBError
from httpclient import ConnectError, HttpTimeout, ProtocolError, ResponseTooLarge, TlsError


def err(code, status=400, message="m"):
    return DynamoDBError(code, message, status)


def test_every_code_is_classified():
    cases = (
        (err("ThrottlingException"), retry.TRANSIENT),
        (err("ProvisionedThroughputExceededException"), retry.TRANSIENT),
        (err("RequestLimitExceeded"), retry.TRANSIENT),
        (err("TransactionInProgressException"), retry.TRANSIENT),
        (err("InternalServerError", 500), retry.TRANSIENT),
        (err("ServiceUnavailable", 503), retry.TRANSIENT),
        (err("HTTP502", 502), retry.TRANSIENT),
        (err("HTTP429", 429), retry.TRANSIENT),
        (err("CRC32Mismatch", 200), retry.TRANSIENT),
        (ConnectError("refused"), retry.TRANSIENT),
        (HttpTimeout("slow"), retry.TRANSIENT),
        (ProtocolError("truncated"), retry.TRANSIENT),
        (
            err("InvalidSignatureException", 400, "Signature expired: 20261123T034101Z is now earlier than ..."),
            retry.CLOCK_SKEW,
        ),
        (err("InvalidSignatureException", 400, "Signature not yet current: ..."), retry.CLOCK_SKEW),
        (err("RequestTimeTooSkewed", 403), retry.CLOCK_SKEW),
        (err("InvalidSignatureException", 400, "The request signature we calculated does not match"), retry.BLOCKED),
        (err("ValidationException"), retry.ITEM_REFUSED),
        (err("ItemCollectionSizeLimitExceededException"), retry.ITEM_REFUSED),
        (err("SignatureDoesNotMatch", 403), retry.BLOCKED),
        (err("UnrecognizedClientException"), retry.BLOCKED),
        (err("InvalidClientTokenId", 403), retry.BLOCKED),
        (err("AccessDeniedException"), retry.BLOCKED),
        (err("ExpiredTokenException"), retry.BLOCKED),
        (err("ResourceNotFoundException"), retry.BLOCKED),
        (TlsError("bad certificate"), retry.BLOCKED),
        (ResponseTooLarge("huge"), retry.BLOCKED),
    )
    for e, kind in cases:
        assert retry.classify(e) == kind, (str(e), retry.classify(e), kind)


def test_backoff_is_full_jitter_under_a_capped_exponential():
    for policy in (retry.TRANSIENT_BACKOFF, retry.BLOCKED_BACKOFF):
        base, cap = policy
        for attempt in range(40):
            ceiling = min(cap, base * 2**attempt)
            assert retry.backoff_ms(attempt, policy, 0) == 0
            assert retry.backoff_ms(attempt, policy, 0xFFFF) == ceiling
            for _ in range(20):
                assert 0 <= retry.backoff_ms(attempt, policy) <= ceiling


def test_backoff_spreads_out():
    waits = set(retry.backoff_ms(10) for _ in range(50))
    assert len(waits) > 10  # jitter, not a fixed delay


def test_a_408_from_dynamodb_is_transient_not_blocking():
    from dynamodb import error_from_response

    assert retry.classify(error_from_response(408, b"")) == retry.TRANSIENT
