# The config module checked once at start: every field present and well formed, and no upper-case
# name that is not a field, or one ConfigError naming the field and what is wrong (never echoing a
# secret).


from iotsv_spoolrecord import MIN_BUDGET as MIN_SPOOL_BYTES
from iotsv_transient import call_alone, run


def _url(name, *args):
    """iotsv_url's function `name` of args, the module loaded for the call: it stays out of the
    heap after validation unless a sink of the app needs it."""
    return run("iotsv_url", name, *args)


def _http_schemes():
    # httpsign's list (httpsink signs with it), loaded only when the HTTP sink is configured
    from iotsv_httpsign import SCHEMES

    return SCHEMES


class ConfigError(ValueError):
    def __init__(self, field, problem):
        super().__init__("%s: %s" % (field, problem))
        self.field = field


_MISSING = object()
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# Every field the validation below reads, declared once: (name, kind, the kind's argument, default,
# required). A board layer declares its own fields the same way (Board.FIELDS) and load() checks
# them with these same kinds. Kinds: "text"; "secret" (a text never echoed); "number" and "whole"
# (argument: the minimum, None for none); "bool"; "choice" (argument: the values, or a function that
# gives them); "names" (a tuple of values from the argument); "pair" (two numbers of at least the
# argument); "rules" (alert rules, iotsv_alerts.rule_problem). A field whose default is None may be
# set to None. Required: missing is an error where the field applies (the AWS fields only with SINK
# "dynamodb", ...); a board's field may instead be required when (field, value): that field's value is or holds value.
# The config reference (config/README.md) is generated from this table by tools/configdoc.py: a
# "# -- title --" line starts a group of fields (the feature that reads them), the "#:" lines above
# a row are its meaning. Comments, not strings: they cost a board no memory.
FIELDS = (
    # -- Where readings go --
    #: `"dynamodb"`: items written to a DynamoDB table, signed with SigV4; `"http"`: POSTed as JSON to
    #: `HTTP_URL`, signed with HTTP Signatures (the `AWS_*` fields are then not needed); `"sigv4"`:
    #: POSTed as JSON to `SIGV4_URL` (API Gateway, a Lambda function URL), signed with SigV4
    ("SINK", "choice", ("dynamodb", "http", "sigv4"), "dynamodb", False),
    #: `"static"`: the keys below; `"iot"`: from the AWS IoT credentials provider, no keys on the board
    #: (see "Credentials")
    ("CREDENTIALS", "choice", ("static", "iot"), "static", False),
    # -- Static keys (SINK "dynamodb" or "sigv4", CREDENTIALS "static") --
    #: access key id (16-128 letters and digits, `AKIA...`/`ASIA...`) of a user allowed only
    #: `dynamodb:BatchWriteItem` and `dynamodb:PutItem` on the table
    ("AWS_ACCESS_KEY", "text", None, None, True),
    #: secret access key
    ("AWS_SECRET_KEY", "secret", None, None, True),
    #: session token of temporary credentials; sent and signed as `X-Amz-Security-Token`
    ("AWS_SESSION_TOKEN", "secret", None, None, False),
    # -- DynamoDB (SINK "dynamodb") --
    #: e.g. `eu-west-1`; also the SigV4 credential scope (with SINK "sigv4" too)
    ("AWS_REGION", "text", None, None, True),
    #: `host` or `host:port` requests go to; `None`: `dynamodb.<AWS_REGION>.amazonaws.com`
    ("AWS_HOST", "text", None, None, False),
    #: the table: partition key `deviceId` (S), sort key `seq` (N)
    ("AWS_DYNAMODB_TABLE", "text", None, None, True),
    #: `False` sends plain HTTP (a local test server only; the firmware warns); must be `True` with
    #: `CREDENTIALS = "iot"`. (The HTTP sink takes it from `HTTP_URL`'s scheme)
    ("USE_TLS", "bool", None, True, False),
    # -- SigV4 endpoint (SINK "sigv4") --
    #: `https://host[:port]/path?query` the readings are POSTed to: an API Gateway stage's route
    #: (`https://<id>.execute-api.<region>.amazonaws.com/<stage>/readings`) or a Lambda function URL
    #: (`https://<id>.lambda-url.<region>.on.aws/`); `http://` sends in the clear
    ("SIGV4_URL", "text", None, None, True),
    #: the SigV4 service name the endpoint checks: `execute-api` (API Gateway, IAM auth) or `lambda`
    #: (a function URL with `AWS_IAM` auth)
    ("SIGV4_SERVICE", "text", None, None, True),
    #: the one status that acknowledges readings (200-299); any other answer is a failure
    ("SIGV4_OK_STATUS", "whole", 200, 200, False),
    #: with it, a success is also a JSON object with this field (e.g. `"stored"`); `None`: any JSON
    #: body, or none
    ("SIGV4_OK_FIELD", "text", None, None, False),
    #: with `SIGV4_OK_FIELD`: the field must have this value, a string as it is, anything else as
    #: JSON text (`"true"`, `"1"`); `None`: any value
    ("SIGV4_OK_VALUE", "text", None, None, False),
    # -- AWS IoT credentials provider (CREDENTIALS "iot") --
    #: `<prefix>.credentials.iot.<region>.amazonaws.com`
    #: (`aws iot describe-endpoint --endpoint-type iot:CredentialProvider`)
    ("IOT_CREDENTIALS_HOST", "text", None, None, True),
    #: the role alias whose role may write the table
    ("IOT_ROLE_ALIAS", "text", None, None, True),
    #: sent as `x-amzn-iot-thingname` (policies can use it)
    ("IOT_THING_NAME", "text", None, None, False),
    #: the device certificate, DER (`openssl x509 -in cert.pem -outform DER -out device.der`)
    ("DEVICE_CERT_FILE", "text", None, None, True),
    #: its private key, DER (`openssl pkey -in private.key -outform DER -out device.key.der`)
    ("DEVICE_KEY_FILE", "text", None, None, True),
    # -- HTTP endpoint (SINK "http") --
    #: `https://host[:port]/path?query` the readings are POSTed to (`http://` sends in the clear)
    ("HTTP_URL", "text", None, None, True),
    #: how each request is signed (what each signs: firmware/README.md, "Posting to an HTTP endpoint")
    ("HTTP_AUTH", "choice", _http_schemes, None, True),
    #: the key id the endpoint knows the secret by
    ("HTTP_KEY_ID", "text", None, None, True),
    #: the shared secret, base64 (at least 16 bytes decoded)
    ("HTTP_SECRET_B64", "secret", None, None, True),
    #: with `HTTP_AUTH = "cybersource"` (and only then): sent and signed as `v-c-merchant-id`
    ("HTTP_MERCHANT_ID", "text", None, None, True),
    # -- Every device --
    #: path of the **DER** CA certificate that verifies the server (for AWS: Amazon Root CA 1); needed
    #: with TLS. A PEM file is refused with the `openssl` command that converts it (the same for
    #: `DEVICE_CERT_FILE` and `DEVICE_KEY_FILE`)
    ("CA_FILE", "text", None, None, True),
    #: the item's partition key, up to 128 characters
    ("DEVICE_ID", "text", None, None, True),
    #: seconds between readings (0: back to back)
    ("INTERVAL_S", "number", 0, 2, False),
    #: `0`: run until stopped; `N`: stop taking readings after seq `N`, counted across restarts, and
    #: exit 0 once all are delivered
    ("READINGS", "whole", 0, 0, False),
    #: folder where the device keeps its state: the spool, its acknowledgement, the clock offset,
    #: dead letters (default: the board's, `state` beside `config.py`)
    ("STATE_DIR", "text", None, "state", False),
    #: the longest wait for connect, the TLS handshake and each read or write
    ("HTTP_TIMEOUT_S", "number", 1, 10, False),
    #: deadline of a whole request (connect, TLS handshake, send, response), at least
    #: `HTTP_TIMEOUT_S`; default 3 x `HTTP_TIMEOUT_S`. A server trickling its answer is cut off here,
    #: retried as a timeout
    ("REQUEST_TIMEOUT_S", "number", 1, 30, False),
    #: with `READINGS = N`: exit 1 when nothing could be delivered for this long since the first
    #: attempt that failed after the last delivery (the spool keeps every reading)
    ("DELIVERY_TIMEOUT_S", "number", 1, 120, False),
    #: the spool's budget on flash; when full the oldest readings are dropped and counted
    ("SPOOL_MAX_BYTES", "whole", MIN_SPOOL_BYTES, 256 * 1024, False),
    #: once throttled, pace requests to the rate the table accepts (`retry.RateLimiter`); `False`: each
    #: retry backs off alone
    ("ADAPTIVE_RATE", "bool", None, True, False),
    # -- Power and watchdog --
    #: `"deep_sleep"`: each wake takes one reading into the spool and sleeps `INTERVAL_S`; every
    #: `SEND_EVERY`-th wake (and the last) brings the network up and delivers what waits; a wake
    #: that only reads takes the config the last validating wake checked (`wake.settings` beside
    #: `config.py`) unless `config.py` changed. On unix the process ends where a board would sleep
    #: (`wake.count` beside `config.py` stands in for RTC memory)
    ("POWER_MODE", "choice", ("always_on", "deep_sleep"), "always_on", False),
    #: with `"deep_sleep"`: wakes between sends
    ("SEND_EVERY", "whole", 1, 1, False),
    #: with `"always_on"`: after a send, the connection stays open when the next send is due within
    #: this many seconds (no new TLS handshake for it), and is closed when it is further off, which
    #: frees the TLS session's buffers (20-40 KB outside the heap on an ESP32) until then. `0`: closed
    #: after every send. The default, a minute, is about as long as servers and load balancers keep
    #: an idle connection anyway. (`"deep_sleep"` closes it at every sleep)
    ("KEEP_CONNECTION_S", "number", 0, 60, False),
    #: watchdog timeout in seconds, fed each turn of the main loop and around every blocking step;
    #: `0`: off, else at least 2 x (`REQUEST_TIMEOUT_S` + `HTTP_TIMEOUT_S`)
    ("WATCHDOG_S", "number", 0, 0, False),
    # -- Alerts to SNS (ALERT_TOPIC_ARN set, with SINK "dynamodb" or "sigv4") --
    #: the SNS topic alerts are published to, `arn:aws:sns:<region>:<account>:<name>` (a FIFO topic's
    #: name ends in `.fifo`); its region signs the requests. `None`: no alerts. The device's
    #: credentials must allow `sns:Publish` on it
    ("ALERT_TOPIC_ARN", "text", None, None, False),
    #: the rules, each `(field, comparison, threshold[, hysteresis[, least_interval_s]])`: a reading
    #: whose `field` compares (`">"`, `">="`, `"<"`, `"<="`) with `threshold` makes an alert; the rule
    #: re-arms once the value is back past the threshold by `hysteresis` (default 0), and its alerts
    #: are at least `least_interval_s` apart (default 600). E.g. `(("temp_c", ">", -15, 1, 900),)`
    ("ALERT_RULES", "rules", None, (), False),
    #: `host[:port]` Publish goes to (an SNS-compatible server); `None`: `sns.<region>.amazonaws.com`
    #: of the topic's region
    ("ALERT_HOST", "text", None, None, False),
    # -- Updates over the air (UPDATE_BUCKET set, with SINK "dynamodb") --
    #: the S3 bucket releases are in; `None`: no updates. Its requests are signed with the
    #: DynamoDB sink's AWS credentials
    ("UPDATE_BUCKET", "text", None, None, False),
    #: the key prefix of the releases (`<prefix>/latest`, `<prefix>/<version>/...`)
    ("UPDATE_PREFIX", "text", None, "releases", False),
    #: required with `UPDATE_BUCKET`: the release key's Ed25519 public key, 64 hex digits (what
    #: `iotsig release keygen` prints) or base64; once a release hands the device over to a new key
    #: (`ota/key`), only that one is used
    ("UPDATE_PUBLIC_KEY", "text", None, None, False),
    #: `host[:port]` of an S3-compatible server (path-style); `None`: `<bucket>.s3.<AWS_REGION>.amazonaws.com`
    ("UPDATE_HOST", "text", None, None, False),
    #: seconds between checks for a release (in deep-sleep mode: on the first sending wake after that long)
    ("UPDATE_CHECK_S", "number", 1, 3600, False),
    #: readings a new version must deliver to be kept
    ("UPDATE_PROBATION_READINGS", "whole", 1, 10, False),
    #: seconds it has for them, from the switch; then it is rolled back
    ("UPDATE_PROBATION_S", "number", 1, 3600, False),
    #: upload the rollback report and `crash.log` to `s3://<bucket>/<prefix>/<DEVICE_ID>/` at each
    #: check (removed on the board only after S3 answered 200); `None`: the crash log stays on the board
    ("UPDATE_LOG_PREFIX", "text", None, None, False),
    #: seconds: when the newest signed `latest` the device has seen was signed longer ago than this,
    #: it says so once (printed and in the next log upload): someone may be holding back releases
    #: (the freeze attack; `iotsig release refresh` signs `latest` again). `None`: off
    ("UPDATE_MAX_AGE_S", "number", 1, None, False),
)


