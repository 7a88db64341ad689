# Calendar arithmetic against known instants, including leap days and the ESP32's 2000 epoch.
from iotsv_httpdate import http_date, parse_http_date
from iotsv_utc import amz_date, civil_from_days, days_from_civil, gmtime

KNOWN = (
    (0, "19700101T000000Z"),
    (946684800, "20000101T000000Z"),  # the ESP32 epoch
    (951782400, "20000229T000000Z"),  # leap day of a year divisible by 400
    (1440938160, "20150830T123600Z"),  # the SigV4 test suite's timestamp
    (1709251199, "20240229T235959Z"),
    (4107542400, "21000301T000000Z"),  # 2100 is not a leap year
    # fractions of a second are dropped (the unix port's time is a float); small enough that an
    # ESP32's single-precision float holds the fraction too
    (86399.5, "19700101T235959Z"),
)


def test_amz_date_of_known_instants():
    for epoch, expected in KNOWN:
        assert amz_date(epoch) == expected, (epoch, amz_date(epoch))


def test_days_round_trip_over_four_centuries():
    for days in range(-1000, 146097 + 1000, 7):
        y, m, d = civil_from_days(days)
        assert days_from_civil(y, m, d) == days, days
        assert 1 <= m <= 12 and 1 <= d <= 31


def test_gmtime_fields():
    assert gmtime(1440938160) == (2015, 8, 30, 12, 36, 0)
    assert gmtime(86399) == (1970, 1, 1, 23, 59, 59)


def test_http_date_both_ways():
    assert http_date(1440938160) == "Sun, 30 Aug 2015 12:36:00 GMT"
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert parse_http_date("Mon, 23 Nov 2026 05:39:23 GMT") == 1795412363
    for epoch in (0, 951782400, 1440938160, 1795412461, 4107542400):
        assert parse_http_date(http_date(epoch)) == epoch


def test_malformed_http_dates_give_none():
    for text in (
        None,
        "",
        "Mon, 23 Nov 2026 05:39:23",
        "Mon, 23 Foo 2026 05:39:23 GMT",
        "Mon, 23 Nov 2026 05:39 GMT",
        "Monday, 23-Nov-26 05:39:23 GMT",
        "Mon, xx Nov 2026 05:39:23 GMT",
    ):
        assert parse_http_date(text) is None, text
