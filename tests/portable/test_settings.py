# Config validation: each field missing or malformed gives one ConfigError naming it.
from iotsv_settings import ConfigError, load
from portable import _DROP, SECRET, Cfg, _der_path, _error, _good, _refusal, raises, scratch


def test_defaults():
    s = load(_good())
    assert (s.host, s.port, s.AWS_HOST) == (
        "dynamodb.eu-west-1.amazonaws.com",
        None,
        "dynamodb.eu-west-1.amazonaws.com",
    )
    assert (s.INTERVAL_S, s.READINGS, s.STATE_DIR, s.USE_TLS) == (2, 0, "state", True)
    assert (s.DELIVERY_TIMEOUT_S, s.SPOOL_MAX_BYTES, s.HTTP_TIMEOUT_S) == (120, 256 * 1024, 10)
    assert s.KEEP_CONNECTION_S == 60
    assert s.ca_der[0] == 0x30


def test_host_with_port():
    s = load(_good(AWS_HOST="localhost:4566"))
    assert (s.host, s.port, s.AWS_HOST) == ("localhost", 4566, "localhost:4566")


def test_each_required_field_missing_is_named():
    for name in ("AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_REGION", "AWS_DYNAMODB_TABLE", "CA_FILE", "DEVICE_ID"):
        assert _error(**{name: _DROP}) == (name, name + ": missing")


def test_malformed_fields_are_named():
    cases = (
        ("AWS_REGION", "us_east_1"),
        ("AWS_REGION", "US-EAST-1"),
        ("AWS_REGION", 1),
        ("AWS_HOST", "https://localhost"),
        ("AWS_HOST", "localhost:0"),
        ("AWS_HOST", "h:99999"),
        ("AWS_DYNAMODB_TABLE", "ab"),
        ("AWS_DYNAMODB_TABLE", "has space"),
        ("AWS_ACCESS_KEY", "AKIA-SHORT"),
        ("DEVICE_ID", ""),
        ("DEVICE_ID", "x" * 129),
        ("INTERVAL_S", -1),
        ("INTERVAL_S", "2"),
        ("READINGS", 1.5),
        ("READINGS", True),
        ("USE_TLS", "yes"),
        ("CA_FILE", "/nonexistent/ca.der"),
        ("AWS_SESSION_TOKEN", ""),
        ("AWS_SECRET_KEY", "short"),
        ("AWS_SECRET_KEY", SECRET + "\n"),
        ("SPOOL_MAX_BYTES", 1000),
        ("SPOOL_MAX_BYTES", 2.5e6),
        ("DELIVERY_TIMEOUT_S", 0),
        ("WATCHDOG_S", 30),  # under 2 x (REQUEST_TIMEOUT_S + HTTP_TIMEOUT_S): it would fire in a slow turn
        ("WATCHDOG_S", -1),
        ("POWER_MODE", "sometimes"),
        ("SEND_EVERY", 0),
        ("KEEP_CONNECTION_S", -1),
        ("KEEP_CONNECTION_S", "60"),
    )
    for name, value in cases:
        field, _ = _error(**{name: value})
        assert field == name, (name, value, field)


def test_the_watchdog_outlasts_the_longest_unfed_stretch():
    import iotsv_settings as settings

    # defaults: HTTP_TIMEOUT_S 10, REQUEST_TIMEOUT_S 30: credentials then PutItem, each 30 s + a handshake wait
    assert settings.load(_good(WATCHDOG_S=80)).WATCHDOG_S == 80
    field, msg = _error(WATCHDOG_S=79)
    assert field == "WATCHDOG_S" and "at least 2 x (REQUEST_TIMEOUT_S + HTTP_TIMEOUT_S) = 80" in msg, msg
    assert _error(WATCHDOG_S=60, HTTP_TIMEOUT_S=5, REQUEST_TIMEOUT_S=30)[0] == "WATCHDOG_S"  # 70 needed
    assert settings.load(_good(WATCHDOG_S=0)).WATCHDOG_S == 0  # off


def test_secret_values_are_never_echoed():
    for name, value in (
        ("AWS_SECRET_KEY", "short-secret"),
        ("AWS_SECRET_KEY", " " + SECRET),
        ("AWS_SESSION_TOKEN", " token-value-xyz "),
    ):
        _, msg = _error(**{name: value})
        assert value.strip() not in msg, msg


def _pem(name, kind="CERTIFICATE"):
    path = scratch(name)
    with open(path, "w") as f:
        f.write("-----BEGIN %s-----\nMIIB\n-----END %s-----\n" % (kind, kind))
    return path


