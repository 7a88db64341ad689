# Power cuts on demand, on both interpreters: install() swaps the `open` and `os` that atomicfile,
# atomicload and spool (with its rare code, loaded here so it stays) see for stand-ins that count every
# write, rename and remove, and at the Nth one cut the power: raise PowerCut after leaving the
# files as a SIGKILL there would (a write: none or half of its bytes; a rename: nothing done, or
# on FAT the target unlinked but not renamed).
import os

import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload
import iotsv_spool as spool
import iotsv_spoolrare as spoolrare

MODULES = (atomicfile, atomicload, spool, spoolrare)
VARIANTS = {"write": ("none", "half"), "rename": ("before", "fat"), "remove": ("before",)}
_open = open


class PowerCut(Exception):
    pass


class Cutter:
    def __init__(self, at=0, variant=None):
        self.at = at  # the operation (1-based) the power goes at; 0: never
        self.variant = variant
        self.ops = []  # (kind, path) of every operation so far

    def _due(self, kind, path):
        self.ops.append((kind, path))
        return len(self.ops) == self.at

    def open(self, path, mode="r"):
        return _File(self, _open(path, mode), path)


class _File:
    def __init__(self, cutter, f, path):
        self.cutter, self.f, self.path = cutter, f, path

    def write(self, data, *span):  # MicroPython's (buf, offset, length) too
        if span:
            data = memoryview(data)[span[0] : span[0] + span[1]]
        if self.cutter._due("write", self.path):
            if self.cutter.variant == "half" and len(data) > 1:
                self.f.write(data[: len(data) // 2])
            raise PowerCut("write %d of %s" % (len(self.cutter.ops), self.path))
        return self.f.write(data)

    def read(self, *n):
        return self.f.read(*n)

    def readinto(self, buf, *n):
        return self.f.readinto(buf, *n)

    def seek(self, *a):
        return self.f.seek(*a)

    def flush(self):
        return self.f.flush()

    def fileno(self):
        return self.f.fileno()

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


class _Os:
    def __init__(self, cutter):
        self.cutter = cutter

    def __getattr__(self, name):  # stat, mkdir, fsync ...: the real ones
        return getattr(os, name)

    def rename(self, old, new):
        if self.cutter._due("rename", new):
            if self.cutter.variant == "fat" and atomicload.exists(new):
                os.remove(new)
            raise PowerCut("rename %d to %s" % (len(self.cutter.ops), new))
        os.rename(old, new)

    def remove(self, path):
        if self.cutter._due("remove", path):
            raise PowerCut("remove %d of %s" % (len(self.cutter.ops), path))
        os.remove(path)


def install(cutter):
    for m in MODULES:
        m.open = cutter.open
        m.os = _Os(cutter)


def uninstall():
    for m in MODULES:
        m.open = _open
        m.os = os


def run(cutter, fn, *args):
    """fn(*args) with the power cut as cutter says; (result, True if the power went)."""
    install(cutter)
    try:
        return fn(*args), False
    except PowerCut:
        return None, True
    finally:
        uninstall()
