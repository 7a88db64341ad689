# The ESP32 board layer on the host, with fakes of machine, network, ntptime and esp32.
import sys

import fake_esp32
import iotsv_settings as settings
import iotsv_utc as utc
import iotsv_wakestate as wakestate
from iotsv_wakecycle import wake_cycle
from portable import _DROP, _good, capture, raises

ESP32_EPOCH = 946684800


def fresh_board(config=None, **fakes):
    fake_esp32.install(**fakes)
    sys.modules.pop("iotsv_board_esp32", None)
    import iotsv_board_esp32 as board_esp32

    fake_esp32.patch_time(board_esp32)
    fake_esp32.CLOCK.rtc = 0
    fake_esp32.CLOCK.ticks = 0
    fake_esp32.CLOCK.ms = 0
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


def test_ntp_runs_again_only_once_ntp_resync_ms_have_passed():
    mod, board = fresh_board(Config, ntp_now=1000)
    calls = []
    settime = sys.modules["ntptime"].settime
    sys.modules["ntptime"].settime = lambda: calls.append(fake_esp32.CLOCK.rtc) or settime()
    assert board.sync_time() is True and len(calls) == 1
    synced = board.maybe_resync()
    assert len(calls) == 1  # just synced: not again
    fake_esp32.CLOCK.advance(mod.NTP_RESYNC_MS - 1000)
    assert board.maybe_resync() == synced and len(calls) == 1
    fake_esp32.CLOCK.advance(2000)
    board.maybe_resync()
    assert len(calls) == 2  # due: the drifting RTC is set again (the fake's NTP says 1000 s each time)


def test_wifi_connects_once_and_polls_status_to_an_address():
    mod, board = fresh_board(Config, ntp_now=0)
    import network

    fake_esp32.WLAN.ap = ("field-ap", "pw")
    assert board.network_up(wait_ms=120000) is True
    wlan = network.WLAN.instances[-1]
    assert wlan.active_state and wlan.reconnects == mod.WIFI_RECONNECTS
    assert [c[:2] for c in wlan.connect_calls] == [("field-ap", "pw")]  # one connect, then status() polled
    assert fake_esp32.CLOCK.ticks >= wlan.try_ms  # it waited for the association, not for a fixed delay


def test_connect_while_the_station_associates_raises_as_on_the_port():
    fresh_board(Config, ntp_now=0)
    import network

    wlan = network.WLAN(network.STA_IF)
    wlan.connect("field-ap", "pw")
    assert wlan.status() == network.STAT_CONNECTING
    assert "Wifi Internal Error" in str(raises(OSError, wlan.connect, "field-ap", "pw"))


def test_a_station_already_associating_is_waited_for_not_connected_again():
    mod, board = fresh_board(Config, ntp_now=0)

    fake_esp32.WLAN.ap = ("field-ap", "pw")
    wlan = board._station()
    wlan.connect("field-ap", "pw")  # the driver is associating (a connect before, a reconnect of its own)
    assert board.network_up(wait_ms=10000) is True and len(wlan.connect_calls) == 1


def test_no_access_point_is_named_and_each_retry_comes_after_a_disconnect_and_a_backoff():
    mod, board = fresh_board(Config, ntp_now=0)
    import network

    out = capture(lambda: board.network_up(wait_ms=60000))
    assert out[0] is False, out
    wlan = network.WLAN.instances[-1]
    lines = [line for line in out[1].split("\n") if line.startswith("wifi:")]
    assert lines[0] == "wifi: field-ap: STAT_NO_AP_FOUND; next attempt in 1 s", lines
    # the driver's own tries (1 + WIFI_RECONNECTS) end each attempt; then disconnect, back off, connect
    assert wlan.disconnects >= len(wlan.connect_calls) - 1 >= 2, (wlan.connect_calls, wlan.disconnects)
    starts = [t for _, _, t in wlan.connect_calls]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    tries = (1 + mod.WIFI_RECONNECTS) * wlan.try_ms
    assert [g - tries for g in gaps[:3]] == [1000, 2000, 4000][: len(gaps[:3])], gaps
    # a wrong password is named as the port names it, and the access point coming back is found
    fake_esp32.WLAN.ap = ("field-ap", "other")
    out = capture(lambda: board.network_up(wait_ms=60000))
    assert "wifi: field-ap: STAT_WRONG_PASSWORD" in out[1], out
    fake_esp32.WLAN.ap = ("field-ap", "pw")
    assert board.network_up(wait_ms=120000) is True


