# The device's main job: a reading every INTERVAL_S seconds, appended to the spool before anything
# is sent, and delivered to DynamoDB in batches signed with SigV4 over verified TLS. Taking
# readings never waits for the network: sends are interleaved with the reading schedule.

# The delivery path's modules, loaded before iotsv_appstart (which start() drops before the
# delivery engine loads): the hole its code leaves is then above them, not between them (on the
# 32-bit .mpy build the smallest heap that delivers is 2K less).
import gc

import iotsv_dynamodb  # noqa: F401
import iotsv_httpclient  # noqa: F401
import iotsv_numtext as numtext
import iotsv_transient as transient
from iotsv_clock import Clock  # noqa: F401
from iotsv_spool import Spool  # noqa: F401

RESERVED = ("deviceId", "seq", "ts", "dropped")


def run(settings, board, trial=False):
    """Runs with the validated settings; returns the process exit code: 0 done or stopped, 1 not
    delivered in time (or the clock never set), 2 a STATE_DIR, CA or device key found unusable
    at start. trial: the version running is on trial (its probation then runs)."""
    device, code = start(settings, board, trial)
    if device is None:
        return code
    try:
        if code is not None:
            return code
        device.sensors = board.sensors()  # after the start's code is gone: probing them takes heap
        if settings.POWER_MODE == "deep_sleep":
            from iotsv_wakecycle import wake_cycle  # a sleeper's only: not in an always-on heap

            return wake_cycle(device)
        return device.always_on()
    finally:
        device.close()


def start(settings, board, trial=False):
    """(the Device ready for its loop, None); (the device or None, the exit code) when it must
    not run: 2 a STATE_DIR, CA or device key unusable, 0 every reading delivered before, 1 the
    clock never set. The start is iotsv_appstart's, loaded for it and dropped (not in the loop's
    heap): it makes the device's parts and is gone before the signers are prepared and the device
    loads the delivery engine, the start's two fullest moments; then it comes back for the few
    checks that the device is ready."""
    parts = transient.run("iotsv_appstart", "start", settings, board, trial)
    if isinstance(parts, int):
        return None, parts
    gc.collect()  # now: what comes next fills the holes the start's code and garbage leave
    if parts[6] is not None:  # the sink to prepare: that loads SigV4's canonicalization for a moment
        parts[6].prepare()
        gc.collect()
    device = Device(settings, board, *parts[:6])
    try:
        return device, transient.run("iotsv_appstart", "ready", settings, board, device)
    except BaseException:  # Ctrl-C too: the connections made go with it
        device.close()
        raise


def read_sensors(sensors):
    """{name: number} from every sensor that answers; a broken sensor or a value DynamoDB
    cannot store (NaN, infinity, out of its range) is left out with a warning, never a crash."""
    values = {}
    for sensor in sensors:
        try:
            got = sensor.read()
        except Exception as e:  # one broken sensor must not stop the others
            print("warning: %s: %s" % (sensor.name, e))
            continue
        for name in got:
            v = got[name]
            if name in RESERVED or name in values:
                continue
            # a number DynamoDB refuses (NaN, infinity, beyond its 38 digits or its range), sent,
            # would be refused with the whole batch
            if (isinstance(v, int) or isinstance(v, float)) and not numtext.storable(
                v
            ):  # (int, float): a tuple a value
                print("warning: %s: %s is %r, left out" % (sensor.name, name, v))
                continue
            values[name] = v
    return values


