# REQUEST_TIMEOUT_S, the overall deadline of one request: its default and its checks.
from iotsv_settings import load
from portable import _error, _good


def test_request_timeout_defaults_to_three_http_timeouts():
    assert load(_good()).REQUEST_TIMEOUT_S == 30
    assert load(_good(HTTP_TIMEOUT_S=3)).REQUEST_TIMEOUT_S == 9
    assert load(_good(HTTP_TIMEOUT_S=3, REQUEST_TIMEOUT_S=4.5)).REQUEST_TIMEOUT_S == 4.5


def test_request_timeout_is_checked():
    assert _error(REQUEST_TIMEOUT_S="20") == ("REQUEST_TIMEOUT_S", "REQUEST_TIMEOUT_S: must be a number, got '20'")
    assert _error(REQUEST_TIMEOUT_S=0)[0] == "REQUEST_TIMEOUT_S"
    assert _error(REQUEST_TIMEOUT_S=5) == (
        "REQUEST_TIMEOUT_S",
        "REQUEST_TIMEOUT_S: must be at least HTTP_TIMEOUT_S (10), got 5",
    )