def test_network_up_with_no_wait_returns_at_once_and_a_lost_network_is_found_again():
    mod, board = fresh_board(Config, ntp_now=0)
    import network

    fake_esp32.WLAN.ap = ("field-ap", "pw")
    start = fake_esp32.CLOCK.ticks
    assert board.network_up(0) is False and fake_esp32.CLOCK.ticks == start  # an attempt began, no wait
    wlan = network.WLAN.instances[-1]
    fake_esp32.CLOCK.advance(wlan.try_ms)
    assert board.network_up(0) is True
    wlan.drop()  # the access point went away and the driver gave up
    assert board.network_up(wait_ms=30000) is True and len(wlan.connect_calls) == 2


def test_an_unknown_disconnect_reason_is_named_by_its_number():
    mod, _ = fresh_board(Config, ntp_now=0)
    assert mod.wifi_status_name(201) == "STAT_NO_AP_FOUND"
    assert mod.wifi_status_name(15) == "disconnect reason 15"


def test_watchdog_is_fed_while_waiting_and_identity_storage_and_sleep():
    mod, board = fresh_board(Config, ntp_now=0)
    board.start_watchdog(60)
    wdt = sys.modules["machine"].WDT.created[-1]
    assert wdt.timeout == 60000
    board.sleep_ms(65500)  # longer than the watchdog: fed in slices, not a hang
    assert wdt.feeds == 66 and wdt.longest <= 1000
    assert board.device_id() == "esp32-240ac4123456"
    assert board.state_dir() == "/state"
    assert raises(fake_esp32.DeepSleep, board.deep_sleep, 30000).ms == 30000  # deep sleep does not return
    fake_esp32.RTC.kept = b""
    assert wakestate.load(board).wake == 0
    wakestate.save(board, wakestate.Line(7, "c0ffee00:42:base", 1795412461000, kept="1 2 3 4 5 6"))
    line = wakestate.load(board)
    assert (line.wake, line.key, line.due, line.kept) == (7, "c0ffee00:42:base", 1795412461000, "1 2 3 4 5 6")
    assert fake_esp32.RTC.kept.startswith(b"2 7 c0ffee00:42:base 1795412461000 0 0 - 1 2 3 4 5 6 ")
    fake_esp32.RTC.kept = b"7"  # as an earlier firmware left it: no state, the wake starts afresh
    assert (wakestate.load(board).wake, wakestate.load(board).kept) == (0, None)
    assert board.woke_from_deep_sleep() is False


def test_an_unfed_watchdog_resets_the_board():
    fresh_board(Config, ntp_now=0)
    import machine

    wdt = machine.WDT(timeout=5000)
    fake_esp32.CLOCK.advance(4000)
    wdt.feed()
    assert raises(fake_esp32.WatchdogReset, fake_esp32.CLOCK.advance, 6000)


def test_rtc_memory_survives_deep_sleep_not_a_power_cut():
    mod, board = fresh_board(Config, ntp_now=0)
    fake_esp32.RTC.kept = b""
    wakestate.save(board, wakestate.Line(3))

    def wake():
        wakestate.save(board, wakestate.Line(wakestate.load(board).wake + 1))
        if wakestate.load(board).wake < 6:
            board.deep_sleep(1000)

    assert fake_esp32.Port().run(wake) == "repl"
    assert wakestate.load(board).wake == 6 and board.woke_from_deep_sleep()
    fake_esp32.power_cut()
    assert wakestate.load(board).wake == 0 and not board.woke_from_deep_sleep()


class _Sleepy:
    POWER_MODE, SEND_EVERY, INTERVAL_S, READINGS, wake_key = "deep_sleep", 1, 60, 0, None


def _wake(board, settings=_Sleepy, reading_ms=0):
    """A deep-sleep wake's Device with only what iotsv_wakecycle uses: a reading taken (in
    reading_ms), 4 waiting."""
    import iotsv_app as app

    class Delivery:
        delivered = 0

        def queued(self):
            return 4

        def has_work(self):
            return False

    class Wake(app.Device):
        def __init__(self):
            self.settings, self.board, self.delivery = settings, board, Delivery()
            self.taking, self.alerted, self.updates = True, False, None
            self.spool = type("S", (), {"kept": lambda self: "0 0 0 0 -1 0 0,0 0,0"})()

        def take_reading(self):
            fake_esp32.CLOCK.advance(reading_ms)
            return 4

        def has_work(self):
            return True

    return Wake()


