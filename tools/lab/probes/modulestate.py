# What a module's globals hold, for the memory budget's table (both probes that run on MicroPython):
# {name: "type" or "type(len)"} for each global that is data, not code: a module's growth after its
# import (a cache, a key, a buffer) shows as a name or length that differs at the peak.
_CODE = ("function", "closure", "bound_method", "type", "module", "generator")


def globals_of(module):
    # its __dict__, not dir(): MicroPython's dir() asks the module for every interned name, and a
    # module's __getattr__ (a name read through it from a module loaded when asked) would answer
    g = module.__dict__
    held = {}
    for key in g:
        if key[:2] == "__":
            continue
        value = g[key]
        kind = type(value).__name__
        if kind in _CODE or value is None or isinstance(value, (bool, int, float, str)):
            continue
        try:
            held[key] = "%s(%d)" % (kind, len(value))
        except TypeError:
            held[key] = kind
    return held
