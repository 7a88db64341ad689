# Runs on MicroPython: the firmware's main, with every module it asks to import recorded (through
# builtins.__import__: modules it drops from sys.modules after use, as main.py drops the config
# validation, are seen too). Prints the names, sorted, as JSON on the last line; exits with the
# firmware's exit code.
import builtins
import json
import sys

asked = set()
_import = builtins.__import__


def recorded(name, *args):
    asked.add(name)
    return _import(name, *args)


builtins.__import__ = recorded
code = 0
try:
    import main  # noqa: F401  (runs the firmware, then raises SystemExit)
except SystemExit as e:
    code = e.args[0] if e.args else 0
builtins.__import__ = _import
print(json.dumps({"imported": sorted(asked)}))
sys.exit(code)