class ReadingPayload:
    """The spool's payload maker, called with the reading's seq and dropped count: the reading as
    the sink sends it (DynamoDB AttributeValue JSON, or plain JSON). The device keeps one and
    fills it for each reading, where a closure made per reading would be heap churn."""

    def __init__(self, sink, device_id):
        self.sink = sink
        self.device_id = device_id
        self.ts = 0
        self.values = {}
        # A sink that writes its item into a bytearray (DynamoDB's) is given the same one for
        # every reading, emptied to how its item_start() began it: grown once to a reading's
        # size, it is not allocated again (the spool has written it by the next reading).
        first = sink.item_start()
        self.item = first if isinstance(first, bytearray) else None
        self.start = bytes(first) if self.item is not None else b""

    def fill(self, ts, values):
        self.ts = ts
        self.values = values
        return self

    def __call__(self, seq, dropped):
        sink, values, item = self.sink, self.values, self.item
        if item is None:
            item = sink.item_start()  # written attribute by attribute: no dict of the reading made
        else:
            item[:] = self.start  # resized in place: nothing allocated
        sink.item_field(item, "deviceId", self.device_id)
        sink.item_field(item, "seq", seq)
        sink.item_field(item, "ts", self.ts)
        for name in values:
            sink.item_field(item, name, values[name])
        if dropped:
            sink.item_field(item, "dropped", dropped)  # readings dropped for room just before this one
        return sink.item_end(item)


def reading_payload(sink, device_id, ts, values):
    """The payload maker of one reading."""
    return ReadingPayload(sink, device_id).fill(ts, values)


