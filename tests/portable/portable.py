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


def fresh(name):
    """An empty scratch folder for this name (a STATE_DIR)."""
    import atomicfile

    d = scratch(name)
    if atomicfile.exists(d):
        for f in os.listdir(d):
            os.remove(d + "/" + f)
        os.rmdir(d)
    atomicfile.ensure_dir(d)
    return d


def reading(seq, dropped):
    """A spool payload maker: a small DynamoDB item for seq (and its dropped count), spaced as
    json.dumps writes it (what dynamodb.Sink.encode gives)."""
    text = '{"seq": {"N": "%d"}, "ts": {"N": "1795412461"}, "v": {"N": "%d"}}' % (seq, seq * 10)
    if dropped:
        text = text[:-1] + ', "dropped": {"N": "%d"}}' % dropped
    return text.encode()