def test_pem_is_refused_with_the_command_that_converts_that_file():
    path = _pem("AmazonRootCA1.pem")
    out = path[: -len(".pem")] + ".der"
    fix = "is PEM; the board needs DER: openssl x509 -in %s -outform DER -out %s" % (path, out)
    assert _error(CA_FILE=path) == ("CA_FILE", "CA_FILE: %s %s" % (path, fix))
    der = _der_path()
    iot = dict(CREDENTIALS="iot", AWS_ACCESS_KEY=_DROP, AWS_SECRET_KEY=_DROP, IOT_CREDENTIALS_HOST="c1.example")
    iot.update(IOT_ROLE_ALIAS="alias", DEVICE_CERT_FILE=der, DEVICE_KEY_FILE=der)
    cert = _pem("thing-certificate.pem.crt")
    iot["DEVICE_CERT_FILE"] = cert
    _, msg = _error(**iot)
    assert msg.endswith(": openssl x509 -in %s -outform DER -out %s.der" % (cert, cert)), msg
    key = _pem("device.key", "PRIVATE KEY")
    iot.update(DEVICE_CERT_FILE=der, DEVICE_KEY_FILE=key)
    _, msg = _error(**iot)
    assert msg.endswith(": openssl pkey -in %s -outform DER -out %s.der" % (key, key)), msg


def test_plain_http_needs_no_ca():
    s = load(_good(USE_TLS=False, CA_FILE=_DROP))
    assert s.USE_TLS is False and s.ca_der is None


def _http(**over):
    fields = {
        "SINK": "http",
        "HTTP_URL": "https://api.example.com:8443/readings?x=1",
        "HTTP_AUTH": "rfc9421",
        "HTTP_KEY_ID": "k1",
        "HTTP_SECRET_B64": "c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
        "CA_FILE": _der_path(),
        "DEVICE_ID": "dev-1",
    }
    fields.update(over)
    return Cfg(**{k: v for k, v in fields.items() if v is not _DROP})


def _http_error(**over):
    return _refusal(_http(**over))


def test_http_sink_needs_no_aws_fields():
    s = load(_http())
    assert (s.SINK, s.host, s.port, s.USE_TLS, s.HTTP_AUTH) == ("http", "api.example.com", 8443, True, "rfc9421")
    s = load(_http(HTTP_URL="http://127.0.0.1/r", CA_FILE=_DROP))
    assert (s.USE_TLS, s.ca_der, s.port) == (False, None, None)


def test_http_sink_fields_are_checked():
    for name, value in (
        ("HTTP_URL", "ftp://x/y"),
        ("HTTP_URL", "https:///path"),
        ("HTTP_AUTH", "sigv4"),
        ("HTTP_KEY_ID", 'a"b'),
        ("HTTP_SECRET_B64", "not base64!"),
        ("HTTP_SECRET_B64", "c2hvcnQ="),
        ("SINK", "mqtt"),
        ("HTTP_URL", _DROP),
        ("CA_FILE", _DROP),
    ):
        field, msg = _http_error(**{name: value})
        assert field == name, (name, value, field, msg)
    assert _http_error(HTTP_AUTH="cybersource")[0] == "HTTP_MERCHANT_ID"
    _, msg = _http_error(HTTP_SECRET_B64="not base64!")
    assert "not base64!" not in msg


def test_iot_credentials_need_the_provider_and_the_device_certificate():
    der = _der_path()
    iot = dict(
        CREDENTIALS="iot",
        AWS_ACCESS_KEY=_DROP,
        AWS_SECRET_KEY=_DROP,
        IOT_CREDENTIALS_HOST="c1.credentials.iot.eu-west-1.amazonaws.com",
        IOT_ROLE_ALIAS="sensor-role-alias",
        DEVICE_CERT_FILE=der,
        DEVICE_KEY_FILE=der,
    )
    s = load(_good(**iot))
    assert (s.CREDENTIALS, s.iot_host, s.iot_port, s.IOT_THING_NAME) == (
        "iot",
        "c1.credentials.iot.eu-west-1.amazonaws.com",
        None,
        None,
    )
    for name, value in (
        ("IOT_CREDENTIALS_HOST", _DROP),
        ("IOT_ROLE_ALIAS", "bad alias"),
        ("DEVICE_CERT_FILE", "/nope"),
        ("DEVICE_KEY_FILE", _DROP),
        ("CREDENTIALS", "sso"),
    ):
        over = dict(iot)
        over[name] = value
        assert _error(**over)[0] == name, (name, value)
    assert _error(USE_TLS=False, CA_FILE=_DROP, **iot)[0] == "USE_TLS"


