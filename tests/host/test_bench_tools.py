# The benchmark pieces still run (their figures are make bench's business, not a test's): the
# firmware compiles with mpy-cross, and the MicroPython signing benchmark reports every figure.
import json

import layout
from lab import bench


def test_firmware_compiles_to_mpy(tmp_path):
    sizes = layout.build_mpy(str(tmp_path / "mpy"))
    assert sorted(sizes) == sorted(layout.board_modules("unix"))
    assert all(size > 100 for size in sizes.values())


def test_signing_benchmark_reports_its_figures():
    result = bench.probe("signing_mp.py")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {
        "floor_us",
        "sign_us",
        "generic_sign_us",
        "sign_over_floor",
        "heap_per_sign",
        "heap_per_generic_sign",
    }
    assert all(v > 0 for v in figures.values())
