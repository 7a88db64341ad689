import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tools")]
import helpers  # noqa: E402  (the tools folder is on the path now)

sys.path[:0] = [p for p in helpers.portable_path() if p not in sys.path]

import pytest

from iotsig import certs
from localddb import free_port
from stub_http import StubServer


@pytest.fixture(scope="session")
def local_ca(tmp_path_factory):
    """A local CA with a server certificate for localhost and 127.0.0.1, and an unrelated CA."""
    folder = str(tmp_path_factory.mktemp("pki"))
    ca_pem, ca_der, ca_key = certs.make_ca(folder)
    server_pem, server_key = certs.make_server_cert(folder, ca_pem, ca_key)
    other_pem, other_der, _ = certs.make_ca(folder, "other", "Some Other CA")
    wrong_pem, wrong_key = certs.make_server_cert(folder, ca_pem, ca_key, "wrongname", ("wrong.example",))
    return {
        "ca_pem": ca_pem,
        "ca_der": ca_der,
        "server_pem": server_pem,
        "server_key": server_key,
        "other_der": other_der,
        "wrongname_pem": wrong_pem,
        "wrongname_key": wrong_key,
        "folder": folder,
    }


@pytest.fixture(scope="session", autouse=True)
def portable_env(local_ca, tmp_path_factory):
    """Scripted HTTP and HTTPS servers for the portable tests; their environment is set here
    for CPython and passed to MicroPython by test_portable_on_micropython."""
    https = StubServer(local_ca["server_pem"], local_ca["server_key"])
    http = StubServer()
    wrong_name = StubServer(local_ca["wrongname_pem"], local_ca["wrongname_key"])
    env = {
        "SCRATCH_DIR": str(tmp_path_factory.mktemp("scratch")),
        "STUB_WRONGNAME_PORT": str(wrong_name.port),
        "STUB_HTTPS_PORT": str(https.port),
        "STUB_HTTP_PORT": str(http.port),
        "STUB_CLOSED_PORT": str(free_port()),  # nothing listens there
        "STUB_CA_DER": local_ca["ca_der"],
        "STUB_OTHER_CA_DER": local_ca["other_der"],
    }
    os.environ.update(env)
    yield env
    for server in (https, http, wrong_name):
        server.close()