def test_an_upper_case_name_that_is_no_field_is_refused_with_the_nearest():
    assert _error(INTERVAL=60) == ("INTERVAL", "INTERVAL: not a config field; did you mean INTERVAL_S?")
    assert _error(READING=3) == ("READING", "READING: not a config field; did you mean READINGS?")
    assert _error(INTERVALS_S=5) == ("INTERVALS_S", "INTERVALS_S: not a config field; did you mean INTERVAL_S?")
    assert _error(AWS_REGON="eu-west-1")[1].endswith("did you mean AWS_REGION?")
    assert _error(FOO=1) == ("FOO", "FOO: not a config field")
    assert _error(PIN=1) == ("PIN", "PIN: not a config field")  # SINK is 2 edits away: too far for 3 letters
    # the user's own helpers: lower-case, mixed-case or "_" names
    s = load(_good(helper=1, Helper=2, _KEY_DIR="/certs", key_dir="/certs"))
    assert s.DEVICE_ID == "dev-1"


def test_the_running_boards_fields_are_fields_there_only():
    board = (("WIFI_SSID", "text", None, None, True),)
    assert load(_good(WIFI_SSID="ap"), "state", board).WIFI_SSID == "ap"
    assert _error(WIFI_SSID="ap") == ("WIFI_SSID", "WIFI_SSID: not a config field")  # no such field on this board
    try:
        load(_good(WIFI_SSD="ap"), "state", board)
    except ConfigError as e:
        assert str(e) == "WIFI_SSD: not a config field; did you mean WIFI_SSID?"
    else:
        raise AssertionError("WIFI_SSD accepted")


def test_edit_distance():
    from iotsv_settings import _distance

    assert _distance("kitten", "sitting") == 3
    assert _distance("", "abc") == _distance("abc", "") == 3
    assert _distance("INTERVAL", "INTERVAL_S") == 2 and _distance("SAME", "SAME") == 0


class _Reads:
    """A config that records the names read from it."""

    def __init__(self, cfg, read):
        self._cfg, self._read = cfg, read

    def __getattr__(self, name):
        self._read.append(name)
        return getattr(self._cfg, name)


def test_every_declared_field_is_read_by_the_validation():
    # a field FIELDS declares but nothing reads would be accepted and ignored (and reading one it
    # does not declare is a KeyError)
    import iotsv_settings as settings

    read = []
    der = _der_path()
    iot = dict(CREDENTIALS="iot", AWS_ACCESS_KEY=_DROP, AWS_SECRET_KEY=_DROP, IOT_CREDENTIALS_HOST="c1.example")
    iot.update(IOT_ROLE_ALIAS="alias", DEVICE_CERT_FILE=der, DEVICE_KEY_FILE=der)
    unknown = settings._unknown
    settings._unknown = lambda cfg, fields: None  # MicroPython's dir() would try every name on _Reads
    try:
        sigv4 = dict(SINK="sigv4", AWS_DYNAMODB_TABLE=_DROP, SIGV4_URL="https://h/r", SIGV4_SERVICE="lambda")
        sigv4.update(SIGV4_OK_FIELD="ok", SIGV4_OK_VALUE="true")
        for cfg in (_good(), _good(**iot), _http(HTTP_AUTH="cybersource", HTTP_MERCHANT_ID="m"), _good(**sigv4)):
            load(_Reads(cfg, read))
    finally:
        settings._unknown = unknown
    assert sorted(set(read)) == sorted(row[0] for row in settings.FIELDS)


def test_hosts_and_urls_are_parsed_by_the_library_s_one_parser():
    import iotsv_url as url

    assert url.split_authority("h.example:8443") == ("h.example", 8443) and url.split_authority("h") == ("h", None)
    assert url.split_url("HTTPS://H.example:443/p?q#f") == ("https", "h.example", "/p", "q")
    assert url.authority("h", 443, 443) == "h" and url.authority("h", 8443, 443) == "h:8443"
    for bad in ("h:0", "h:x", "a/b", ""):
        assert raises(ValueError, url.split_authority, bad)


def test_a_deep_sleep_wake_checks_the_update_keys_form_not_its_point():
    import iotsv_ed25519 as ed25519
    import iotsv_settings as settings

    off_curve = None
    for i in range(2, 64):  # a y whose x**2 is no square mod p: 32 bytes that are no public key
        candidate = bytes([i]) + bytes(31)
        try:
            ed25519.public_key(candidate)
        except ed25519.Ed25519Error:
            off_curve = candidate
            break
    assert off_curve is not None
    hexkey = "".join("%02x" % b for b in off_curve)
    assert "is no Ed25519 public key" in str(raises(ValueError, settings.public_key_bytes, hexkey))
    assert settings.public_key_bytes(hexkey, decode=False) == off_curve  # the first wake refused it already
    assert "must be the 32-byte" in str(raises(ValueError, settings.public_key_bytes, "abcd", decode=False))
    cfg = _good(UPDATE_BUCKET="firmware", UPDATE_PUBLIC_KEY=hexkey)
    assert raises(ConfigError, load, cfg).field == "UPDATE_PUBLIC_KEY"  # a power-on or reset
    assert load(cfg, "state", (), True).update_key == off_curve  # a later wake from deep sleep
