# The config module checked once at start: every field present and well formed, or one
# ConfigError naming the field and what is wrong (never echoing a secret).


from spool import MIN_BUDGET as MIN_SPOOL_BYTES

HTTP_SCHEMES = ("cavage", "cybersource", "rfc9421")


class ConfigError(ValueError):
    def __init__(self, field, problem):
        super().__init__("%s: %s" % (field, problem))
        self.field = field


_MISSING = object()
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _get(cfg, name, default=_MISSING):
    value = getattr(cfg, name, default)
    if value is _MISSING:
        raise ConfigError(name, "missing")
    return value


def _text(cfg, name, default=_MISSING, secret=False):
    value = _get(cfg, name, default)
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


def _number(cfg, name, default, minimum, integer=False):
    value = _get(cfg, name, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(name, "must be %s, got %r" % ("a whole number" if integer else "a number", value))
    if value < minimum:
        raise ConfigError(name, "must be at least %s, got %r" % (minimum, value))
    return value


def _region(cfg):
    value = _text(cfg, "AWS_REGION")
    parts = value.split("-")
    ok = len(parts) >= 3 and parts[-1].isdigit() and all(p.isalpha() and p.islower() for p in parts[:-1])
    if not ok:
        raise ConfigError("AWS_REGION", "must be a region name like 'us-east-1', got %r" % value)
    return value


def _table(cfg):
    value = _text(cfg, "AWS_DYNAMODB_TABLE")
    if not 3 <= len(value) <= 255 or any(c not in _ALNUM + "_.-" for c in value):
        raise ConfigError(
            "AWS_DYNAMODB_TABLE", "must be 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.', got %r" % value
        )
    return value


def _der_file(cfg, name, what="a DER certificate", tool="x509"):
    path = _text(cfg, name)
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
    return path, der


def _ca_file(cfg):
    return _der_file(cfg, "CA_FILE")


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
    iot_host: str
    iot_port: int | None
    IOT_ROLE_ALIAS: str
    IOT_THING_NAME: str | None
    DEVICE_CERT_FILE: str
    device_cert: bytes
    DEVICE_KEY_FILE: str
    device_key: bytes
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
    POWER_MODE: str
    # numbers as _number gives them (READINGS, SPOOL_MAX_BYTES and SEND_EVERY are checked to be whole)
    INTERVAL_S: float
    READINGS: float
    HTTP_TIMEOUT_S: float
    REQUEST_TIMEOUT_S: float
    DELIVERY_TIMEOUT_S: float
    SPOOL_MAX_BYTES: float
    SEND_EVERY: float
    WATCHDOG_S: float


def _split_host(field, value):
    """(host, port or None) of host[:port]."""
    host, port = value, None
    if value.count(":") == 1:
        host, port_text = value.split(":")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(field, "port must be 1-65535, got %r" % value)
        port = int(port_text)
    if not host or "/" in host or " " in host or ":" in host:
        raise ConfigError(field, "must be host or host:port (no scheme or path), got %r" % value)
    return host, port


def _aws(cfg, s):
    s.CREDENTIALS = _get(cfg, "CREDENTIALS", "static")
    if s.CREDENTIALS == "static":
        s.AWS_ACCESS_KEY = _text(cfg, "AWS_ACCESS_KEY")
        if not 16 <= len(s.AWS_ACCESS_KEY) <= 128 or any(c not in _ALNUM for c in s.AWS_ACCESS_KEY):
            raise ConfigError("AWS_ACCESS_KEY", "must be 16-128 letters and digits, like AKIA...")
        s.AWS_SECRET_KEY = _text(cfg, "AWS_SECRET_KEY", secret=True)
        if len(s.AWS_SECRET_KEY) < 16 or " " in s.AWS_SECRET_KEY:
            raise ConfigError("AWS_SECRET_KEY", "does not look like a secret access key (40 characters, no spaces)")
        token = _get(cfg, "AWS_SESSION_TOKEN", None)
        s.AWS_SESSION_TOKEN = None if token is None else _text(cfg, "AWS_SESSION_TOKEN", secret=True)
    elif s.CREDENTIALS == "iot":
        _iot(cfg, s)
    else:
        raise ConfigError("CREDENTIALS", 'must be "static" or "iot", got %r' % (s.CREDENTIALS,))
    s.AWS_REGION = _region(cfg)
    if getattr(cfg, "AWS_HOST", None) is None:
        s.host, s.port = "dynamodb.%s.amazonaws.com" % s.AWS_REGION, None
    else:
        s.host, s.port = _split_host("AWS_HOST", _text(cfg, "AWS_HOST"))
    s.AWS_HOST = s.host if s.port is None else "%s:%d" % (s.host, s.port)
    s.AWS_DYNAMODB_TABLE = _table(cfg)
    s.USE_TLS = _get(cfg, "USE_TLS", True)
    if s.USE_TLS not in (True, False):
        raise ConfigError("USE_TLS", "must be True or False")


def _iot(cfg, s):
    """The AWS IoT credentials provider: its host, the role alias, the device's certificate."""
    s.iot_host, s.iot_port = _split_host("IOT_CREDENTIALS_HOST", _text(cfg, "IOT_CREDENTIALS_HOST"))
    s.IOT_ROLE_ALIAS = _text(cfg, "IOT_ROLE_ALIAS")
    if any(c not in _ALNUM + "=,@-_" for c in s.IOT_ROLE_ALIAS):
        raise ConfigError("IOT_ROLE_ALIAS", "must be letters, digits and =,@-_ only, got %r" % s.IOT_ROLE_ALIAS)
    thing = _get(cfg, "IOT_THING_NAME", None)
    s.IOT_THING_NAME = None if thing is None else _text(cfg, "IOT_THING_NAME")
    s.DEVICE_CERT_FILE, s.device_cert = _der_file(cfg, "DEVICE_CERT_FILE")
    s.DEVICE_KEY_FILE, s.device_key = _der_file(cfg, "DEVICE_KEY_FILE", "a DER private key", "pkey")


def _http(cfg, s):
    url = _text(cfg, "HTTP_URL")
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest or rest[0] in "/?":
        raise ConfigError("HTTP_URL", "must be https://host[:port]/path (or http://), got %r" % url)
    s.HTTP_URL = url
    s.USE_TLS = scheme == "https"
    authority = rest
    for c in "/?#":
        authority = authority.split(c)[0]
    s.host, s.port = _split_host("HTTP_URL", authority)
    s.HTTP_AUTH = _text(cfg, "HTTP_AUTH")
    if s.HTTP_AUTH not in HTTP_SCHEMES:
        raise ConfigError("HTTP_AUTH", "must be one of %s, got %r" % (", ".join(HTTP_SCHEMES), s.HTTP_AUTH))
    s.HTTP_KEY_ID = _text(cfg, "HTTP_KEY_ID")
    if '"' in s.HTTP_KEY_ID:
        raise ConfigError("HTTP_KEY_ID", "may not contain a quote")
    s.HTTP_SECRET_B64 = _text(cfg, "HTTP_SECRET_B64", secret=True)
    try:
        from httpsign import unb64

        if len(unb64(s.HTTP_SECRET_B64, "HTTP_SECRET_B64")) < 16:
            raise ConfigError("HTTP_SECRET_B64", "the decoded secret is shorter than 16 bytes")
    except ValueError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError("HTTP_SECRET_B64", "is not valid base64")
    s.HTTP_MERCHANT_ID = None
    if s.HTTP_AUTH == "cybersource":
        s.HTTP_MERCHANT_ID = _text(cfg, "HTTP_MERCHANT_ID")


def load(cfg, default_state_dir="state"):
    s = Settings()
    sink = _get(cfg, "SINK", "dynamodb")
    if sink not in ("dynamodb", "http"):
        raise ConfigError("SINK", 'must be "dynamodb" or "http", got %r' % (sink,))
    s.SINK = sink
    if sink == "dynamodb":
        _aws(cfg, s)
    else:
        _http(cfg, s)
    if getattr(s, "CREDENTIALS", None) == "iot" and not s.USE_TLS:
        raise ConfigError("USE_TLS", 'must be True with CREDENTIALS = "iot" (the provider is mutual TLS)')
    s.CA_FILE, s.ca_der = _ca_file(cfg) if s.USE_TLS else (None, None)
    s.DEVICE_ID = _text(cfg, "DEVICE_ID")
    if len(s.DEVICE_ID) > 128:
        raise ConfigError("DEVICE_ID", "longer than 128 characters")
    s.INTERVAL_S = _number(cfg, "INTERVAL_S", 2, 0)
    s.READINGS = _number(cfg, "READINGS", 0, 0, integer=True)
    s.STATE_DIR = _text(cfg, "STATE_DIR", default_state_dir)
    s.HTTP_TIMEOUT_S = _number(cfg, "HTTP_TIMEOUT_S", 10, 1)
    # The whole request (connect, TLS handshake, send, response): by default room for each of the
    # three waits to take its full HTTP_TIMEOUT_S once, while a server trickling bytes is cut off.
    s.REQUEST_TIMEOUT_S = _number(cfg, "REQUEST_TIMEOUT_S", 3 * s.HTTP_TIMEOUT_S, 1)
    if s.REQUEST_TIMEOUT_S < s.HTTP_TIMEOUT_S:
        raise ConfigError(
            "REQUEST_TIMEOUT_S",
            "must be at least HTTP_TIMEOUT_S (%s), got %r" % (s.HTTP_TIMEOUT_S, s.REQUEST_TIMEOUT_S),
        )
    s.DELIVERY_TIMEOUT_S = _number(cfg, "DELIVERY_TIMEOUT_S", 120, 1)
    s.SPOOL_MAX_BYTES = _number(cfg, "SPOOL_MAX_BYTES", 256 * 1024, MIN_SPOOL_BYTES, integer=True)
    mode = _get(cfg, "POWER_MODE", "always_on")
    if mode not in ("always_on", "deep_sleep"):
        raise ConfigError("POWER_MODE", 'must be "always_on" or "deep_sleep", got %r' % (mode,))
    s.POWER_MODE = mode
    s.SEND_EVERY = _number(cfg, "SEND_EVERY", 1, 1, integer=True)
    s.WATCHDOG_S = _number(cfg, "WATCHDOG_S", 0, 0)
    if s.WATCHDOG_S and s.WATCHDOG_S < 4 * s.HTTP_TIMEOUT_S:
        # connect, handshake and response may each take HTTP_TIMEOUT_S before the loop turns again
        raise ConfigError("WATCHDOG_S", "must be 0 (off) or at least 4 x HTTP_TIMEOUT_S = %s" % (4 * s.HTTP_TIMEOUT_S))
    return s
