# Small files that are replaced whole or not at all, on littlefs, FAT and POSIX alike.
import os


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def ensure_dir(path):
    """mkdir -p, on both interpreters (MicroPython's os has no makedirs)."""
    here = ""
    for part in path.split("/"):
        here = here + "/" + part if here or path.startswith("/") else part
        if part and part != ".":
            try:
                os.mkdir(here)
            except OSError:
                pass
    if not exists(path):
        raise OSError("cannot create directory %s" % path)


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def recover(path):
    """Finish or undo a replace that a power cut interrupted. The new content is written whole
    to path.tmp before it is renamed over path; FAT's rename unlinks the target first, so a cut
    can leave a complete .tmp and no target."""
    tmp = path + ".tmp"
    if exists(tmp):
        if exists(path):
            remove(tmp)  # cut while writing .tmp: the old content stands
        else:
            os.rename(tmp, path)  # cut between FAT's unlink and rename: .tmp is complete


def replace(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def read_int(path, default=0):
    recover(path)
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return default
    if not text.strip().isdigit():
        raise ValueError("%s is corrupt (%r)" % (path, text[:20]))
    return int(text)


def write_int(path, value):
    replace(path, ("%d\n" % value).encode())
