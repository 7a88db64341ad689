import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("firmware", "tests/portable", "tools"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

import pytest


@pytest.fixture
def portable_env():
    """Environment for portable tests run under MicroPython (extended by server fixtures)."""
    return {}
