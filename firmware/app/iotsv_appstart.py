# The device's start, what iotsv_app.run does once before its loop: the spool and clock opened (a
# state file a power cut tore reported), the connection, its TLS context and the sink made,
# alerts and updates set up (start: the device's parts); then, the device made, the watchdog
# started and the clock set (ready). iotsv_app.start loads this module for each of the two and
# drops it after (iotsv_transient): its code is not in the heap while the device loads its
# delivery engine, nor while readings are taken and delivered. It is handed the device rather
# than importing the module that imports it.
import gc

import iotsv_dynamodb as dynamodb
import iotsv_httpclient as httpclient
from iotsv_clock import Clock
from iotsv_spool import Spool


def ready(settings, board, device):
    """None when the loop may run, else the exit code."""
    if not device.has_work():  # before the watchdog: a board that is done must not be reset for it
        print("done: all %d readings were delivered before (STATE_DIR %s)" % (settings.READINGS, settings.STATE_DIR))
        return 0
    if settings.WATCHDOG_S:
        board.start_watchdog(settings.WATCHDOG_S)
    if not clock_is_set(settings, board):
        print("error: the clock was never set (NTP failed): refusing to sign requests dated 2000")
        return 1
    if settings.POWER_MODE != "deep_sleep":
        announce(device)
    return None


def start(settings, board, trial=False):
    """The device's parts: (spool, clock, conn, sink, alert rules or None, updates or None, the
    sink again when its signer is still to prepare, else None); or the exit code (2) of a
    STATE_DIR, CA or device key that cannot be used. trial: the version running is on trial."""
    s = settings
    conn = connection(s, board, s.host, s.port)
    check_tls = not reading_wake(s, board)  # a wake that only reads makes no request
    try:
        if s.USE_TLS and check_tls:
            # first, in the youngest heap: a few KB in one piece (3 on the 64-bit port), where the
            # spool's and clock's start leave holes; a CA that does not load is a config error
            conn.tls_context()
    except httpclient.TlsError as e:
        print("config error: %s" % e)
        return 2
    try:
        kept = None
        if s.POWER_MODE == "deep_sleep" and board.woke_from_deep_sleep():
            import iotsv_wakestate as wakestate  # deep sleep's only: not in an always-on heap

            kept = wakestate.load(board).kept
        spool = Spool(s.STATE_DIR, s.SPOOL_MAX_BYTES, kept)
        clock = Clock(board, s.STATE_DIR)
    except (OSError, ValueError) as e:
        import iotsv_oserror as oserror

        print("state error: STATE_DIR: %s" % oserror.describe(e))
        return 2
    report_recovery(spool, clock)
    # now: the sink's objects, kept for good, then fill the holes the spool's start leaves (code
    # loaded and dropped, a scan's garbage) rather than the heap's top, where they would split
    # its free space for the rest of the run
    gc.collect()
    try:
        later = []
        sink = make_sink(s, conn, clock, board, check_tls, later)
    except httpclient.TlsError as e:
        conn.close()
        print("config error: %s" % e)
        return 2
    rules = updates = None
    if s.ALERT_TOPIC_ARN is not None:
        import iotsv_snssink as snssink  # configured: only then its code in RAM

        try:  # its connection's TLS context is made from the CA that just loaded for the sink
            rules = snssink.start(s, sink, clock, board, check_tls, connection)
        except (OSError, ValueError) as e:  # the alerts' spool in STATE_DIR
            import iotsv_oserror as oserror

            conn.close()
            print("state error: STATE_DIR: %s" % oserror.describe(e))
            return 2
    if check_tls:
        s.ca_der = None  # the TLS contexts hold the CA parsed now: its DER bytes (a KB) need not stay
    if s.UPDATE_BUCKET or trial:  # else no update code in the heap at all, nor iotsv_versions
        import iotsv_updates
        import iotsv_versions

        updates = iotsv_updates.updates_for(s, board, iotsv_versions.state(), clock, sink)
    return spool, clock, conn, sink, rules, updates, later[0] if later else None


def clock_is_set(settings, board):
    """Awake for good, the network comes up now; waking from deep sleep, only when it sends (the
    RTC kept the time while it slept)."""
    if settings.POWER_MODE == "always_on" or not board.time_is_set():
        board.network_up()
        return board.sync_time() or board.time_is_set()
    return True


def prepares(settings):
    """Whether the sink's signers are prepared at start (preparing loads SigV4's canonicalization
    for a moment: while the heap is young, not at the first send): a DynamoDB client with static
    keys, always on (a sleeper's wakes mostly send nothing: it prepares at send)."""
    s = settings
    return s.SINK == "dynamodb" and s.CREDENTIALS != "iot" and s.POWER_MODE == "always_on"


