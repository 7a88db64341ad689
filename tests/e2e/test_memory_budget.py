# The memory budget: the firmware delivers 200 readings in batches over TLS on the unix port with
# -X heapsize limited as a board's heap is; the peak live heap is measured (make membudget also
# finds the smallest heap for each interpreter).
import pytest

import layout
import unixport
from lab import membudget
from local.benchsite import Site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(str(tmp_path_factory.mktemp("membudget")))
    yield s
    s.stop()


@pytest.mark.image
def test_the_image_delivers_200_readings_in_32K(site):
    """The 32-bit image, firmware frozen in (bytecode out of the heap, as on a production ESP32)."""
    ok, out = membudget.delivers(site, membudget.BUDGETS["image"], membudget.READINGS, "image")
    assert membudget.BUDGETS["image"] == "32K"
    assert ok, out[-3000:]
    assert "0 dropped" in out and "1 connection(s)" in out
    peak = membudget.peak_live_heap(site, membudget.READINGS, "image")
    assert 8 * 1024 < peak < 32 * 1024


def test_64bit_mpy_delivers_200_readings_in_its_budget(site):
    layout.build_mpy(unixport.MPY_DIR)
    ok, out = membudget.delivers(site, membudget.BUDGETS["mpy"], membudget.READINGS, "mpy")
    assert ok, out[-3000:]
    assert "0 dropped" in out and "1 connection(s)" in out  # batched over one kept-alive TLS connection
    peak = membudget.peak_live_heap(site, membudget.READINGS, "mpy")
    assert 16 * 1024 < peak < 128 * 1024


def test_between_readings_the_heap_holds_the_delivery_path_alone(site):
    """No module of the start, the boot stage or a rare path is loaded when a request is sent: each
    is dropped after the call that loads it, and with it what it alone imported."""
    layout.build_mpy(unixport.MPY_DIR)
    loaded = set(membudget.peak_live_heap(site, 50, "mpy", modules=True)[1])
    start_only = {"iotsv_boot", "iotsv_versions", "iotsv_settings", "iotsv_appstart", "iotsv_spoolrare",
                  "iotsv_atomicload", "iotsv_httpconnect", "iotsv_httptls", "iotsv_sigv4", "config"}  # fmt: skip
    rare = {"iotsv_deliveryrare", "iotsv_httprare", "iotsv_httperrors", "iotsv_wakecycle", "iotsv_oserror"}
    assert {"iotsv_app", "iotsv_delivery", "iotsv_spool", "iotsv_httpclient"} <= loaded, loaded
    assert not (start_only | rare) & loaded, (start_only | rare) & loaded


def test_a_heap_far_too_small_is_a_memory_error_not_a_hang(site):
    layout.build_mpy(unixport.MPY_DIR)  # this worker's own folder: another test may not have built it
    ok, out = membudget.delivers(site, "48K", 20, "mpy")
    assert not ok and "MemoryError" in out


def test_rare_paths_leave_no_module_behind(site):
    """An update check (the updater, S3, the log upload) and a release's signature check (Ed25519,
    SHA-512) drop every module they load; validation leaves only the spool's format, which the app uses."""
    layout.build_mpy(unixport.MPY_DIR)
    rows = {path.split(" (")[0]: (left, names) for path, left, names in membudget.rare_paths(site, "mpy")}
    assert rows["config validation"][1] == ["iotsv_spoolrecord"]
    assert "iotsv_updates" in rows["the start"][1] and "iotsv_appstart" not in rows["the start"][1]
    for path in ("an update check", "a release's signature checked"):
        left, names = rows[path]
        # names it interned stay, no code: on 64-bit about 2 KB, as the HTTP client's rare code is now
        # four modules loaded by name (each a module's names, interned once)
        assert names == [] and left < 2560, (path, left, names)
    assert rows["another update check"] == (0, [])  # nothing grows from one check to the next
