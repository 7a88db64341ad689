# What the portable tests share on both interpreters: where things are, and how to skip.
import os

try:
    import pytest

    def skip(reason):
        pytest.skip(reason)

except ImportError:

    class Skipped(Exception):
        pass

    def skip(reason):
        raise Skipped(reason)


# False where floats are single precision, as on an ESP32 (and the image, built as one is)
DOUBLE = 1.0 + 2.0**-30 != 1.0


def _dirname(path):
    i = path.rfind("/")
    return path[:i] if i > 0 else ("/" if i == 0 else ".")


def project_root():
    return os.getenv("PROJECT_ROOT") or _dirname(_dirname(_dirname(__file__)))


def is_dir(path):
    try:
        return os.stat(path)[0] & 0o170000 == 0o040000
    except OSError:
        return False


def vectors_dir():
    """The shared test vectors (VECTORS_DIR overrides ../shared/vectors); skip when absent."""
    path = os.getenv("VECTORS_DIR") or project_root() + "/../shared/vectors"
    if not is_dir(path):
        skip("test vectors not found at %s (set VECTORS_DIR)" % path)
    return path


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_text(path):
    return read_bytes(path).decode()


def scratch(name):
    """A path for a scratch file (SCRATCH_DIR, else /tmp), fresh for this name."""
    folder = os.getenv("SCRATCH_DIR") or "/tmp"
    path = "%s/iot-sigv4-test-%s" % (folder, name)
    try:
        os.remove(path)
    except OSError:
        pass
    return path


def raises(exc_type, fn, *args, **kwargs):
    """The exception of type exc_type that fn(*args, **kwargs) raises (pytest.raises for both
    interpreters)."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised" % exc_type.__name__)


def capture(fn):
    """(fn()'s result, what it printed), on both interpreters (print replaced in builtins)."""
    import builtins

    lines = []
    real = builtins.print
    builtins.print = lambda *args, **kwargs: lines.append(" ".join(str(a) for a in args))
    try:
        result = fn()
    finally:
        builtins.print = real
    return result, "\n".join(lines)


def fresh(name):
    """An empty scratch folder for this name (a STATE_DIR)."""
    import iotsv_atomicload as atomicload

    d = scratch(name)
    if atomicload.exists(d):
        _remove_tree(d)
    atomicload.ensure_dir(d)
    return d


def _remove_tree(d):
    """rm -r d (the spool keeps its new readings in a folder of STATE_DIR)."""
    for f in os.listdir(d):
        if is_dir(d + "/" + f):
            _remove_tree(d + "/" + f)
        else:
            os.remove(d + "/" + f)
    os.rmdir(d)


def on_the_wire(headers):
    """headers as a connection writes them: a value given in parts (a tuple: a signature after
    its fixed head, as the signing clients give Authorization) joined."""
    return [(name, "".join(value) if isinstance(value, tuple) else value) for name, value in headers]


def summary(sink, payload):
    """(ts, "name=value ...") of the log line's text a sink writes for a payload."""
    parts = []

    def write(text, start=0, end=None):
        part = text[start:end]
        parts.append(part if isinstance(part, str) else bytes(part).decode())

    sink.write_summary(payload, write)
    ts, _, values = "".join(parts)[3:].partition(" ")
    return ts, values


def reading(seq, dropped):
    """A spool payload maker: a small DynamoDB item for seq (and its dropped count), compact as
    dynamodb.Sink.encode writes it."""
    text = '{"seq":{"N":"%d"},"ts":{"N":"1795412461"},"v":{"N":"%d"}}' % (seq, seq * 10)
    if dropped:
        text = text[:-1] + ',"dropped":{"N":"%d"}}' % dropped
    return text.encode()


# -- a config.py to validate (settings, and the board layers' fields) --------------------------

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class Cfg:
    def __init__(self, **fields):
        for k in fields:
            setattr(self, k, fields[k])


def _good(**over):
    fields = {
        "AWS_ACCESS_KEY": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_KEY": SECRET,
        "AWS_SESSION_TOKEN": None,
        "AWS_REGION": "eu-west-1",
        "AWS_DYNAMODB_TABLE": "readings",
        "CA_FILE": _der_path(),
        "DEVICE_ID": "dev-1",
    }
    fields.update(over)
    return Cfg(**{k: v for k, v in fields.items() if v is not _DROP})


_DROP = object()


def _der_path():
    # Settings only checks that CA_FILE is readable and DER-shaped (TLS checks the rest).
    path = scratch("settings-ca.der")
    with open(path, "wb") as f:
        f.write(b"\x30\x82\x01\x00" + b"\x00" * 256)
    return path


def _refusal(cfg):
    """(field, message) of the ConfigError that loading cfg raises."""
    from iotsv_settings import ConfigError, load

    try:
        load(cfg)
    except ConfigError as e:
        return e.field, str(e)
    raise AssertionError("no ConfigError for %r" % (cfg.__dict__,))


def _error(**over):
    return _refusal(_good(**over))


NOW = 1795412461  # a board's clock in the tests of delivery (Unix seconds)


class Board:
    """A board's ticks and clock, moved by hand (ms, epoch): what delivery asks of a board."""

    def __init__(self):
        self.ms = 1000
        self.epoch = NOW

    def ticks_ms(self):
        return self.ms

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, delta_ms):
        return a + delta_ms

    def time(self):
        return self.epoch
