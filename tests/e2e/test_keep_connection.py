# KEEP_CONNECTION_S: the firmware on the unix port against the local DynamoDB behind a keep-alive TLS
# proxy (moto alone closes every connection): a connection whose next send is near is kept, one
# whose next send is further off is closed after the send (a new handshake for the next).
import pytest

import unixport
from local.benchsite import Site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(str(tmp_path_factory.mktemp("keepconn")))
    yield s
    s.stop()


def run(site, name, extra=""):
    site.fresh_proxy()
    folder = site.config(name, 3, interval_s=0.4, extra=extra)
    r = unixport.run_firmware(folder, timeout=120)
    assert r.returncode == 0, r.stdout
    assert "done: 3 readings delivered in this run" in r.stdout, r.stdout
    return r.stdout


def test_by_default_a_connection_is_kept_for_the_next_send_a_reading_away(site):
    assert "1 connection(s)" in run(site, "keep-default")


def test_a_next_send_further_off_than_keep_connection_s_closes_it_after_each_send(site):
    assert "3 connection(s)" in run(site, "keep-closed", "KEEP_CONNECTION_S = 0.2\n")


def test_a_next_send_within_keep_connection_s_keeps_it(site):
    assert "1 connection(s)" in run(site, "keep-kept", "KEEP_CONNECTION_S = 0.6\n")
