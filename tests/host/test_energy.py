# make energy's arithmetic on fixed inputs (the measurement is the lab target's business): units,
# the charge of each power mode, the battery budget and the crossing interval.
import pytest

from lab import energy

# round figures, so every expectation below is worked by hand
FIGURES = {
    name: (v, "test")
    for name, v in {
        "volts": 3.0,
        "tx_ma": 100.0,
        "rx_ma": 50.0,
        "tx_bps": 800.0,  # 100 bytes take 1 s
        "idle_ma": 10.0,
        "cpu_ma": 10.0,
        "sleep_ma": 0.0,
        "secure_wake_s": 1.0,
        "secure_wake_ma": 100.0,
        "handshake_s": 0.5,
        "boot_s": 0.0,
        "cpu_factor": 1.0,
        "wifi_timeout_s": 5.0,
    }.items()
}


def measured(sent=0, received=0, deep_handshakes=0.5):
    return {
        "send_every": 2,
        "reading_wake_ms": 1000,
        "sending_wake_ms": 1000,
        "always_on": {"sent_per_reading": sent, "received_per_reading": received, "handshakes_per_reading": 0.0},
        "deep_sleep": {"sent_per_reading": 0, "received_per_reading": 0, "handshakes_per_reading": deep_handshakes},
    }


def test_charge_per_reading_in_each_mode():
    # always-on: 10 mA for the interval; deep sleep, SEND_EVERY 2: a 1 s reading wake at 10 mA, and a
    # sending wake of 1 s secure wake at 100 mA plus 1 s CPU at 10 mA, shared by two readings
    charges = energy.per_reading(measured(), 6, 2, FIGURES)
    assert charges == {"always_on": pytest.approx(60.0), "deep_sleep": pytest.approx(60.0)}
    # bytes cost air time at the TX (sent) or RX (received) current; a second handshake in a sending
    # wake costs 0.5 s at 100 mA
    assert energy.per_reading(measured(sent=100), 6, 2, FIGURES)["always_on"] == pytest.approx(160.0)
    assert energy.per_reading(measured(received=100), 6, 2, FIGURES)["always_on"] == pytest.approx(110.0)
    assert energy.per_reading(measured(deep_handshakes=1.0), 6, 2, FIGURES)["deep_sleep"] == pytest.approx(85.0)


def test_budget_units():
    mj, mah_day, days = energy.budget(60.0, 6, 2000, FIGURES)  # 60 mA*s at 3 V, a reading every 6 s
    assert mj == pytest.approx(180.0)  # mA*s * V = mJ
    assert mah_day == pytest.approx(60.0 * 14400 / 3600)  # 14,400 readings a day
    assert days == pytest.approx(2000 / 240.0)


def test_crossing_interval():
    assert energy.crossing_s(measured(), 2, FIGURES) == pytest.approx(6.0)
    # 1 mA asleep for the interval less the 1.5 s awake on average: 60 + (T - 1.5) = 10 T
    asleep = dict(FIGURES, sleep_ma=(1.0, "test"))
    assert energy.crossing_s(measured(), 2, asleep) == pytest.approx(58.5 / 9)
    assert energy.crossing_s(measured(), 2, dict(FIGURES, idle_ma=(0.0, "test"))) is None


def test_table_flags_a_sending_wake_longer_than_the_interval():
    lines = energy.table(measured(), [(1, 2), (6, 2)], 2000, FIGURES)
    assert lines[0].startswith("| INTERVAL_S | SEND_EVERY | mode |")
    rows = [line for line in lines[2:] if "deep_sleep" in line]
    assert "outlasts" in rows[0] and "outlasts" not in rows[1]
    assert "| 6 | 2 | deep_sleep | 180.0 | 240.00 | 8.3 |" in lines


def test_a_wake_with_no_network_costs_its_wifi_timeout_at_the_receive_current():
    # 5 s at 50 mA (receiving) and no boot, at 3 V
    assert energy.no_network_wake(FIGURES) == (5.0, pytest.approx(750.0))
    seconds, _ = energy.no_network_wake()
    assert seconds == energy.FIGURES["boot_s"][0] + energy.FIGURES["wifi_timeout_s"][0]


def test_the_wifi_timeout_figure_is_the_board_field_s_default():
    import fake_esp32

    fake_esp32.install()
    import iotsv_board_esp32 as board_esp32

    (default,) = [row[3] for row in board_esp32.Board.FIELDS if row[0] == "WIFI_TIMEOUT_S"]
    assert energy.FIGURES["wifi_timeout_s"][0] == default
