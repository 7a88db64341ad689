# The pieces of the main loop: sensor values and the reading's payload.
import json

import iotsv_app as app
import iotsv_appstart as appstart
import iotsv_dynamodb as dynamodb
import iotsv_httpsink as httpsink
import iotsv_numtext as numtext
from iotsv_sensors import Sensor, SensorError, SimulatedTemperature
from portable import raises, summary
from test_delivery import Board as DeliveryBoard


class Fixed(Sensor):
    name = "fixed"

    def __init__(self, values):
        self.values = values

    def read(self):
        return self.values


class Broken(Sensor):
    name = "broken"

    def read(self):
        raise SensorError("no answer on the bus")


def test_every_working_sensor_reports_and_reserved_or_bad_values_are_left_out():
    values = app.read_sensors(
        [
            Fixed({"a": 1}),
            Broken(),
            Fixed({"b": 2.5, "seq": 99, "a": 7}),
            Fixed({"c": float("nan"), "d": float("inf"), "e": -3}),
            Fixed({"f": 10**39 + 1, "g": 10**39, "h": True}),  # 40 significant digits: DynamoDB refuses it
        ]
    )
    assert values == {"a": 1, "b": 2.5, "e": -3, "g": 10**39, "h": True}


class _Client:
    conn = None


def test_the_devices_payload_maker_fills_one_bytearray_for_every_reading():
    sink = dynamodb.Sink(_Client(), "t")
    make = app.ReadingPayload(sink, "dev")
    first = make.fill(1795412461, {"t": 21.5, "h": 40})(1, 0)
    was = bytes(first)  # the spool writes it before the next reading is taken
    second = make.fill(1795412462, {"t": 22})(2, 4)
    assert second is first  # emptied and filled again: grown once, not made again
    assert bytes(second) == bytes(app.reading_payload(sink, "dev", 1795412462, {"t": 22})(2, 4))
    assert json.loads(was) == json.loads(app.reading_payload(sink, "dev", 1795412461, {"t": 21.5, "h": 40})(1, 0))
    assert json.loads(bytes(second))["dropped"] == {"N": "4"} and "h" not in json.loads(bytes(second))