def test_a_sending_wake_with_no_network_gives_up_within_wifi_timeout_s_and_sleeps_the_rest():
    for timeout_s in (5, 12):
        mod, board = fresh_board(type("C", (Config,), {"WIFI_TIMEOUT_S": timeout_s}), ntp_now=0)
        fake_esp32.RTC.kept = b""
        wake = _wake(board)
        slept, out = capture(lambda: raises(fake_esp32.DeepSleep, wake_cycle, wake))  # noqa: B023  (called here, at once)
        awake = fake_esp32.CLOCK.ticks  # ticks count from the wake, as the port's
        assert "deliver later: no network; 4 reading(s) wait in the spool; next try at wake 3" in out, out
        assert timeout_s * 1000 <= awake <= timeout_s * 1000 + 100, awake  # the bound the config sets
        assert slept.ms == 60000 - awake  # the next wake on its slot


def test_wakes_with_no_network_put_the_next_try_off_and_one_that_finds_it_resets_that():
    config = type("C", (Config,), {"WIFI_TIMEOUT_S": 5})
    mod, _ = fresh_board(config, ntp_now=0)
    fake_esp32.RTC.kept = b""
    tried = []  # the wakes that waited for the network
    for n in range(1, 34):
        if n == 20:
            fake_esp32.WLAN.ap = ("field-ap", "pw")  # the access point is back
        fake_esp32.CLOCK.ticks = 0
        wake = _wake(mod.Board(config))  # each wake a boot: a board (and a station) afresh
        e, out = capture(lambda: raises(fake_esp32.DeepSleep, wake_cycle, wake))  # noqa: B023  (called at once)
        if "(sending)" in out:
            tried.append(n)
        assert "wake %d " % n in out, out
        fake_esp32.CLOCK.advance(e.ms)
    # SEND_EVERY 1: every wake would try; after each miss the next try comes 2, 4, 8, 16 wakes on
    assert tried == [1, 3, 7, 15, 31, 32, 33], tried


def test_sending_wakes_set_the_clock_by_ntp_every_3_hours_not_at_every_wake():
    class Every10Minutes(_Sleepy):
        INTERVAL_S = 600

    mod, _ = fresh_board(Config, ntp_now=0)
    fake_esp32.RTC.kept = b""
    fake_esp32.WLAN.ap = ("field-ap", "pw")
    synced, now = [], [0]
    sys.modules["ntptime"].settime = lambda: synced.append(now[0])  # the clock stays as it runs
    for n in range(1, 41):
        now[0] = n
        fake_esp32.CLOCK.ticks = 0
        wake = _wake(mod.Board(Config), Every10Minutes)  # each wake a boot: no sync of its own yet
        e = capture(lambda: raises(fake_esp32.DeepSleep, wake_cycle, wake))[0]  # noqa: B023  (called at once)
        fake_esp32.CLOCK.advance(e.ms)
    assert synced == [1, 20, 39]  # 3 h is 18 wakes of 10 minutes: the first past it syncs


def test_deep_sleep_wakes_keep_their_slots_though_the_ticks_miss_the_boot():
    class Reading(_Sleepy):
        SEND_EVERY = 1000  # every wake only reads

    mod, board = fresh_board(Config, ntp_now=0)
    fake_esp32.RTC.kept = b""
    clock = fake_esp32.CLOCK
    fired = []  # the RTC's ms when each wake's timer fired
    for n in range(6):
        fired.append(clock.rtc * 1000 + clock.ms)
        boot = 180 + 40 * (n % 2)  # ROM and bootloader: before the ticks start
        clock.advance(boot)
        clock.ticks = 0
        e = capture(lambda: raises(fake_esp32.DeepSleep, wake_cycle, _wake(board, Reading, 35)))[0]
        # the interval less the ticks (35 ms), and, once a slot is kept, less the boot too
        assert e.ms == 60000 - 35 - (boot if n else 0), (n, e.ms)
        clock.advance(e.ms)
    # the first wake (a power-on) cannot know its boot; from then on no drift by it
    assert [b - a for a, b in zip(fired, fired[1:])] == [60180] + [60000] * 4