class Device:
    """What run() sets up (spool, clock, connection, sink, delivery, sensors) and the steps of
    the device's life: readings taken on schedule, deliveries between them."""

    alert_rules = None  # iotsv_alerts.Alerts and its Delivery (`alerts`), when configured
    alerts = None
    alerted = False  # an alert was made in this run (a deep-sleep wake then sends)

    def __init__(self, settings, board, spool, clock, conn, sink, alert_rules=None, updates=None):
        self.settings = settings
        self.board = board
        self.spool = spool
        self.clock = clock
        self.conn = conn
        self.sink = sink
        # only now, after the signers' preparation (which loads SigV4's canonicalization for a
        # moment): the delivery engine is not in the heap at that moment
        from iotsv_delivery import MAX_BATCH, Delivery

        self.max_batch = MAX_BATCH
        self.delivery = Delivery(
            sink, spool, clock, board, settings.STATE_DIR + "/deadletter.jsonl", settings.ADAPTIVE_RATE
        )
        self.taking = not settings.READINGS or spool.next_seq() <= settings.READINGS
        self.sensors = []  # the board's, asked for once there is work
        self.payload = ReadingPayload(sink, settings.DEVICE_ID)
        self.missed = 0  # reading slots skipped in this run because the loop was busy past them
        self.updates = updates  # iotsv_updates.Updates when updates are configured or a version is on trial
        if alert_rules is not None:
            self.alert_rules, self.alerts = alert_rules, alert_rules.delivery

    def close(self):
        self.conn.close()
        if self.alerts is not None:
            self.alerts.sink.conn.close()

    def has_work(self):
        return self.taking or self.has_sends()

    def has_sends(self):
        return self.delivery.has_work() or (self.alerts is not None and self.alerts.has_work())

    def wait_ms(self):
        """Until the next send is due, alerts' or readings' (0: now); None: nothing to send."""
        wait = self.delivery.wait_ms()
        if self.alerts is not None:
            w = self.alerts.wait_ms()
            if w is not None and (wait is None or w < wait):
                wait = w
        return wait

    def take_reading(self):
        """One reading into the spool; its seq. Taking ends at READINGS."""
        s = self.settings
        values = read_sensors(self.sensors)
        ts = int(self.clock.now())
        seq = self.spool.append(self.payload.fill(ts, values))
        if self.alert_rules is not None and self.alert_rules.take(values, ts):
            self.alerted = True
        if s.READINGS and seq >= s.READINGS:
            self.taking = False
        return seq

    def send(self):
        """One delivery step, the status LED lit while its request is in flight: an alert due goes
        ahead of the readings' backlog."""
        d = self.alerts
        if d is None or d.wait_ms() != 0:
            d = self.delivery
        self.board.led(True)
        try:
            d.step()
        finally:
            self.board.led(False)

    def rest_connections(self, due):
        """After a send: a connection whose next send is further off than KEEP_CONNECTION_S is
        closed, its TLS session's buffers freed until then (the next send connects again)."""
        limit = self.settings.KEEP_CONNECTION_S * 1000
        wait = self.delivery.wait_ms()
        if wait is None and self.taking:  # nothing queued: the next reading is the next send
            wait = max(0, self.board.ticks_diff(due, self.board.ticks_ms()))
        if wait is None or wait > limit:
            self.conn.close()
        if self.alerts is not None:
            wait = self.alerts.wait_ms()
            if wait is None or wait > limit:  # an alert is rare: its connection is seldom kept
                self.alerts.sink.conn.close()

    def stalled(self):
        limit = self.settings.DELIVERY_TIMEOUT_S * 1000
        return self.delivery.stalled_ms() > limit or (self.alerts is not None and self.alerts.stalled_ms() > limit)

    def always_on(self):
        """Readings every INTERVAL_S, deliveries between them, until READINGS are delivered (or
        Ctrl-C, or nothing delivered for DELIVERY_TIMEOUT_S with READINGS set)."""
        s, board, delivery = self.settings, self.board, self.delivery
        interval_ms = int(s.INTERVAL_S * 1000)
        due = board.ticks_ms()
        try:
            while True:
                if self.taking and board.ticks_diff(board.ticks_ms(), due) >= 0:
                    due = self.skip_missed(due, interval_ms)
                    delivery.note_taken(self.take_reading())
                    due = board.ticks_add(due, interval_ms)
                    taken = 1  # INTERVAL_S = 0 (as fast as they come): a batch's worth each turn
                    while not interval_ms and self.taking and taken < self.max_batch:
                        delivery.note_taken(self.take_reading())
                        taken += 1
                if self.wait_ms() == 0:
                    board.network_up(0)  # on a board: a new attempt if the station lost the network
                    board.maybe_resync()  # NTP when 3 h have passed (a board's RTC drifts); the OS's on unix
                    self.send()
                    self.rest_connections(due)
                board.feed_watchdog()  # the loop went round: readings and sends are not stuck
                if self.updates is not None:  # probation of a new version; a check for a release when due
                    code = self.updates.turn(delivery.delivered, self.conn)
                    if code is not None:
                        return code
                if not self.has_work():
                    break
                if s.READINGS and self.stalled():
                    print(
                        "error: %s; %d reading(s) kept in the spool for the next start"
                        % (delivery.stall(s.DELIVERY_TIMEOUT_S), delivery.queued())
                    )
                    return 1
                board.sleep_ms(self.idle_ms(due))
        except KeyboardInterrupt:
            print("stopped: %s" % self.summary())
            return 0
        except OSError as e:  # the spool's storage failed (full, worn, unmounted): nothing else can go on
            import iotsv_oserror as oserror

            print("error: STATE_DIR %s: cannot write the spool: %s" % (s.STATE_DIR, oserror.describe(e)))
            return 1
        print("done: %s" % self.summary())
        return 0

    def skip_missed(self, due, interval_ms):
        """The slot of the reading taken now: a turn that blocked past whole intervals (a slow
        request, the network coming up) skips those slots and counts them, rather than taking
        their readings back to back with one timestamp (a DHT22 cannot be read twice in 2 s);
        the schedule goes on from now, a whole interval to the next."""
        now = self.board.ticks_ms()
        late = self.board.ticks_diff(now, due)
        if not interval_ms or late < interval_ms:
            return due
        missed = late // interval_ms
        self.missed += missed
        print("schedule: %d reading slot(s) missed (busy for %d ms); %d in this run" % (missed, late, self.missed))
        return now

    def idle_ms(self, due):
        """How long to sleep: until the next reading or the next attempt, at most a second."""
        waits = [1000]
        wait = self.wait_ms()
        if wait is not None:
            waits.append(wait)
        if self.taking:
            waits.append(max(0, self.board.ticks_diff(due, self.board.ticks_ms())))
        return min(waits)

    def summary(self):
        d = self.delivery
        return (
            "%d readings delivered in this run (last seq %d), %d queued, %d retries, %d dead-lettered, "
            "%d dropped, %d connection(s), clock offset %+ds, %d slot(s) missed%s"
            % (
                d.delivered,
                self.spool.last_seq,
                d.queued(),
                d.retries,
                d.dead,
                d.dropped,
                self.conn.connects,
                self.clock.offset,
                self.missed,
                "" if self.alerts is None else ", %d alert(s) published" % self.alerts.delivered,
            )
        )
