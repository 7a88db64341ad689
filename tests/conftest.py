import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tools")]
import helpers  # noqa: E402  (the tools folder is on the path now)

sys.path[:0] = [p for p in helpers.portable_path() if p not in sys.path]

import gc
import warnings

import pytest

import unixport

TESTS = os.path.join(ROOT, "tests")
# A test's kind is the folder it lives in (tests/README.md says which command runs which kind).
KINDS = {
    "portable": "unit",  # the portable modules on CPython
    "test_portable_on_micropython.py": "unit",  # ... and the same modules on MicroPython
    "host": "host",
    "e2e": "e2e",
    "lab": "lab",
}
MARKERS = {
    "unit": "fast portable tests of the firmware's modules, on CPython and on MicroPython (make check)",
    "host": "host tools and differential checks against botocore, cryptography and other oracles",
    "e2e": "the firmware on the unix port, or a host tool, against the local servers",
    "lab": "runs of minutes: a fleet, chaos, a long outage",
    "image": "needs the 32-bit image of make image (build/image/micropython)",
}
# a parameter of any of these values runs the image (a code of tools/unixport.py, or a runner's name)
IMAGE_PARAMS = ("image", "mpy32", "32bit", "micropython-32bit")
# under pytest-xdist the tests go to the workers in this order: the longest runs start first
ORDER = ("lab", "e2e", None, "host", "unit")


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", "%s: %s" % (name, text))


def kind_of(path):
    """The kind of a test file (None: in no kind's folder)."""
    return KINDS.get(os.path.relpath(path, TESTS).split(os.sep)[0])


def pytest_collection_modifyitems(config, items):
    unplaced = set()
    rank = {}
    for item in items:
        kind = kind_of(str(item.path))
        if kind:
            item.add_marker(kind)
        else:
            unplaced.add(os.path.relpath(str(item.path), TESTS))
        spec = getattr(item, "callspec", None)
        if spec and any(isinstance(v, str) and v in IMAGE_PARAMS for v in spec.params.values()):
            item.add_marker("image")
        rank[item] = ORDER.index(kind)
    items.sort(key=rank.__getitem__)  # stable: a file's tests stay together and in order
    if unplaced:
        text = "tests/%s: in no kind's folder (tests/README.md)" % ", tests/".join(sorted(unplaced))
        warnings.warn(pytest.PytestCollectionWarning(text), stacklevel=2)


def pytest_xdist_make_scheduler(config, log):
    """make test's --dist loadscope, with scopes of this suite's own: an e2e file is one (its tests
    share the servers its module's fixtures start once), any other test is one alone, sent to
    whichever worker is free. They go in the order above (--no-loadscope-reorder)."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return path if kind_of(os.path.join(str(config.rootpath), path)) == "e2e" else nodeid

    return Scheduling(config, log)


@pytest.fixture(autouse=True)
def frozen_heap():
    """The firmware calls gc.collect() where a board's heap runs short: on CPython each call walks
    every object in the process (botocore, moto, hypothesis, what earlier tests kept), 20-100 ms.
    What is there when a test starts is frozen (gc.freeze(), which costs nothing): the test's
    collections walk only what it allocates."""
    gc.freeze()


@pytest.fixture(autouse=True)
def image_only_where_marked(request, monkeypatch):
    """A test that runs the image must be marked image (by a parameter, or by hand): `-m "not image"`
    then runs without make image."""
    if request.node.get_closest_marker("image"):
        return
    interpreter = unixport.interpreter

    def guarded(code="source"):
        if code in ("image", "mpy32"):
            raise AssertionError("%s runs the image: mark it @pytest.mark.image" % request.node.nodeid)
        return interpreter(code)

    monkeypatch.setattr(unixport, "interpreter", guarded)


@pytest.fixture(scope="session", autouse=True)
def own_mpy_folders(tmp_path_factory):
    """build/mpy and build/mpy32 (code "mpy", "mpy32") in a folder of this process's own: pytest-xdist's
    workers compile them at once, and a test run leaves make mpy's files alone."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("MPY_DIR", "MPY32_DIR"):
            mp.setattr(unixport, name, str(tmp_path_factory.mktemp(name.lower())))
        yield


@pytest.fixture(scope="session")
def local_ca(tmp_path_factory):
    """A local CA with a server certificate for localhost and 127.0.0.1, and an unrelated CA."""
    return helpers.make_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session", autouse=True)
def portable_env(local_ca, tmp_path_factory):
    """Scripted HTTP and HTTPS servers for the portable tests; their environment is set here
    for CPython and passed to MicroPython by test_portable_on_micropython."""
    env, servers = helpers.stub_servers(local_ca, str(tmp_path_factory.mktemp("scratch")))
    os.environ.update(env)
    yield env
    for server in servers:
        server.close()
