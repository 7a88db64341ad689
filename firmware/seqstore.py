# The last delivered reading's seq, kept in STATE_DIR so numbering survives restarts.
import os


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
    try:
        os.stat(path)
    except OSError:
        raise OSError("cannot create directory %s" % path)


class SeqStore:
    def __init__(self, state_dir):
        ensure_dir(state_dir)
        self.path = state_dir + "/seq"

    def last(self):
        """The last seq delivered; 0 for a new device."""
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError:
            return 0
        if not text.strip().isdigit():
            raise ValueError("%s is corrupt (%r): remove it only if the table has no readings of this device" % (self.path, text[:20]))
        return int(text)

    def save(self, seq):
        # Write aside, then rename over: a power cut leaves the old or the new value, never half.
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % seq)
        os.rename(tmp, self.path)