def test_a_wake_that_outlasts_its_interval_skips_the_slots_it_missed():
    for due, now, slept, nxt in (
        (None, 100000, 59700, 159700),  # the first: the interval less the time awake (300 ms)
        (160000, 160290, 59710, 220000),  # on its slot: the boot before the ticks is subtracted too
        (220000, 295000, 45000, 340000),  # awake 75 s: the slot at 280 s is skipped, not taken late
        (340000, 300000, 59700, 359700),  # the clock set back (NTP) past the slot: from this wake again
    ):
        assert wakestate.next_sleep(due, now, 60000, 300) == (slept, nxt), due


def test_system_exit_out_of_main_soft_resets_into_a_loop_the_port_test_sees():
    fresh_board(Config, ntp_now=0)

    def old_main():  # what main.py did: sys.exit(main())
        sys.exit(2)

    assert "reboot loop: 5 soft resets in a row" in str(raises(AssertionError, fake_esp32.Port().run, old_main))


def _halted(code, watchdog):
    """(how the port's boots ended, the port, what was printed) for main.py ending with code."""
    import iotsv_board as board_module

    mod, board = fresh_board(type("C", (Config,), {"RETRY_AFTER_S": 600, "LED_PIN": 2}), ntp_now=0)
    if watchdog:
        board.start_watchdog(60)
    port = fake_esp32.Port()
    ended, out = capture(lambda: port.run(lambda: board_module.finish(code, board), max_boots=3))
    assert board._led.level == 0 and not [b for b in port.boots if b.startswith("soft")], port.boots
    return ended, port, out


def test_done_config_error_and_a_failed_run_halt_without_a_reboot_loop():
    for code in (0, 2):
        ended, _, out = _halted(code, False)
        assert ended == "repl" and "halted (code %d): the REPL is yours" % code in out, out
    # the watchdog cannot be stopped: at the REPL it would reset the board under the person
    ended, port, out = _halted(0, True)
    assert ended == "asleep until reset" and port.boots == ["deep sleep 0 ms"], port.boots
    # a failed run: a timed sleep, then a fresh start; slow retries, never a tight loop
    ended, port, out = _halted(1, False)
    assert port.boots == ["deep sleep 600000 ms"] * 3 and "sleeping 600 s (RETRY_AFTER_S)" in out, port.boots


def test_dns_is_asked_with_a_bound_and_its_last_answer_kept():
    mod, board = fresh_board(Config, ntp_now=0)
    real = sys.modules.get("socket")
    socket = fake_esp32.install_socket()
    try:
        _dns_checks(mod, board, socket)
    finally:
        if real is None:
            sys.modules.pop("socket", None)
        else:
            sys.modules["socket"] = real


def _dns_checks(mod, board, socket):
    import iotsv_dns as dns

    fake_esp32.WLAN.ap = ("field-ap", "pw")
    board.network_up(wait_ms=10000)
    board.start_watchdog(5)
    host = "dynamodb.eu-west-1.amazonaws.com"
    fake_esp32.DNS.names = {host: "52.94.1.2"}
    assert board.resolve(host, 443, 0, socket.SOCK_STREAM)[0][-1] == ("52.94.1.2", 443)
    assert fake_esp32.DNS.asked[-1] == ("192.168.1.1", host)  # the DHCP server's resolver
    fake_esp32.DNS.names = None  # the resolver stops answering: each try waits its timeout, fed between
    start = fake_esp32.CLOCK.ticks
    assert board.resolve(host, 443, 0, socket.SOCK_STREAM)[0][-1] == ("52.94.1.2", 443)  # its last answer
    assert fake_esp32.CLOCK.ticks - start == 2 * mod.DNS_TIMEOUT_MS  # bounded, and the 5 s watchdog fed
    assert "no answer" in str(raises(OSError, board.resolve, "s3.amazonaws.com", 443))
    fake_esp32.DNS.names = {}
    assert "no answer" in str(raises(OSError, board.resolve, "nowhere.example", 443))  # no such name
    assert board.resolve("10.0.0.7", 80)[0][-1] == ("10.0.0.7", 80)  # an address is no lookup
    assert dns.answer(b"\x00" * 12) is None and dns.literal("10.0.0.256") is None


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
        ("WIFI_TIMEOUT_S", 0),
        ("RETRY_AFTER_S", 10),  # a failed run must not come back as a tight loop
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
    import iotsv_board_unix as board_unix

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