def test_payload_is_the_item_with_seq_and_dropped_as_each_sink_sends_it():
    make = app.reading_payload(dynamodb.Sink(_Client(), "t"), "dev", 1795412461, {"t": 21.5})
    assert json.loads(make(7, 0)) == {
        "deviceId": {"S": "dev"},
        "seq": {"N": "7"},
        "ts": {"N": "1795412461"},
        "t": {"N": "21.5"},
    }
    assert json.loads(make(8, 3))["dropped"] == {"N": "3"}
    plain = app.reading_payload(
        httpsink.Sink(None, "https://h/r", "rfc9421", "k", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", None, None),
        "dev",
        1795412461,
        {"t": 21.5},
    )
    assert json.loads(plain(9, 2)) == {"deviceId": "dev", "seq": 9, "ts": 1795412461, "t": 21.5, "dropped": 2}


def test_simulated_sensor_stays_in_a_plausible_range():
    s = SimulatedTemperature(lambda: 1795412461)
    for _ in range(50):
        v = s.read()["sim_temp_c"]
        assert 17.0 < v < 25.0


def test_both_sinks_write_the_numbers_a_person_reads():
    values = {"load1": 0.07000000000000001, "sum": 0.1 + 0.2, "t": -40.0, "n": 3, "on": True, "name": 'a"b'}
    ddb = json.loads(app.reading_payload(dynamodb.Sink(_Client(), "t"), "dev", 1795412461, values)(1, 0))
    assert (ddb["load1"], ddb["sum"], ddb["t"], ddb["n"]) == ({"N": "0.07"}, {"N": "0.3"}, {"N": "-40"}, {"N": "3"})
    sink = httpsink.Sink(None, "https://h/r", "rfc9421", "k", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", None, None)
    raw = app.reading_payload(sink, "dev", 1795412461, values)(1, 0)
    assert b'"load1":0.07' in raw and b'"load1":0.070' not in raw and b'"sum":0.3' in raw and b'"t":-40' in raw
    assert json.loads(raw) == {"deviceId": "dev", "seq": 1, "ts": 1795412461, "load1": 0.07, "sum": 0.3, "t": -40,
                               "n": 3, "on": True, "name": 'a"b'}  # fmt: skip


def test_the_log_line_reads_the_numbers_off_each_sinks_payload():
    values = {"t": -4.5, "n": 3, "name": 'a":{"N":"9', "big": 1e-07, "on": False}
    ddb = dynamodb.Sink(_Client(), "t")
    sink = httpsink.Sink(None, "https://h/r", "rfc9421", "k", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", None, None)
    for s in (ddb, sink):
        payload = app.reading_payload(s, "dev", 1795412461, values)(7, 2)
        ts, text = summary(s, payload)
        assert ts == "1795412461" and sorted(text.split()) == ["big=1e-07", "dropped=2", "n=3", "t=-4.5"], payload
    # the plain-JSON sink writes the same bytes whatever the dict order: names sorted
    assert sink.encode({"b": 1, "a": 2.5}) == sink.encode({"a": 2.5, "b": 1}) == b'{"a":2.5,"b":1}'


def test_the_plain_json_sink_writes_json_dumps_bytes_with_numtext_s_numbers():
    sink = httpsink.Sink(None, "https://h/r", "rfc9421", "k", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", None, None)
    item = {"deviceId": "dev-1", "seq": 7, "t": 0.1 + 0.2, "n": -3, "big": 10**40, "tiny": 1e-7, "on": True}
    item.update(
        {"off": False, "none": None, "q": 'a"b\\c', "ctl": "a\tb", "uni": "\u00e9", "l": [1, "x"], "m": {"k": 2}}
    )
    pairs = []
    for name in sorted(item):
        v = item[name]
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        pairs.append(json.dumps(name) + ":" + (numtext.text(v) if number else json.dumps(v)))
    assert sink.encode(item) == ("{" + ",".join(pairs) + "}").encode()
    assert raises(ValueError, sink.encode, {"t": float("nan")})


def test_a_reading_spooled_by_an_earlier_version_still_has_its_log_line():
    spaced = b'{"deviceId": {"S": "dev"}, "seq": {"N": "4"}, "ts": {"N": "1795412461"}, "t": {"N": "21.5"}}'
    assert summary(dynamodb.Sink(_Client(), "t"), spaced) == ("1795412461", "t=21.5")


def test_the_status_led_is_lit_while_a_request_is_in_flight():
    seen = []

    class Board:
        def led(self, on):
            seen.append(("led", on))

    class Delivery:
        def step(self):
            seen.append("step")
            raise OSError(5)  # even a failing step puts the LED out

    class Bare(app.Device):
        def __init__(self):  # only what send() uses
            self.board, self.delivery = Board(), Delivery()

    assert raises(OSError, Bare().send)
    assert seen == [("led", True), "step", ("led", False)]


class _TickBoard(DeliveryBoard):
    """Ticks that move only when the loop sleeps or a request blocks."""

    def sleep_ms(self, ms):
        self.ms += ms

    def feed_watchdog(self):
        pass

    def led(self, on):
        pass

    def network_up(self, wait_ms=None):
        return True

    resyncs = 0

    def maybe_resync(self, synced_ms=None):
        self.resyncs += 1  # the board's own rule decides whether NTP is due (test_board_esp32)
        return synced_ms


class _Settings:
    INTERVAL_S, READINGS, DELIVERY_TIMEOUT_S, WATCHDOG_S, KEEP_CONNECTION_S = 2, 12, 120, 0, 60
    SINK, AWS_DYNAMODB_TABLE, AWS_HOST, USE_TLS, DEVICE_ID = "dynamodb", "t", "h", True, "dev"


def test_a_request_that_blocks_skips_the_missed_slots_and_counts_them_not_a_burst():
    from portable import capture

    board = _TickBoard()
    taken = []  # ticks of each reading

    class Delivery:
        delivered = retries = dead = dropped = 0
        sends = 0

        def note_taken(self, seq):
            pass

        def wait_ms(self):
            return 0

        def has_work(self):
            return len(taken) < _Settings.READINGS

        def queued(self):
            return 0

        def stalled_ms(self):
            return 0

        def step(self):
            Delivery.sends += 1
            board.ms += 30000 if Delivery.sends == 3 else 500  # one request hung for 30 s

    class Loop(app.Device):
        def __init__(self):  # only what always_on uses
            self.settings, self.board, self.delivery = _Settings, board, Delivery()
            self.taking, self.updates, self.missed, self.max_batch = True, None, 0, 25
            self.spool = type("S", (), {"count": 0, "last_seq": 0})
            self.conn = type("C", (), {"connects": 1, "close": lambda self: None})()
            self.clock = type("K", (), {"offset": 0})

        def take_reading(self):
            taken.append(board.ms)
            if len(taken) >= _Settings.READINGS:
                self.taking = False
            return len(taken)

    loop = Loop()
    code, out = capture(loop.always_on)
    assert code == 0, out
    gaps = [b - a for a, b in zip(taken, taken[1:])]
    assert min(gaps) >= 2000, gaps  # never two readings within an interval (one timestamp)
    assert loop.missed == 14 and "schedule: 14 reading slot(s) missed (busy for 29000 ms)" in out, (loop.missed, out)
    assert "14 slot(s) missed" in out  # in the summary
    assert board.resyncs == Delivery.sends  # always on too, the board is asked at each send whether NTP is due


def test_a_connection_is_closed_after_a_send_when_its_next_send_is_further_off_than_keep_connection_s():
    class Conn:
        closed = 0

        def close(self):
            self.closed += 1

    class Queue:
        def __init__(self, wait):
            self.wait = wait

        def wait_ms(self):
            return self.wait

    class Rest(app.Device):
        def __init__(self, wait, taking, alert_wait=None):
            self.settings, self.board, self.taking = _Settings, _TickBoard(), taking
            self.delivery, self.conn = Queue(wait), Conn()
            if alert_wait != "none":
                self.alerts = Queue(alert_wait)
                self.alerts.sink = type("K", (), {"conn": Conn()})()

    def closed(wait, taking=True, due=0, alert_wait="none"):
        d = Rest(wait, taking, alert_wait)
        d.rest_connections(due)
        return d.conn.closed, d.alerts.sink.conn.closed if d.alerts is not None else None

    assert closed(0) == (0, None)  # a batch is waiting: the connection is kept for it
    assert closed(60000) == (0, None)  # a retry within KEEP_CONNECTION_S = 60
    assert closed(60001) == (1, None)
    assert closed(None, due=30000) == (0, None)  # nothing queued: the next reading, 30 s away, sends
    assert closed(None, due=90000) == (1, None)
    assert closed(None, taking=False) == (1, None)  # nothing more to send
    assert closed(0, alert_wait=None) == (0, 1)  # no alert waiting: the alerts' connection goes


def test_only_a_deep_sleep_wake_that_reads_skips_the_tls_checks():
    import iotsv_wakestate as wakestate

    class Memory:
        def __init__(self, into):
            self.into = into

        def set_rtc_memory(self, data):
            self.into.append(data)

    class Board:
        def __init__(self, woke, count):
            self.woke, self.count = woke, count

        def woke_from_deep_sleep(self):
            return self.woke

        def rtc_memory(self):
            data = []
            wakestate.save(Memory(data), wakestate.Line(self.count))
            return data[0]

    class Sleepy:
        POWER_MODE, SEND_EVERY = "deep_sleep", 3

    assert appstart.reading_wake(Sleepy, Board(True, 3)) is True  # wake 4 of every 3rd sending
    assert appstart.reading_wake(Sleepy, Board(True, 2)) is False  # wake 3 sends: its TLS is checked
    assert appstart.reading_wake(Sleepy, Board(False, 3)) is False  # a power-on or reset checks everything
    assert appstart.reading_wake(Sleepy, Board(True, 0)) is False  # the first wake too
    Sleepy.POWER_MODE = "always_on"
    assert appstart.reading_wake(Sleepy, Board(True, 3)) is False
