# The layout is the architecture: every firmware module is in its part's manifest, imports go one
# way (library <- app <- boards, the board picker between), nothing imports in a circle, the portable
# core imports no hardware module, each library part's package.json is its manifest and pulls in
# what its modules import, and no module name is one a user's /lib could already hold.
import ast
import glob
import os

import pytest

import layout

HARDWARE = {"machine", "network", "esp32", "ntptime", "esp", "rp2", "pyb"}
MISSING_ON_MICROPYTHON = {"hmac", "logging", "datetime", "functools", "typing"}


def imports(path):
    """The top-level names a module imports, anywhere in it (a function's lazy import counts), and
    the modules it loads by name: a call whose first argument is a module's name as a literal
    (__import__, iotsv_transient's call_with, run and hold, the HTTP client's _call)."""
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module.split(".")[0]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.args[0].value
            if isinstance(name, str) and name in MODULES:
                yield name


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
    return part(name).startswith("board:") and not name.startswith("iotsv_board_")


def test_every_firmware_file_is_in_a_manifest_and_the_manifests_hold_all_parts():
    sources = {
        p
        for p in glob.glob(os.path.join(layout.FIRMWARE, "**", "*.py"), recursive=True)
        if not p.endswith("manifest.py")
    }
    assert sources == set(MODULES.values())
    assert {part(n) for n in MODULES} == {"lib", "app", "top", "board:esp32", "board:unix"}
    for board in layout.BOARD_NAMES:
        assert "main" in layout.board_modules(board) and "iotsv_board_" + board in layout.board_modules(board)
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
        if name == "iotsv_board":  # the board picker, and only it, imports the board layers
            allowed |= {n for n in MODULES if n.startswith("iotsv_board_")}
    elif is_driver(name):
        allowed = {"iotsv_sensors"}  # a driver knows the sensor interface, nothing else of ours
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
    """A rare module loaded by name (iotsv_spoolrare, iotsv_httprare...) counts: it must not import
    its loader back."""
    assert cycles(graph(MODULES)) == []


TOOL_PACKAGES = ("iotsig", "local", "lab")


def tool_imports(path):
    """The modules of the tools a module imports: tools/ modules by name, its packages' modules as
    <package>.<module> (the host package's relative imports resolved)."""
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            package = "iotsig" if node.level else (node.module or "")
            if node.level and node.module:
                yield "iotsig." + node.module
            elif package in TOOL_PACKAGES:  # from . import a / from local import a: the modules a
                yield from (package + "." + a.name for a in node.names)
            else:
                yield package


def test_no_import_circle_in_the_tools():
    tools_dir = os.path.join(layout.ROOT, "tools")
    found = glob.glob(os.path.join(tools_dir, "*.py")) + glob.glob(os.path.join(tools_dir, "*", "*.py"))
    tools = {os.path.relpath(p, tools_dir)[:-3].replace(os.sep, ".").replace(".__init__", ""): p for p in found}
    edges = {name: set(tool_imports(path)) & set(tools) for name, path in tools.items()}
    assert len(tools) >= 20 and cycles(edges) == []
    assert "iotsig.hostclient" in edges["iotsig.put_json"] and "iotsig.certs" in edges["local.localddb"]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if part(n) in ("lib", "app", "top")))
def test_portable_modules_import_no_hardware_module(name):
    used = set(imports(MODULES[name]))
    assert not used & HARDWARE, used & HARDWARE
    assert not used & MISSING_ON_MICROPYTHON, used & MISSING_ON_MICROPYTHON


PARTS = layout.lib_parts()


def test_the_library_is_its_parts():
    """Every library module is in exactly one part; the library's manifest requires every part."""
    owners = {}
    for name in sorted(os.listdir(layout.LIB)):
        if os.path.isfile(os.path.join(layout.LIB, name, "manifest.py")):
            assert name in PARTS, name
    for name in PARTS:
        for module in layout.manifest(name).own:
            assert module not in owners, (module, name, owners.get(module))
            owners[module] = name
    assert set(owners) == {n for n in MODULES if part(n) == "lib"}


@pytest.mark.parametrize("name", ["lib"] + sorted(PARTS))
def test_package_json_is_not_stale(name):
    with open(layout.package_json_path(name)) as f:
        assert f.read() == layout.package_json_text(name), "%s is stale: run 'make package.json'" % name


def required(name):
    """The parts a part brings with it, itself included: its requires, followed."""
    seen, todo = set(), [name]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += layout.manifest(p).requires
    return seen


@pytest.mark.parametrize("name", sorted(PARTS))
def test_a_part_pulls_in_what_it_imports_and_nothing_more(name):
    m = layout.manifest(name)
    assert set(m.requires) <= set(PARTS), m.requires  # every dep is a part of this library
    brought = {mod for p in required(name) for mod in layout.manifest(p).own}
    imported = {i for src in m.own.values() for i in imports(src)} & set(MODULES)
    assert imported <= brought, (name, imported - brought)
    for dep in m.requires:  # each dep is imported by a module of this part
        assert imported & set(layout.manifest(dep).own), (name, dep)
    pkg = layout.package_json(name)
    assert [u[0] for u in pkg["urls"]] == [mod + ".py" for mod in m.own]
    assert all(os.path.isfile(os.path.join(layout.LIB, name, u[1])) for u in pkg["urls"])
    assert [d[0] for d in pkg["deps"]] == [layout.dep_url(PARTS[dep]) for dep in m.requires]
    assert m.metadata["version"] and m.metadata["description"]


def test_module_names_are_prefixed_and_not_in_micropython_lib():
    """A flat name a user's /lib could hold (url, utc, app, settings) would shadow theirs or be
    shadowed: every module but main (what a board runs) carries the prefix, and no name (nor a
    part's) is one micropython-lib's index has."""
    assert {n for n in MODULES if not n.startswith("iotsv_")} == {"main"}
    index = os.path.join(layout.ROOT, "build", "micropython", "lib", "micropython-lib")
    if not os.path.isdir(index):
        pytest.skip("no micropython-lib under build/ (make image unpacks it)")
    theirs = set()
    for manifest in glob.glob(os.path.join(index, "**", "manifest.py"), recursive=True):
        folder = os.path.dirname(manifest)
        theirs.add(os.path.basename(folder))
        theirs |= {
            os.path.relpath(p, folder)[:-3].split(os.sep)[0] for p in glob.glob(os.path.join(folder, "**", "*.py"))
        }
    assert len(theirs) > 150  # the index was read (166 names in v1.28.0)
    assert not (set(MODULES) | set(PARTS)) & theirs


@pytest.mark.parametrize("config", ["esp32", "unix"])
def test_pyright_sees_every_library_part(config):
    with open(os.path.join(layout.ROOT, "typecheck", config + ".json")) as f:
        text = f.read()
    for folder in PARTS.values():
        assert '"../%s"' % os.path.relpath(folder, layout.ROOT) in text, (config, folder)
