# The portable test modules (tests/portable), which pytest runs on CPython, run again here on
# MicroPython with the same test data: on the 64-bit unix port from PyPI, and on the 32-bit
# interpreter of make image (small ints are 31-bit there, as on an ESP32: Unix times, CRC32s and
# ticks arithmetic behave differently).
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


def test_the_image_is_32_bit_with_the_firmware_frozen_in(tmp_path):
    probe = "import sys, app, sigv4signer, board_unix, ssl; print(sys.maxsize, sys.implementation.version[:3])"
    result = unixport.run(["-c", probe], [], code="image", cwd=str(tmp_path))  # nothing but .frozen on the path
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split(None, 1) == ["2147483647", "(1, 28, 0)\n"]
    frozen = unixport.run(["-c", "help('modules')"], [], code="image").stdout.split()
    assert "board_unix" in frozen and "board_esp32" not in frozen
