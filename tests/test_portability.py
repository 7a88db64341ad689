# The portable core imports nothing board-specific: hardware lives behind board_* modules.
import ast
import glob
import os

from unixport import ROOT

HARDWARE = {"machine", "network", "esp32", "ntptime", "esp", "rp2", "pyb"}
BOARD_LAYER = ("board", "board_unix", "board_esp32", "sensors_unix", "main")


def imports(path):
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module.split(".")[0]


def test_portable_modules_import_no_hardware_module():
    checked = 0
    for path in glob.glob(os.path.join(ROOT, "firmware", "*.py")):
        name = os.path.basename(path)[:-3]
        if name in BOARD_LAYER:
            continue
        used = set(imports(path))
        assert not used & HARDWARE, (name, used & HARDWARE)
        assert not used & {"hmac", "logging", "datetime", "functools", "typing"}, (name, used)
        checked += 1
    assert checked >= 8


def test_mip_package_brings_every_firmware_module_its_modules_import():
    import json

    with open(os.path.join(ROOT, "package.json")) as f:
        listed = {os.path.basename(dst)[:-3]: src for dst, src in json.load(f)["urls"]}
    ours = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "firmware", "*.py"))}
    for name, src in listed.items():
        assert os.path.isfile(os.path.join(ROOT, src)), src
        missing = (set(imports(os.path.join(ROOT, src))) & ours) - set(listed)
        assert not missing, (name, missing)