def _set(cfg, s, name, default=_MISSING):
    """s.<name>: the config's value of a field FIELDS declares, checked as declared; its default
    when absent. (Settings declares the attribute's type.)"""
    for row in FIELDS:
        if row[0] == name:
            setattr(s, name, _check(cfg, row, default))
            return
    raise KeyError(name)  # the validation reads no field FIELDS does not declare


def _check(cfg, row, default=_MISSING):
    name, kind, arg, declared, required = row
    if default is _MISSING:
        default = declared
    value = getattr(cfg, name, _MISSING)
    if value is _MISSING:
        if required is True:
            raise ConfigError(name, "missing")
        return default
    if value is None and default is None and required is not True:
        return None
    if kind == "text" or kind == "secret":
        return _text(name, value, kind == "secret")
    if kind == "number" or kind == "whole":
        return _number(name, value, arg, kind == "whole")
    if kind == "bool":
        if value is not True and value is not False:
            raise ConfigError(name, "must be True or False")
    elif kind == "choice":
        values = arg() if callable(arg) else arg
        assert isinstance(values, tuple)
        if value not in values:
            raise ConfigError(name, "must be %s, got %r" % (_either(values), value))
    elif kind == "names":
        if not isinstance(value, (tuple, list)):
            raise ConfigError(name, "must be a tuple like (%r,), got %r" % (arg[0], value))
        for v in value:
            if v not in arg:
                raise ConfigError(name, "%r is not one of %s" % (v, _either(arg)))
    elif kind == "rules":  # alert rules: iotsv_alerts says what one is
        from iotsv_alerts import rule_problem

        if not isinstance(value, (tuple, list)):
            raise ConfigError(name, "must be a tuple of rules like (('temp_c', '>', 4),), got %r" % (value,))
        for i, rule in enumerate(value):
            problem = rule_problem(rule)
            if problem:
                raise ConfigError(name, "rule %d: %s" % (i + 1, problem))
    elif kind == "pair":
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ConfigError(name, "must be a pair of numbers (a, b), got %r" % (value,))
        for v in value:
            _number(name, v, arg)
    else:
        raise ValueError("%s: no field kind %r" % (name, kind))
    return value


