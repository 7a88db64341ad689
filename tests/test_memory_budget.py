# The memory budget: the firmware from .mpy files, as a board loads them, on the unix port with
# -X heapsize=membudget.BUDGET, delivers 200 readings in batches over TLS; the peak live heap is
# measured and written to build/membudget.json (make membudget also finds the smallest heap).
import json
import os

import pytest

import bench
import membudget


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = bench.Site(str(tmp_path_factory.mktemp("membudget")))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def mpy_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("mpy"))
    bench.build_mpy(out)
    return out


def test_firmware_delivers_200_readings_within_the_heap_budget(site, mpy_dir):
    ok, out = membudget.delivers(site, membudget.BUDGET, membudget.READINGS, mpy_dir)
    assert ok, out[-3000:]
    assert "0 dropped" in out and "1 connection(s)" in out  # batched over one kept-alive TLS connection
    peak = membudget.peak_live_heap(site, "4M", membudget.READINGS, mpy_dir)
    budget = int(membudget.BUDGET[:-1]) * 1024
    assert 16 * 1024 < peak < budget
    os.makedirs(os.path.join(bench.ROOT, "build"), exist_ok=True)
    with open(os.path.join(bench.ROOT, "build", "membudget.json"), "w") as f:
        json.dump({"heap": membudget.BUDGET, "readings": membudget.READINGS, "peak_live_heap": peak}, f)


def test_a_heap_far_too_small_is_a_memory_error_not_a_hang(site, mpy_dir):
    ok, out = membudget.delivers(site, "48K", 20, mpy_dir)
    assert not ok and "MemoryError" in out
