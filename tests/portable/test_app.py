# The main loop's pieces with a fake board, sensors and client: readings, retries, causes.
import app
from dynamodb import DynamoDBError
from httpclient import ConnectError, TlsError
from sensors import Sensor, SensorError, SimulatedTemperature


class FakeBoard:
    def __init__(self):
        self.slept = []

    def time(self):
        return 1795412461.7

    def sleep_ms(self, ms):
        self.slept.append(ms)


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


class FlakyClient:
    def __init__(self, failures):
        self.failures = list(failures)
        self.puts = []

    def put_item(self, table, item):
        self.puts.append((table, item))
        if self.failures:
            raise self.failures.pop(0)


def test_reading_has_key_timestamp_and_every_working_sensor():
    item = app.take_reading(FakeBoard(), [Fixed({"a": 1}), Broken(), Fixed({"b": 2.5, "seq": 99})], "dev", 7)
    assert item == {"deviceId": "dev", "seq": 7, "ts": 1795412461, "a": 1, "b": 2.5}


def test_retryable_failures_are_retried_with_growing_delays():
    board = FakeBoard()
    client = FlakyClient([DynamoDBError("ThrottlingException", "slow", 400), ConnectError("refused")])
    assert app.deliver(client, board, "t", {"seq": 1}) == 2
    assert len(client.puts) == 3 and board.slept == [500, 1000]


def test_non_retryable_failure_stops_at_once_with_its_cause():
    board = FakeBoard()
    for failure in (DynamoDBError("SignatureDoesNotMatch", "sig", 403), TlsError("bad certificate")):
        client = FlakyClient([failure])
        try:
            app.deliver(client, board, "t", {"seq": 1})
        except app.NotDelivered as e:
            assert str(e) == str(failure)
        else:
            raise AssertionError("delivered")
        assert len(client.puts) == 1 and board.slept == []


def test_retries_are_bounded():
    board = FakeBoard()
    client = FlakyClient([DynamoDBError("InternalServerError", "x", 500)] * 10)
    try:
        app.deliver(client, board, "t", {"seq": 1})
    except app.NotDelivered as e:
        assert "InternalServerError" in str(e)
    else:
        raise AssertionError("delivered")
    assert len(client.puts) == 4 and board.slept == [500, 1000, 2000]


def test_simulated_sensor_stays_in_a_plausible_range():
    s = SimulatedTemperature(lambda: 1795412461)
    for _ in range(50):
        v = s.read()["sim_temp_c"]
        assert 17.0 < v < 25.0
