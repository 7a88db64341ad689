# Runs on MicroPython: what one module costs resident, measured on this interpreter. Arguments: the
# module, then the modules it imports (none: it reports them). Those are imported first, so the
# figure is the module's own: its code, constants, globals and the names it interns, the live heap
# after a collection minus the one before; after_pop what stays once it is dropped from sys.modules
# (on a .mpy the names it interned). Prints one JSON object on the last line.
import gc
import json
import sys

from modulestate import globals_of


def live():
    gc.collect()
    return gc.mem_alloc()


name, deps = sys.argv[1], sys.argv[2:]
before = set(sys.modules)
for dep in deps:
    __import__(dep)
start = live()
module = __import__(name)
cost = live() - start
held = globals_of(module)
del module
sys.modules.pop(name)
out = {"module": name, "import": cost, "globals": held, "after_pop": live() - start}
if not deps:
    out["imports"] = sorted(m for m in sys.modules if m not in before and m != name)
print(json.dumps(out))
