# The layout is the architecture: every firmware module is in its part's manifest, imports go one
# way (library <- app <- boards, the board picker between), nothing imports in a circle, the portable
# core imports no hardware module, and mip's package.json is the library's manifest.
import ast
import glob
import os

import pytest

import layout

HARDWARE = {"machine", "network", "esp32", "ntptime", "esp", "rp2", "pyb"}
MISSING_ON_MICROPYTHON = {"hmac", "logging", "datetime", "functools", "typing"}


def imports(path):
    """The top-level names a module imports, anywhere in it (a function's lazy import counts)."""
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module.split(".")[0]


def every_module():
    """{name: source path} of every firmware module in every board's manifest."""
    found = {}
    for board in layout.BOARD_NAMES:
        found.update(layout.board_modules(board))
    return found


MODULES = every_module()


def graph(modules):
    return {name: set(imports(path)) & set(modules) for name, path in modules.items()}


def part(name):
    return layout.part_of(MODULES[name])


def is_driver(name):
    return part(name).startswith("board:") and not name.startswith("board_")


def test_every_firmware_file_is_in_a_manifest_and_the_manifests_hold_all_parts():
    sources = {
        p
        for p in glob.glob(os.path.join(layout.FIRMWARE, "**", "*.py"), recursive=True)
        if not p.endswith("manifest.py")
    }
    assert sources == set(MODULES.values())
    assert {part(n) for n in MODULES} == {"lib", "app", "top", "board:esp32", "board:unix"}
    for board in layout.BOARD_NAMES:
        assert "main" in layout.board_modules(board) and "board_" + board in layout.board_modules(board)
    assert "ssl" in layout.manifest("unix").requires  # a FROZEN_MANIFEST must bring the ssl wrapper itself


def test_the_unix_image_freezes_what_the_esp32_image_does_but_the_board_layer():
    esp32, unix = layout.board_modules("esp32"), layout.board_modules("unix")
    shared = {n for n in esp32 if part(n) != "board:esp32"}
    assert shared == {n for n in unix if part(n) != "board:unix"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_one_way(name):
    ours = set(imports(MODULES[name])) & set(MODULES)
    where = part(name)
    if where == "lib":
        allowed = {n for n in MODULES if part(n) == "lib"}
    elif where == "app":
        allowed = {n for n in MODULES if part(n) in ("lib", "app")}
    elif where == "top":
        allowed = {n for n in MODULES if part(n) in ("lib", "app", "top")}
        if name == "board":  # the board picker, and only it, imports the board layers
            allowed |= {n for n in MODULES if n.startswith("board_")}
    elif is_driver(name):
        allowed = {"sensors"}  # a driver knows the sensor interface, nothing else of ours
    else:  # a board layer: the library, the app, and its own folder
        allowed = {n for n in MODULES if part(n) in ("lib", "app", where)}
    assert ours <= allowed, (name, where, ours - allowed)


def cycles(edges):
    """Every import circle in {name: {names it imports}} (a list of names each), by depth-first search."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


def test_the_circle_finder_finds_circles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_circle_in_the_firmware():
    assert cycles(graph(MODULES)) == []


def tool_imports(path):
    """The modules of the tools a module imports: tools/ scripts by name, the host package's modules
    as iotsig.<module> (its relative imports resolved)."""
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            package = "iotsig" if node.level else (node.module or "")
            if node.level and node.module:
                yield "iotsig." + node.module
            elif package == "iotsig":  # from . import a / from iotsig import a: the modules a
                yield from ("iotsig." + a.name for a in node.names)
            else:
                yield package


def test_no_import_circle_in_the_tools():
    tools = {os.path.basename(p)[:-3]: p for p in glob.glob(os.path.join(layout.ROOT, "tools", "*.py"))}
    host = glob.glob(os.path.join(layout.ROOT, "tools", "iotsig", "*.py"))
    tools.update({("iotsig." + os.path.basename(p)[:-3]).replace(".__init__", ""): p for p in host})
    edges = {name: set(tool_imports(path)) & set(tools) for name, path in tools.items()}
    assert len(tools) >= 20 and cycles(edges) == []
    assert "iotsig.hostclient" in edges["iotsig.put_json"] and "iotsig.certs" in edges["localddb"]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if part(n) in ("lib", "app", "top")))
def test_portable_modules_import_no_hardware_module(name):
    used = set(imports(MODULES[name]))
    assert not used & HARDWARE, used & HARDWARE
    assert not used & MISSING_ON_MICROPYTHON, used & MISSING_ON_MICROPYTHON


def test_package_json_is_the_library_manifest():
    with open(os.path.join(layout.ROOT, "package.json")) as f:
        assert f.read() == layout.package_json_text(), "package.json is stale: run 'make package.json'"
    lib = layout.manifest("lib").modules
    for name, src in lib.items():  # mip brings every module the library's modules import
        assert set(imports(src)) & set(MODULES) <= set(lib), name
