# What the host-side tests share (the portable tests share tests/portable/portable.py).
import os

import layout
import unixport

ROOT = layout.ROOT
PORTABLE = os.path.join(ROOT, "tests", "portable")


def portable_path():
    """The import path of the portable tests on MicroPython: every firmware folder (the ESP32
    board layer runs there against fakes) and the tests' own."""
    folders = []
    for board in layout.BOARD_NAMES:
        folders += [f for f in layout.source_path(board) if f not in folders and f != layout.FIRMWARE]
    return folders + [layout.FIRMWARE, PORTABLE]


def run_portable(script, args=(), env=None, code="source", timeout=120):
    """A script of tests/portable on MicroPython (code="image": the 32-bit interpreter of make
    image) with the firmware's source and the portable tests on the import path."""
    return unixport.run([os.path.join(PORTABLE, script)] + list(args), portable_path(), code=code, env=env,
                        timeout=timeout)  # fmt: skip


def examples(strategy, n):
    """n values drawn by hypothesis from strategy, for a batch that MicroPython runs in one go."""
    from hypothesis import given, settings

    out = []

    @settings(max_examples=n, deadline=None, database=None)
    @given(strategy)
    def collect(value):
        out.append(value)

    collect()
    return out
