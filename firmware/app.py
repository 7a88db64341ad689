# The device's main job: a reading every INTERVAL_S seconds, each written to DynamoDB as one
# item signed with SigV4 over verified TLS; one line printed per delivered reading.
import dynamodb
import httpclient
import settings
from seqstore import SeqStore

RETRY_DELAYS_MS = (500, 1000, 2000)  # after the 1st, 2nd and 3rd failed attempt of a reading


class NotDelivered(Exception):
    pass


def take_reading(board, sensors, device_id, seq):
    item = {"deviceId": device_id, "seq": seq, "ts": int(board.time())}
    for sensor in sensors:
        try:
            values = sensor.read()
        except Exception as e:  # one broken sensor must not stop the others
            print("warning: %s: %s" % (sensor.name, e))
            continue
        for name in values:
            if name not in item:
                item[name] = values[name]
    return item


def deliver(client, board, table, item):
    """Put the item, retrying what a retry can fix; raise NotDelivered with the cause."""
    attempt = 0
    while True:
        try:
            client.put_item(table, item)
            return attempt
        except (dynamodb.DynamoDBError, httpclient.HttpError) as e:
            if not e.retryable or attempt >= len(RETRY_DELAYS_MS):
                raise NotDelivered(str(e))
            print("retry: seq=%d: %s" % (item["seq"], e))
            board.sleep_ms(RETRY_DELAYS_MS[attempt])
            attempt += 1


def _values(item):
    return " ".join(
        "%s=%s" % (k, item[k]) for k in sorted(item) if k not in ("deviceId", "seq", "ts")
    )


def run(config, board):
    """Returns the process exit code: 0 done or stopped, 1 a reading not delivered, 2 bad config."""
    try:
        s = settings.load(config, board.state_dir())
    except settings.ConfigError as e:
        print("config error: %s" % e)
        return 2
    board.network_up()
    board.sync_time()
    try:
        seqs = SeqStore(s.STATE_DIR)
        seq = seqs.last() + 1
    except (OSError, ValueError) as e:
        print("state error: STATE_DIR: %s" % e)
        return 2
    if s.READINGS and seq > s.READINGS:
        print("done: all %d readings were delivered before (STATE_DIR %s)" % (s.READINGS, s.STATE_DIR))
        return 0

    conn = httpclient.Connection(s.host, s.port, s.USE_TLS, s.ca_der, s.HTTP_TIMEOUT_S)
    creds = dynamodb.Credentials(s.AWS_ACCESS_KEY, s.AWS_SECRET_KEY, s.AWS_SESSION_TOKEN)
    client = dynamodb.Client(conn, creds, s.AWS_REGION, s.AWS_HOST, board.time)
    sensors = board.sensors()
    print("device %s: table %s at %s (%s), a reading every %ss, %s"
          % (s.DEVICE_ID, s.AWS_DYNAMODB_TABLE, s.AWS_HOST, "TLS" if s.USE_TLS else "plain HTTP",
             s.INTERVAL_S, "%d readings" % s.READINGS if s.READINGS else "until stopped"))
    if not s.USE_TLS:
        print("warning: USE_TLS is False: requests and readings travel unencrypted")

    interval_ms = int(s.INTERVAL_S * 1000)
    due = board.ticks_ms()
    delivered = 0
    try:
        while not s.READINGS or seq <= s.READINGS:
            board.sleep_ms(board.ticks_diff(due, board.ticks_ms()))
            due += interval_ms
            item = take_reading(board, sensors, s.DEVICE_ID, seq)
            started = board.ticks_ms()
            deliver(client, board, s.AWS_DYNAMODB_TABLE, item)
            latency = board.ticks_diff(board.ticks_ms(), started)
            seqs.save(seq)
            delivered += 1
            print("delivered seq=%d ts=%d %s latency_ms=%d" % (seq, item["ts"], _values(item), latency))
            seq += 1
    except NotDelivered as e:
        print("error: reading seq=%d not delivered: %s" % (seq, e))
        return 1
    except ValueError as e:  # a value DynamoDB cannot store (NaN, ...): a sensor bug
        print("error: reading seq=%d cannot be written: %s" % (seq, e))
        return 1
    except KeyboardInterrupt:
        print("stopped: %d readings delivered, last seq %d" % (delivered, seq - 1))
        return 0
    finally:
        conn.close()
    print("done: %d readings delivered, last seq %d, %d connection(s) opened"
          % (delivered, seq - 1, conn.connects))
    return 0
