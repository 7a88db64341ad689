# The portable test modules (tests/portable), which pytest runs on CPython, run again here on
# the MicroPython unix port with the same test data.
import glob
import os
import re

import pytest

import helpers

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(helpers.PORTABLE, "test_*.py")))


@pytest.mark.parametrize("module", MODULES)
def test_portable_module_passes_on_micropython(module, portable_env):
    result = helpers.run_portable("mprunner.py", [module], env=portable_env)
    out = result.stdout + result.stderr
    summary = re.search(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", result.stdout, re.M)
    assert summary, out
    passed, failed, skipped = map(int, summary.groups())
    assert result.returncode == 0 and failed == 0, out
    if skipped:
        pytest.skip("skipped on MicroPython: " + "; ".join(re.findall(r"^SKIP (.*)$", out, re.M)))
    assert passed > 0, out
