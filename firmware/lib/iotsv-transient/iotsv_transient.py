# A module wanted for one call only: loaded for it and dropped again (unless it was loaded before),
# or every module a rare path loads dropped after it, so a board's RAM holds only what runs all
# the time (SigV4's canonicalization is needed to prepare a signer or sign an S3 request, not to
# sign each reading).
import sys


def call_with(name, use):
    """use(module) with the module `name` loaded for the call."""
    loaded_here = name not in sys.modules
    module = __import__(name)
    try:
        return use(module)
    finally:
        if loaded_here:
            sys.modules.pop(name, None)


def call_alone(use):
    """use(), every module it loads dropped after it: a rare path's code (an update check, a key's
    check) and whatever it alone needed leave the heap with it."""
    before = list(sys.modules)  # a list: less heap than a set, and a rare path is not hot
    try:
        return use()
    finally:
        for name in [name for name in sys.modules if name not in before]:
            sys.modules.pop(name, None)


def run(name, function, *args):
    """module `name`'s `function`(*args), the module loaded for the call (see call_with): no
    lambda in the caller, whose code (a function's worth of heap on a board) stays resident."""
    return call_with(name, lambda module: getattr(module, function)(*args))


def hold(name):
    """The module `name`, loaded if need be and then left out of sys.modules when it was loaded
    here: it stays in the heap only while the caller holds it (a rate limiter pacing after a
    throttle holds its pacing code, and lets it go when it steps aside)."""
    loaded_here = name not in sys.modules
    module = __import__(name)
    if loaded_here:
        sys.modules.pop(name, None)
    return module
