# The portable test modules (tests/portable), which pytest runs on CPython, run again here on
# MicroPython with the same test data: on the 64-bit unix port from PyPI, and on the 32-bit
# interpreter of make image (small ints are 31-bit there and floats single precision, as on an
# ESP32: Unix times, CRC32s, ticks arithmetic and float text behave differently).
import glob
import os
import re

import pytest

import helpers
import unixport

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(helpers.PORTABLE, "test_*.py")))
INTERPRETERS = {"64bit": "source", "32bit": "image"}


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("interpreter", sorted(INTERPRETERS))
def test_portable_module_passes_on_micropython(interpreter, module, portable_env):
    result = helpers.run_portable("mprunner.py", [module], env=portable_env, code=INTERPRETERS[interpreter])
    out = result.stdout + result.stderr
    summary = re.search(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", result.stdout, re.M)
    assert summary, out
    passed, failed, skipped = map(int, summary.groups())
    assert result.returncode == 0 and failed == 0, out
    if skipped:
        pytest.skip("skipped on MicroPython: " + "; ".join(re.findall(r"^SKIP (.*)$", out, re.M)))
    assert passed > 0, out


@pytest.mark.image
def test_the_image_is_32_bit_with_the_firmware_frozen_in(tmp_path):
    # single-precision floats too, as an ESP32's MicroPython has: 1 + 2**-30 is 1, time.time() an int
    probe = (
        "import sys, time, iotsv_app, iotsv_sigv4signer, iotsv_board_unix, ssl;"
        " print(sys.maxsize, 1.0 + 2.0**-30 == 1.0, type(time.time()) is int, sys.implementation.version[:3])"
    )
    result = unixport.run(["-c", probe], [], code="image", cwd=str(tmp_path))  # nothing but .frozen on the path
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split(None, 3) == ["2147483647", "True", "True", "(1, 28, 0)\n"]
    frozen = unixport.run(["-c", "help('modules')"], [], code="image").stdout.split()
    assert "iotsv_board_unix" in frozen and "iotsv_board_esp32" not in frozen


@pytest.mark.image
def test_a_full_batch_of_the_largest_readings_goes_in_a_heap_smaller_than_it(tmp_path):
    """test_batch_heap's case on the 32-bit image (the firmware frozen in, as on a board) in
    -X heapsize=64K: 25 readings of nearly 4 KB, 100 KB, in one BatchWriteItem at about the peak
    of one reading (the log line of so many fields needs a 56K heap: it is the peak then)."""
    case = "import test_batch_heap as t; t.test_a_full_batch_of_the_largest_readings_peaks_as_one_does()"
    env = {"SCRATCH_DIR": str(tmp_path)}
    result = unixport.run(["-c", case], [helpers.PORTABLE], heap="64K", code="image", env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "batch: delivered 25 " in result.stdout and "(their payloads 10" in result.stdout