def _either(values):
    quoted = ['"%s"' % v for v in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _text(name, value, secret=False):
    if not isinstance(value, str):
        raise ConfigError(name, "must be a string, got a %s" % type(value).__name__)
    if not value.strip():
        raise ConfigError(name, "is empty")
    if value != value.strip() or "\n" in value:
        raise ConfigError(
            name,
            "has surrounding whitespace or a line break"
            if secret
            else "has surrounding whitespace or a line break: %r" % value,
        )
    return value


def _number(name, value, minimum, integer=False):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(name, "must be %s, got %r" % ("a whole number" if integer else "a number", value))
    if minimum is not None and value < minimum:
        raise ConfigError(name, "must be at least %s, got %r" % (minimum, value))
    return value


def _region(cfg, s):
    _set(cfg, s, "AWS_REGION")
    value = s.AWS_REGION
    parts = value.split("-")
    ok = len(parts) >= 3 and parts[-1].isdigit() and all(p.isalpha() and p.islower() for p in parts[:-1])
    if not ok:
        raise ConfigError("AWS_REGION", "must be a region name like 'us-east-1', got %r" % value)


def _table(cfg, s):
    _set(cfg, s, "AWS_DYNAMODB_TABLE")
    value = s.AWS_DYNAMODB_TABLE
    if not 3 <= len(value) <= 255 or any(c not in _ALNUM + "_.-" for c in value):
        raise ConfigError(
            "AWS_DYNAMODB_TABLE", "must be 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.', got %r" % value
        )


def _der_file(cfg, s, name, what="a DER certificate", tool="x509"):
    """The bytes of the DER file field `name` names (set as s.<name>)."""
    _set(cfg, s, name)
    path = getattr(s, name)
    try:
        with open(path, "rb") as f:
            der = f.read()
    except OSError:
        raise ConfigError(name, "cannot read %s" % path)
    if der.startswith(b"-----BEGIN"):
        # the command for this very file: x.pem becomes x.der, any other name gets .der added
        # (device.crt and device.key must not both become device.der)
        out = (path[:-4] if path.endswith(".pem") else path) + ".der"
        fix = "openssl %s -in %s -outform DER -out %s" % (tool, path, out)
        raise ConfigError(name, "%s is PEM; the board needs DER: %s" % (path, fix))
    if len(der) < 64 or der[0] != 0x30:
        raise ConfigError(name, "%s is not %s" % (path, what))
    return der


class Settings:
    """The validated config; attribute names follow the config module's."""

    # Declared for the type checker only (no value: an attribute the config did not set stays absent).
    SINK: str
    # SINK "dynamodb"
    CREDENTIALS: str
    AWS_ACCESS_KEY: str
    AWS_SECRET_KEY: str
    AWS_SESSION_TOKEN: str | None
    AWS_REGION: str
    AWS_HOST: str
    AWS_DYNAMODB_TABLE: str
    # CREDENTIALS "iot"
    IOT_CREDENTIALS_HOST: str
    iot_host: str
    iot_port: int | None
    IOT_ROLE_ALIAS: str
    IOT_THING_NAME: str | None
    DEVICE_CERT_FILE: str
    device_cert: bytes
    DEVICE_KEY_FILE: str
    device_key: bytes
    # SINK "sigv4" (with the credentials and AWS_REGION of SINK "dynamodb")
    SIGV4_URL: str
    SIGV4_SERVICE: str
    SIGV4_OK_STATUS: int
    SIGV4_OK_FIELD: str | None
    SIGV4_OK_VALUE: str | None
    # alerts
    ALERT_TOPIC_ARN: str | None
    ALERT_RULES: tuple
    ALERT_HOST: str | None
    alert_region: str
    alert_host: str
    alert_port: int | None
    # SINK "http"
    HTTP_URL: str
    HTTP_AUTH: str
    HTTP_KEY_ID: str
    HTTP_SECRET_B64: str
    HTTP_MERCHANT_ID: str | None
    # every sink
    host: str
    port: int | None
    USE_TLS: bool
    CA_FILE: str | None
    ca_der: bytes | None
    DEVICE_ID: str
    STATE_DIR: str
    ADAPTIVE_RATE: bool
    POWER_MODE: str
    wake_key: str | None = None  # a deep sleeper's: the key its settings are kept under (iotsv_wakestate.py)
    # numbers as _number gives them (READINGS, SPOOL_MAX_BYTES and SEND_EVERY are checked to be whole)
    INTERVAL_S: float
    READINGS: float
    HTTP_TIMEOUT_S: float
    REQUEST_TIMEOUT_S: float
    DELIVERY_TIMEOUT_S: float
    SPOOL_MAX_BYTES: float
    SEND_EVERY: float
    KEEP_CONNECTION_S: float
    WATCHDOG_S: float
    # updates over the air
    UPDATE_BUCKET: str | None
    UPDATE_PREFIX: str
    UPDATE_PUBLIC_KEY: str
    update_key: bytes
    UPDATE_HOST: str | None
    update_host: str
    update_port: int | None
    update_path_style: bool
    UPDATE_CHECK_S: float
    UPDATE_PROBATION_READINGS: float
    UPDATE_PROBATION_S: float
    UPDATE_LOG_PREFIX: str | None
    UPDATE_MAX_AGE_S: float | None


def _split_host(field, value):
    """(host, port or None) of host[:port]."""
    try:
        return _url("split_authority", value)
    except ValueError as e:
        raise ConfigError(field, "%s, got %r" % (e, value))


def _aws(cfg, s):
    _credentials(cfg, s)
    _region(cfg, s)
    _set(cfg, s, "AWS_HOST")
    if s.AWS_HOST is None:
        s.host, s.port = "dynamodb.%s.amazonaws.com" % s.AWS_REGION, None
    else:
        s.host, s.port = _split_host("AWS_HOST", s.AWS_HOST)
    s.AWS_HOST = _url("authority", s.host, s.port)
    _table(cfg, s)
    _set(cfg, s, "USE_TLS")


def _credentials(cfg, s):
    """The AWS credentials a SigV4 sink signs with: static keys or the IoT provider's."""
    _set(cfg, s, "CREDENTIALS")
    if s.CREDENTIALS == "static":
        _set(cfg, s, "AWS_ACCESS_KEY")
        if not 16 <= len(s.AWS_ACCESS_KEY) <= 128 or any(c not in _ALNUM for c in s.AWS_ACCESS_KEY):
            raise ConfigError("AWS_ACCESS_KEY", "must be 16-128 letters and digits, like AKIA...")
        _set(cfg, s, "AWS_SECRET_KEY")
        if len(s.AWS_SECRET_KEY) < 16 or " " in s.AWS_SECRET_KEY:
            raise ConfigError("AWS_SECRET_KEY", "does not look like a secret access key (40 characters, no spaces)")
        _set(cfg, s, "AWS_SESSION_TOKEN")
    else:
        _iot(cfg, s)


def _iot(cfg, s):
    """The AWS IoT credentials provider: its host, the role alias, the device's certificate."""
    _set(cfg, s, "IOT_CREDENTIALS_HOST")
    s.iot_host, s.iot_port = _split_host("IOT_CREDENTIALS_HOST", s.IOT_CREDENTIALS_HOST)
    _set(cfg, s, "IOT_ROLE_ALIAS")
    if any(c not in _ALNUM + "=,@-_" for c in s.IOT_ROLE_ALIAS):
        raise ConfigError("IOT_ROLE_ALIAS", "must be letters, digits and =,@-_ only, got %r" % s.IOT_ROLE_ALIAS)
    _set(cfg, s, "IOT_THING_NAME")
    s.device_cert = _der_file(cfg, s, "DEVICE_CERT_FILE")
    s.device_key = _der_file(cfg, s, "DEVICE_KEY_FILE", "a DER private key", "pkey")


def _endpoint(cfg, s, name):
    """The URL field `name`: its host, port and TLS set on s."""
    _set(cfg, s, name)
    value = getattr(s, name)
    try:
        scheme, authority, _, _ = _url("split_url", value)
    except ValueError:
        scheme = authority = ""
    if scheme not in ("http", "https") or not authority:
        raise ConfigError(name, "must be https://host[:port]/path (or http://), got %r" % value)
    s.USE_TLS = scheme == "https"
    s.host, s.port = _split_host(name, authority)


def _sigv4(cfg, s):
    _credentials(cfg, s)
    _region(cfg, s)
    _endpoint(cfg, s, "SIGV4_URL")
    _set(cfg, s, "SIGV4_SERVICE")
    if any(c not in _ALNUM + "-" for c in s.SIGV4_SERVICE) or s.SIGV4_SERVICE.lower() != s.SIGV4_SERVICE:
        raise ConfigError(
            "SIGV4_SERVICE", "must be a service name like 'execute-api' or 'lambda', got %r" % s.SIGV4_SERVICE
        )
    _set(cfg, s, "SIGV4_OK_STATUS")
    if s.SIGV4_OK_STATUS > 299:
        raise ConfigError("SIGV4_OK_STATUS", "must be a success status, 200-299, got %r" % s.SIGV4_OK_STATUS)
    _set(cfg, s, "SIGV4_OK_FIELD")
    _set(cfg, s, "SIGV4_OK_VALUE")
    if s.SIGV4_OK_VALUE is not None and s.SIGV4_OK_FIELD is None:
        raise ConfigError("SIGV4_OK_VALUE", "needs SIGV4_OK_FIELD: the field that must have this value")


def _http(cfg, s):
    _endpoint(cfg, s, "HTTP_URL")
    _set(cfg, s, "HTTP_AUTH")
    _set(cfg, s, "HTTP_KEY_ID")
    if '"' in s.HTTP_KEY_ID:
        raise ConfigError("HTTP_KEY_ID", "may not contain a quote")
    _set(cfg, s, "HTTP_SECRET_B64")
    from iotsv_httpsign import SignatureError, shared_secret

    try:
        shared_secret(s.HTTP_SECRET_B64, "HTTP_SECRET_B64")
    except SignatureError as e:  # its text names the field first: the message is what follows
        raise ConfigError("HTTP_SECRET_B64", str(e).split("HTTP_SECRET_B64", 1)[1].lstrip(": "))
    s.HTTP_MERCHANT_ID = None
    if s.HTTP_AUTH == "cybersource":
        _set(cfg, s, "HTTP_MERCHANT_ID")


def _s3_name(field, value, prefix=False):
    """A bucket name (3-63 of a-z 0-9 . -) or a key prefix (no leading or trailing /)."""
    if prefix:
        if value.startswith("/") or value.endswith("/") or "//" in value or " " in value:
            raise ConfigError(
                field, "must be a key prefix like 'releases' (no leading, trailing or double /), got %r" % value
            )
    elif not 3 <= len(value) <= 63 or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789.-" for c in value):
        raise ConfigError(field, "must be an S3 bucket name (3-63 characters of a-z, 0-9, '.', '-'), got %r" % value)


def public_key_bytes(text, decode=True):
    """The 32 bytes of an Ed25519 public key given as 64 hex digits or base64 (44 characters);
    ValueError saying what is wrong. decode=False: the form only, not the point (a big-int square
    root, the slowest check at start: a deep-sleep wake after the first skips it)."""
    from binascii import a2b_base64, unhexlify

    try:
        key = unhexlify(text) if len(text) == 64 else a2b_base64(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError("must be the 32-byte Ed25519 public key in hex (64 digits) or base64 (44 characters)")
    if not decode:
        return key

    def check():
        import iotsv_ed25519 as ed25519

        try:
            ed25519.public_key(key)
        except ed25519.Ed25519Error as e:
            raise ValueError("is no Ed25519 public key (%s)" % e)

    call_alone(check)  # Ed25519 and SHA-512 leave with it: the updater loads them again for a check
    return key


def _alerts(cfg, s):
    """Alerts: off (ALERT_TOPIC_ARN None) unless configured, then every field checked."""
    for name in ("ALERT_TOPIC_ARN", "ALERT_RULES", "ALERT_HOST"):
        _set(cfg, s, name)
    if s.ALERT_TOPIC_ARN is None:
        if s.ALERT_RULES:
            raise ConfigError("ALERT_TOPIC_ARN", "missing (ALERT_RULES is set: the alerts go to this topic)")
        return
    if s.SINK == "http":
        raise ConfigError(
            "ALERT_TOPIC_ARN", 'needs the AWS credentials of SINK = "dynamodb" or "sigv4" to sign Publish'
        )
    from iotsv_alerts import topic_region

    s.alert_region = topic_region(s.ALERT_TOPIC_ARN)
    if s.alert_region is None:
        raise ConfigError(
            "ALERT_TOPIC_ARN",
            "must be an SNS topic ARN like 'arn:aws:sns:eu-west-1:123456789012:alerts', got %r" % s.ALERT_TOPIC_ARN,
        )
    if not s.ALERT_RULES:
        raise ConfigError("ALERT_RULES", "missing (ALERT_TOPIC_ARN is set: the rules say when to publish)")
    if s.ALERT_HOST is None:
        s.alert_host, s.alert_port = "sns.%s.amazonaws.com" % s.alert_region, None
    else:
        s.alert_host, s.alert_port = _split_host("ALERT_HOST", s.ALERT_HOST)


def _update(cfg, s, woke=False):
    """Updates over the air: off (UPDATE_BUCKET None) unless configured, then every field checked."""
    _set(cfg, s, "UPDATE_BUCKET")
    for name in ("UPDATE_PREFIX", "UPDATE_HOST", "UPDATE_CHECK_S", "UPDATE_PROBATION_READINGS"):
        _set(cfg, s, name)
    for name in ("UPDATE_PROBATION_S", "UPDATE_LOG_PREFIX", "UPDATE_PUBLIC_KEY", "UPDATE_MAX_AGE_S"):
        _set(cfg, s, name)
    if s.UPDATE_BUCKET is None:
        return
    if s.SINK != "dynamodb":
        raise ConfigError("UPDATE_BUCKET", 'needs the AWS credentials of SINK = "dynamodb" to sign its S3 requests')
    _s3_name("UPDATE_BUCKET", s.UPDATE_BUCKET)
    _s3_name("UPDATE_PREFIX", s.UPDATE_PREFIX, True)
    if s.UPDATE_LOG_PREFIX is not None:
        _s3_name("UPDATE_LOG_PREFIX", s.UPDATE_LOG_PREFIX, True)
    if s.UPDATE_PUBLIC_KEY is None:
        raise ConfigError("UPDATE_PUBLIC_KEY", "missing (UPDATE_BUCKET is set: releases are checked with it)")
    try:
        s.update_key = public_key_bytes(s.UPDATE_PUBLIC_KEY, not woke)
    except ValueError as e:
        raise ConfigError("UPDATE_PUBLIC_KEY", str(e))
    if s.UPDATE_HOST is None:  # AWS: virtual-hosted, as it recommends
        s.update_host, s.update_port, s.update_path_style = (
            "%s.s3.%s.amazonaws.com" % (s.UPDATE_BUCKET, s.AWS_REGION),
            None,
            False,
        )
    else:  # an S3-compatible server (the local moto): path-style
        s.update_host, s.update_port = _split_host("UPDATE_HOST", s.UPDATE_HOST)
        s.update_path_style = True


def watchdog_floor_s(http_timeout_s, request_timeout_s):
    """The longest stretch the firmware leaves the watchdog unfed: it is fed every turn of the
    loop, at each new connection (the board's DNS lookup, itself bounded), before each request of
    an update check and at each flash block of an image; between feeds come at most two requests
    (new IoT credentials, then the request they sign), each within REQUEST_TIMEOUT_S but for a
    TLS handshake that may finish one HTTP_TIMEOUT_S wait past it (httpclient: the handshake is one
    call, its deadline checked when it returns)."""
    return 2 * (request_timeout_s + http_timeout_s)


def _distance(a, b):
    """Levenshtein distance: the insertions, deletions and substitutions that turn a into b."""
    row = list(range(len(b) + 1))
    for i in range(len(a)):
        prev, row[0] = row[0], i + 1
        for j in range(len(b)):
            prev, row[j + 1] = row[j + 1], min(row[j + 1] + 1, row[j] + 1, prev + (a[i] != b[j]))
    return row[-1]


def _unknown(cfg, board_fields):
    """Refuse an upper-case name in config that no field declares: a misspelled field would
    otherwise be ignored for its default. Other names (helpers, "_x") are the user's."""
    fields = [row[0] for row in FIELDS] + [row[0] for row in board_fields]
    for name in sorted(dir(cfg)):
        if name[0] != "_" and name.isupper() and name not in fields:
            near, best = None, max(1, len(name) // 3) + 1  # a third of the name may be wrong
            for field in fields:
                d = _distance(name, field)
                if d < best:
                    near, best = field, d
            raise ConfigError(name, "not a config field" + ("; did you mean %s?" % near if near else ""))


def load(cfg, default_state_dir="state", board_fields=(), woke=False):
    """The validated Settings of config module cfg, or a ConfigError; board_fields: the running
    board's own fields (its Board.FIELDS, rows as in FIELDS), set on the Settings too. woke: a
    wake from deep sleep after the first, whose config the first wake checked whole (a power-on
    or reset checks it again): the update key's point is not decoded again."""
    _unknown(cfg, board_fields)
    s = Settings()
    _set(cfg, s, "SINK")
    if s.SINK == "dynamodb":
        _aws(cfg, s)
    elif s.SINK == "sigv4":
        _sigv4(cfg, s)
    else:
        _http(cfg, s)
    if getattr(s, "CREDENTIALS", None) == "iot" and not s.USE_TLS:
        raise ConfigError("USE_TLS", 'must be True with CREDENTIALS = "iot" (the provider is mutual TLS)')
    s.CA_FILE, s.ca_der = None, None
    if s.USE_TLS:
        s.ca_der = _der_file(cfg, s, "CA_FILE")
    _set(cfg, s, "DEVICE_ID")
    if len(s.DEVICE_ID) > 128:
        raise ConfigError("DEVICE_ID", "longer than 128 characters")
    _set(cfg, s, "INTERVAL_S")
    _set(cfg, s, "READINGS")
    _set(cfg, s, "STATE_DIR", default_state_dir)
    _set(cfg, s, "HTTP_TIMEOUT_S")
    # The whole request (connect, TLS handshake, send, response): by default room for each of the
    # three waits to take its full HTTP_TIMEOUT_S once, while a server trickling bytes is cut off.
    _set(cfg, s, "REQUEST_TIMEOUT_S", 3 * s.HTTP_TIMEOUT_S)
    if s.REQUEST_TIMEOUT_S < s.HTTP_TIMEOUT_S:
        raise ConfigError(
            "REQUEST_TIMEOUT_S",
            "must be at least HTTP_TIMEOUT_S (%s), got %r" % (s.HTTP_TIMEOUT_S, s.REQUEST_TIMEOUT_S),
        )
    for name in (
        "DELIVERY_TIMEOUT_S",
        "SPOOL_MAX_BYTES",
        "ADAPTIVE_RATE",
        "POWER_MODE",
        "SEND_EVERY",
        "KEEP_CONNECTION_S",
        "WATCHDOG_S",
    ):
        _set(cfg, s, name)
    unfed = watchdog_floor_s(s.HTTP_TIMEOUT_S, s.REQUEST_TIMEOUT_S)
    if s.WATCHDOG_S and s.WATCHDOG_S < unfed:
        raise ConfigError(
            "WATCHDOG_S",
            "must be 0 (off) or at least 2 x (REQUEST_TIMEOUT_S + HTTP_TIMEOUT_S) = %s, the longest the "
            "firmware goes unfed (a credentials fetch, then the request it signs)" % unfed,
        )
    _update(cfg, s, woke)
    _alerts(cfg, s)
    for row in board_fields:  # in order: a field required by another's value comes after that one
        name, when = row[0], row[4]
        if isinstance(when, tuple) and getattr(cfg, name, None) is None:
            value = getattr(s, when[0])
            if value == when[1] or (isinstance(value, (tuple, list)) and when[1] in value):
                raise ConfigError(name, "missing (%s has %r)" % (when[0], when[1]))
        setattr(s, name, _check(cfg, row))
    return s
