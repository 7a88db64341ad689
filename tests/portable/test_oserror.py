# oserror.describe and reason: the errno values a board meets named in words, on both interpreters (where
# MicroPython's OSError prints a bare "28").
import errno

import iotsv_oserror as oserror
from portable import scratch


def test_a_full_flash_says_so():
    assert oserror.describe(OSError(28)) == "no space left on the device (ENOSPC)"
    assert oserror.describe(OSError(28, "No space left on device")) == "no space left on the device (ENOSPC)"


def test_the_values_a_board_meets_are_named():
    for name, words in (
        ("ENOENT", "no such file or directory"),
        ("EIO", "input/output error: the storage or bus failed"),
        ("EROFS", "read-only file system"),
        ("EPIPE", "broken pipe"),
        ("ENOTDIR", "not a directory"),
        ("ECONNRESET", "connection reset"),
        ("ETIMEDOUT", "timed out"),
        ("ECONNREFUSED", "connection refused"),
        ("EHOSTUNREACH", "host unreachable"),
    ):
        assert oserror.describe(OSError(oserror.number(name))) == "%s (%s)" % (words, name)


def test_numbers_follow_this_interpreters_errno_where_it_names_them():
    for name in ("ENOENT", "EIO", "EAGAIN", "ENOMEM", "ECONNRESET", "ETIMEDOUT", "ECONNREFUSED", "EINPROGRESS"):
        assert oserror.number(name) == getattr(errno, name), name
    # the ones MicroPython's errno lacks: Linux's numbers, which MicroPython's own MP_E* copy
    assert [oserror.number(n) for n in ("ENOSPC", "EROFS", "EPIPE", "ENOTDIR")] == [28, 30, 32, 20]


def test_unknown_numbers_and_other_exceptions():
    assert oserror.describe(OSError(140)) == "errno 140"  # no errno on Linux or MicroPython
    assert oserror.describe(OSError(-29312)) == "errno -29312"  # an mbedtls code, no name
    assert oserror.describe(OSError("cannot create directory /x")) == "cannot create directory /x"
    assert oserror.describe(ValueError("spool budget must be at least 16436 bytes")).startswith("spool budget")
    assert oserror.describe(OSError()) == "OSError"


def test_a_real_failed_open_is_named():
    try:
        open(scratch("no-such-dir") + "/file", "rb")
    except OSError as e:
        assert oserror.describe(e) == "no such file or directory (ENOENT)", oserror.describe(e)
    else:
        raise AssertionError("opened a file in a folder that does not exist")


def test_a_socket_timeout_is_told_apart_in_a_few_words():
    timeout = OSError(oserror.number("ETIMEDOUT"))
    reset = OSError(oserror.number("ECONNRESET"))
    assert oserror.is_timeout(timeout) and not oserror.is_timeout(reset)
    assert not oserror.is_timeout(ValueError("timed out"))
    assert oserror.reason(timeout) == "timed out"
    assert oserror.reason(reset) == "connection reset (ECONNRESET)"
