# Running code on the MicroPython unix port from pytest.
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def executable():
    found = os.environ.get("MICROPYTHON") or os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(found):
        found = shutil.which("micropython")
    assert found, "micropython not found: run the tests through 'make test'"
    return found


def run(args, path, env=None, timeout=120, **kw):
    """Run micropython with MICROPYPATH made of `path` (folders) and the frozen modules."""
    full_env = dict(os.environ)
    full_env["MICROPYPATH"] = ":".join(list(path) + [".frozen"])
    full_env["PROJECT_ROOT"] = ROOT
    full_env.update(env or {})
    return subprocess.run(
        [executable()] + list(args),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        **kw,
    )


def portable_path():
    return [os.path.join(ROOT, "firmware"), os.path.join(ROOT, "tests", "portable")]


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
