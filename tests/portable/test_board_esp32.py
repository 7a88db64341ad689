# The ESP32 board layer on the host, with fakes of machine, network, ntptime and esp32.
import sys

import fake_esp32
import settings
import utc
from portable import _DROP, _good, raises

ESP32_EPOCH = 946684800


def fresh_board(config=None, **fakes):
    fake_esp32.install(**fakes)
    sys.modules.pop("board_esp32", None)
    import board_esp32

    fake_esp32.patch_time(board_esp32)
    fake_esp32.CLOCK.rtc = 0
    fake_esp32.CLOCK.ticks = 0
    return board_esp32, board_esp32.Board(config)


class Config:
    WIFI_SSID = "field-ap"
    WIFI_PASSWORD = "pw"
    NTP_HOST = "time.example"


def test_clock_never_set_is_refused_not_used():
    mod, board = fresh_board(Config, ntp_now=None, ntp_fails=5)
    assert board.sync_time() is False and not board.time_is_set()
    msg = str(raises(mod.ClockNotSet, board.time))
    assert "never set" in msg


def test_ntp_sets_the_clock_in_one_place_for_both_epochs():
    unix_now = 1795412461
    mod, board = fresh_board(Config, ntp_now=unix_now - utc.PORT_EPOCH, ntp_fails=1)
    assert board.sync_time() is True and sys.modules["ntptime"].host == "time.example"
    assert board.time() == unix_now  # the RTC count plus the port's epoch, whatever it is
    # on an ESP32 the RTC counts from 2000: the same instant is 946684800 s fewer there
    assert utc.amz_date(board.time()) == "20261123T054101Z"
    assert ESP32_EPOCH == utc.days_from_civil(2000, 1, 1) * 86400