def make_sink(settings, conn, clock, board, check_tls=True, later=None):
    """The sink of the settings, its signer prepared now (see prepares); later: a list that
    takes the sink instead, for start's caller to prepare once this module is dropped."""
    s = settings
    if s.SINK == "http":
        import iotsv_httpsink as httpsink

        return httpsink.Sink(
            conn, s.HTTP_URL, s.HTTP_AUTH, s.HTTP_KEY_ID, s.HTTP_SECRET_B64, s.HTTP_MERCHANT_ID, clock.now
        )
    if s.SINK == "sigv4":
        import iotsv_sigv4sink as sigv4sink

        ok = (s.SIGV4_OK_STATUS, s.SIGV4_OK_FIELD, s.SIGV4_OK_VALUE)
        if s.CREDENTIALS != "iot":
            keys = dynamodb.Credentials(s.AWS_ACCESS_KEY, s.AWS_SECRET_KEY, s.AWS_SESSION_TOKEN)
            return sigv4sink.Sink(conn, s.SIGV4_URL, s.SIGV4_SERVICE, s.AWS_REGION, keys, clock.now, ok)
        provider = iot_provider(s, clock, board, check_tls)
        return sigv4sink.Sink(conn, s.SIGV4_URL, s.SIGV4_SERVICE, s.AWS_REGION, None, clock.now, ok, provider)
    if s.CREDENTIALS != "iot":  # static keys: the client holds them, no provider module in RAM
        keys = dynamodb.Credentials(s.AWS_ACCESS_KEY, s.AWS_SECRET_KEY, s.AWS_SESSION_TOKEN)
        client = dynamodb.Client(conn, keys, s.AWS_REGION, s.AWS_HOST, clock.now)
        sink = dynamodb.Sink(client, s.AWS_DYNAMODB_TABLE)
        if prepares(s) and later is not None:
            later.append(sink)
        elif prepares(s):
            sink.prepare()
        return sink
    provider = iot_provider(s, clock, board, check_tls)
    client = dynamodb.Client(conn, None, s.AWS_REGION, s.AWS_HOST, clock.now)
    return dynamodb.Sink(client, s.AWS_DYNAMODB_TABLE, provider)


def connection(s, board, host, port):
    """A connection to host:port with the settings' TLS, CA and timeouts."""
    return httpclient.Connection(
        host,
        port,
        s.USE_TLS,
        s.ca_der,
        s.HTTP_TIMEOUT_S,
        request_timeout_s=s.REQUEST_TIMEOUT_S,
        resolve=board.resolve,
    )


def iot_provider(s, clock, board, check_tls):
    """The AWS IoT credentials provider over mutual TLS, for a SigV4 sink with CREDENTIALS "iot"."""
    import iotsv_credentials as credentials

    provider_conn = httpclient.Connection(
        s.iot_host,
        s.iot_port,
        True,
        s.ca_der,
        s.HTTP_TIMEOUT_S,
        client_cert_der=s.device_cert,
        client_key_der=s.device_key,
        request_timeout_s=s.REQUEST_TIMEOUT_S,
        resolve=board.resolve,
    )
    if check_tls:
        provider_conn.tls_context()  # at start too: the device certificate and key are checked now
    return credentials.IotCredentials(provider_conn, s.IOT_ROLE_ALIAS, s.IOT_THING_NAME, clock)


def announce(device):
    s = device.settings
    if s.SINK == "dynamodb":
        where = "table %s at %s" % (s.AWS_DYNAMODB_TABLE, s.AWS_HOST)
    elif s.SINK == "sigv4":
        where = "%s, signed SigV4 for %s in %s" % (s.SIGV4_URL, s.SIGV4_SERVICE, s.AWS_REGION)
    else:
        where = "%s, signed %s" % (s.HTTP_URL, s.HTTP_AUTH)
    print(
        "device %s: %s (%s), a reading every %ss, %s; %d waiting in the spool"
        % (
            s.DEVICE_ID,
            where,
            "TLS" if s.USE_TLS else "plain HTTP",
            s.INTERVAL_S,
            "%d readings" % s.READINGS if s.READINGS else "until stopped",
            device.spool.count,
        )
    )
    if not s.USE_TLS:
        print("warning: USE_TLS is False: requests and readings travel unencrypted")


def report_recovery(spool, clock):
    """One line for each state file a power cut left torn, and what the device took instead."""
    if spool.skipped_bytes:
        print("spool: skipped %d torn or corrupt bytes (a write cut by power loss)" % spool.skipped_bytes)
    if spool.ack_torn:
        print(
            "spool: spool.ack was torn (a write cut by power loss): treating nothing as acknowledged; "
            "already-sent readings may be sent again (harmless: same key)"
        )
    if clock.torn:
        print("clock: clock_offset was torn (a write cut by power loss): offset 0 until a server corrects it")


def reading_wake(settings, board):
    """True on a deep-sleep wake that will only take a reading (not a SEND_EVERY-th one): it skips
    the CA and device-certificate parse. Never on the first wake after a power-on or a reset,
    which checks everything (a bad CA is a config error then, not a failed send later)."""
    if settings.POWER_MODE != "deep_sleep" or not board.woke_from_deep_sleep():
        return False
    import iotsv_wakestate as wakestate

    return wakestate.reads_only(wakestate.load(board).wake + 1, settings.SEND_EVERY)
