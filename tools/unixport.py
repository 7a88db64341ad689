"""The one way to start the firmware (or any script) on MicroPython's unix port.

The firmware runs from one of four codes, as a board would hold it:
  source  the .py files of the firmware's folders (the 64-bit interpreter from PyPI)
  mpy     the .mpy files of `make mpy` in build/mpy, as `make deploy` puts them on a board
  image   build/image/micropython, the 32-bit interpreter of `make image` with the firmware frozen
          in: nothing of firmware/ is read from the filesystem
  mpy32   the image's 32-bit interpreter loading .mpy files (x86) from build/mpy32 instead
and always in its device folder, as on a board: paths in config.py are relative to it, and what
the board writes (state, crash log) lands there, never in the repo.

    python tools/unixport.py CONFIG_FOLDER [--heap 48K] [--mpy | --image]

runs it in the foreground (what `make unix` does) and exits with the firmware's own code.
"""

import argparse
import os
import shutil
import subprocess
import sys

import layout

ROOT = layout.ROOT
MPY_DIR = os.path.join(ROOT, "build", "mpy")
PROBES = os.path.join(ROOT, "tools", "lab", "probes")  # scripts that run beside the firmware and measure it
IMAGE = os.path.join(ROOT, "build", "image", "micropython")
IMAGE_MPY_CROSS = os.path.join(ROOT, "build", "image", "mpy-cross")  # from the image's source: its .mpy version
MPY32_DIR = os.path.join(ROOT, "build", "mpy32")
CODES = ("source", "mpy", "image", "mpy32")


def interpreter(code="source"):
    """The micropython executable for a code: the image's own, or the 64-bit one (MICROPYTHON, the
    venv's, or the PATH's)."""
    if code in ("image", "mpy32"):
        if not os.path.exists(IMAGE):
            raise RuntimeError("no image at %s: run 'make image'" % IMAGE)
        if code == "image":  # what it froze must be what the tree holds, or a run tests old code
            built = os.path.getmtime(IMAGE)
            for src in layout.board_modules("unix").values():
                if os.path.getmtime(src) > built:
                    raise RuntimeError("%s is newer than the image: run 'make image'" % os.path.relpath(src, ROOT))
        return IMAGE
    found = os.environ.get("MICROPYTHON") or os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(found):
        found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: run through make (make setup installs it)")
    return found


def code_path(code="source"):
    """The folders of the firmware's modules on the import path for a code."""
    if code == "source":
        return layout.source_path("unix")
    if code == "mpy":
        return [MPY_DIR]
    if code == "mpy32":
        return [MPY32_DIR]
    if code == "image":
        return []
    raise ValueError("code must be one of %s" % (CODES,))


def environment(path, env=None):
    """os.environ with MICROPYPATH made of `path`, then the frozen modules (MICROPYPATH replaces the
    whole import path: without .frozen an image finds nothing of its own)."""
    full = dict(os.environ)
    full["MICROPYPATH"] = ":".join([os.path.abspath(p) for p in path] + [".frozen"])
    full["PROJECT_ROOT"] = ROOT
    full.update(env or {})
    return full


def command(args, heap=None, code="source"):
    return [interpreter(code)] + (["-X", "heapsize=%s" % heap] if heap else []) + list(args)


def run(args, path, heap=None, code="source", env=None, cwd=ROOT, timeout=600, **kw):
    """A script on the unix port with `path` on the import path; output captured as text."""
    return subprocess.run(
        command(args, heap, code),
        env=environment(path, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        **kw,
    )


def run_probe(name, args=(), path=(), heap=None, code="source", cwd=ROOT):
    """A probe script of tools/lab/probes (one that imports the firmware's modules and measures them)
    on the unix port, with `path` (a device folder), the probes and the firmware of `code` on the
    import path."""
    return run(
        [os.path.join(PROBES, name)] + list(args),
        list(path) + [PROBES] + code_path(code),
        heap=heap,
        code=code,
        cwd=cwd,
    )


def firmware(config_folder, code="source", heap=None, env=None, extra_path=(), entry=("-m", "main")):
    """(argv, env, cwd) that start the firmware in its device folder. extra_path goes after the
    device folder (a probe script's folder); entry replaces `-m main` (a probe that imports main)."""
    folder = os.path.abspath(config_folder)
    path = [folder] + list(extra_path) + code_path(code)
    return command(entry, heap, code), environment(path, env), folder


def run_firmware(config_folder, code="source", heap=None, env=None, timeout=None, stdout=subprocess.PIPE, **kw):
    """The firmware run to its end; stderr goes with stdout (text)."""
    argv, full_env, cwd = firmware(config_folder, code, heap, env, **kw)
    return subprocess.run(
        argv, env=full_env, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT, text=True, timeout=timeout
    )


def start_firmware(config_folder, stdout, code="source", heap=None, env=None, **kw):
    """The firmware started in the background (a Popen), its output to stdout."""
    argv, full_env, cwd = firmware(config_folder, code, heap, env, **kw)
    return subprocess.Popen(argv, env=full_env, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT, text=True)


def add_code_options(parser):
    """--mpy and --image, for a tool that runs the firmware: which code it runs from (code_option)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--mpy", action="store_true", help="the firmware the .mpy files of make mpy")
    group.add_argument("--image", action="store_true", help="the firmware the 32-bit image of make image")


def code_option(args):
    """The code of add_code_options' arguments: one of CODES, "source" unless one was given."""
    return "image" if args.image else "mpy" if args.mpy else "source"


def main():
    parser = argparse.ArgumentParser(description="Run the firmware on the unix port in a device folder.")
    parser.add_argument("config", help="the device folder, with config.py")
    parser.add_argument("--heap", help="-X heapsize, e.g. 48K")
    add_code_options(parser)
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(args.config, "config.py")):
        print("error: no config.py in %s" % args.config, file=sys.stderr)
        return 2
    try:
        argv, env, cwd = firmware(args.config, code_option(args), args.heap)
    except RuntimeError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    os.chdir(cwd)
    os.execve(argv[0], argv, env)  # the firmware's own exit code (0, 1, 2, 3) is ours


if __name__ == "__main__":
    sys.exit(main())