def test_wifi_connects_with_backoff_and_reconnects_after_a_drop():
    mod, board = fresh_board(Config, ntp_now=0)
    import network

    assert board.network_up(timeout_ms=120000) is True  # first attempt succeeds
    wlan = network.WLAN.instances[-1]
    assert wlan.active_state and wlan.connect_calls[0][:2] == ("field-ap", "pw")
    wlan.connected = False
    wlan.connects_after = 4  # counted from the first connect: this reconnect succeeds at its 4th try
    start = fake_esp32.CLOCK.ticks
    assert board.network_up(timeout_ms=120000) is True
    times = [t - start for _, _, t in wlan.connect_calls[1:]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == [1000, 2000, 4000], gaps  # doubling from 1 s


def test_wifi_gives_up_after_the_timeout():
    mod, board = fresh_board(Config, ntp_now=0)
    import network

    board.network_up()
    wlan = network.WLAN.instances[-1]
    wlan.connected = False
    wlan.connects_after = 10**6
    assert board.network_up(timeout_ms=30000) is False


def test_watchdog_is_fed_while_waiting_and_identity_storage_and_sleep():
    mod, board = fresh_board(Config, ntp_now=0)
    board.start_watchdog(60)
    wdt = sys.modules["machine"].WDT.created[-1]
    assert wdt.timeout == 60000
    board.sleep_ms(5500)
    assert wdt.feeds == 6  # a long wait is fed in slices: not a hang
    assert board.device_id() == "esp32-240ac4123456"
    assert board.state_dir() == "/state"
    board.deep_sleep(30000)
    assert sys.modules["machine"].slept == 30000
    fake_esp32.RTC.kept = b""
    assert board.wake_count() == 0
    board.set_wake_count(7)
    assert board.wake_count() == 7 and fake_esp32.RTC.kept == b"7"
    assert board.woke_from_deep_sleep() is False


def test_mcu_temperature_in_celsius_on_every_chip():
    mod, board = fresh_board(type("C", (Config,), {"SENSORS": ("mcu_temp",)}), ntp_now=0, mcu_c=41.5)
    assert [s.read() for s in board.sensors()] == [{"mcu_temp_c": 41.5}]
    mod, board = fresh_board(type("C", (Config,), {"SENSORS": ("mcu_temp",)}), ntp_now=0, raw_f=122)
    assert board.sensors()[0].read() == {"mcu_temp_c": 50.0}
    mod, board = fresh_board(type("C", (Config,), {"SENSORS": ("bogus",)}), ntp_now=0)
    assert "bogus" in str(raises(ValueError, board.sensors))  # settings refuses it first (below)
    mod, board = fresh_board(type("C", (Config,), {"SENSORS": ("dht22",), "DHT22_PIN": 4}), ntp_now=0)
    assert board.sensors()[0].read() == {"humidity_pct": 65.2, "temp_c": 35.1}
    mod, board = fresh_board(type("C", (Config,), {"SENSORS": ("battery",), "BATTERY_PIN": 35}), ntp_now=0)
    assert board.sensors()[0].read() == {"battery_v": 3.7}


def _board_error(**over):
    """(field, message) of the ConfigError settings gives for the ESP32 board's fields in over."""
    mod, _ = fresh_board(None, ntp_now=0)
    fields = {"WIFI_SSID": "field-ap"}
    fields.update(over)
    try:
        settings.load(_good(**fields), "/state", mod.Board.FIELDS)
    except settings.ConfigError as e:
        return e.field, str(e)
    raise AssertionError("no ConfigError for %r" % (over,))


def test_the_board_fields_are_checked_at_start_like_the_others():
    mod, _ = fresh_board(None, ntp_now=0)
    s = settings.load(_good(WIFI_SSID="field-ap"), "/state", mod.Board.FIELDS)
    assert (s.WIFI_SSID, s.WIFI_PASSWORD, s.NTP_HOST, s.SENSORS, s.LED_PIN) == (
        "field-ap",
        None,
        "pool.ntp.org",
        ("mcu_temp",),
        None,
    )
    assert _board_error(WIFI_SSID=_DROP) == ("WIFI_SSID", "WIFI_SSID: missing")
    assert _board_error(SENSORS=("dht22",)) == ("DHT22_PIN", "DHT22_PIN: missing (SENSORS has 'dht22')")
    assert _board_error(SENSORS=("mcu_temp", "battery"))[0] == "BATTERY_PIN"
    assert _board_error(SENSORS="bme280") == ("SENSORS", "SENSORS: must be a tuple like ('mcu_temp',), got 'bme280'")
    _, msg = _board_error(SENSORS=("mcu_temp", "bogus"))
    assert msg.startswith('SENSORS: \'bogus\' is not one of "mcu_temp", "bme280"'), msg
    for name, value in (
        ("WIFI_SSID", ""),
        ("NTP_HOST", None),
        ("LED_PIN", "2"),
        ("SAFE_MODE_PIN", -1),
        ("I2C_SDA", 21.5),
        ("BME280_ADDRESS", True),
        ("BATTERY_DIVIDER", (100000,)),
        ("BATTERY_DIVIDER", (100000, 0)),
        ("BATTERY_GAIN", "1.0"),
    ):
        assert _board_error(**{name: value})[0] == name, (name, value)
    _, msg = _board_error(WIFI_PASSWORD=" hunter2-secret")
    assert "hunter2" not in msg, msg
    # what the board reads is the same value, or the one default its FIELDS declares
    assert (
        settings.load(_good(WIFI_SSID="ap", BATTERY_OFFSET_V=-0.05), "/s", mod.Board.FIELDS).BATTERY_OFFSET_V == -0.05
    )
    board = mod.Board(type("C", (Config,), {"I2C_SDA": 4}))
    assert (board.field("I2C_SDA"), board.field("I2C_SCL"), board.ntp_host) == (4, 22, "time.example")
    assert mod.Board(None).field("BATTERY_DIVIDER") == (100000, 100000)


def test_a_malformed_safe_mode_pin_is_no_safe_mode():
    # safe mode is asked before settings checks config: a pin that is not one must not crash it
    mod, _ = fresh_board(None, ntp_now=0)
    fake_esp32.Pin.held_low = (0,)
    try:
        for pin in ("0", None, -1, 0.0):
            assert mod.Board(type("C", (), {"SAFE_MODE_PIN": pin})).safe_mode() is False, pin
        assert mod.Board(type("C", (), {"SAFE_MODE_PIN": 0})).safe_mode() is True
    finally:
        fake_esp32.Pin.held_low = ()


def test_the_unix_board_has_no_fields_of_its_own():
    import board_unix

    assert board_unix.Board.FIELDS == ()
    assert settings.load(_good(), "state", board_unix.Board.FIELDS).DEVICE_ID == "dev-1"


def test_the_status_led_pin_follows_led():
    class WithLed(Config):
        LED_PIN = 2

    _, board = fresh_board(WithLed)
    board.led(True)
    assert (board._led.args[0], board._led.level) == (2, 1)
    board.led(False)
    assert board._led.level == 0
    _, board = fresh_board(Config)
    board.led(True)  # no LED_PIN: nothing to light, no error
    assert board._led is None
