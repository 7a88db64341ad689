# Readings the sink refused for good, kept on flash for a person: STATE_DIR/deadletter.jsonl, one
# JSON line each. Bounded as crash.log is: past MAX_BYTES the file becomes deadletter.jsonl.old
# (the older one dropped) and the new file opens with {"dropped": N}, the lines dropped so far, so
# at most 2 x MAX_BYTES stay and no loss goes uncounted. A table that refuses every reading (a
# wrong key schema, a config pointing at the wrong table) is said in one line, not one per reading.
import json
import os

MAX_BYTES = 8192
SAME_IN_A_ROW = 3  # dead letters in a row with one cause: the table or the config, not the readings


class DeadLetters:
    def __init__(self, path):
        self.path = path
        self.last = None  # the last refusal's text
        self.in_a_row = 0

    def add(self, seq, err, item):
        """The reading (seq, its item as the sink decoded it) refused with err, kept; one line
        printed, or from SAME_IN_A_ROW in a row for one cause, one line for all of them."""
        text = str(err)
        self.in_a_row = self.in_a_row + 1 if text == self.last else 1
        self.last = text
        _append(self.path, json.dumps({"seq": seq, "error": text, "item": item}))
        if self.in_a_row < SAME_IN_A_ROW:
            print("dead-letter: seq=%d refused for good: %s (kept in %s)" % (seq, text, self.path))
        elif self.in_a_row == SAME_IN_A_ROW:
            print(
                "dead-letter: every reading is refused (%s): the table or the config is wrong, not the readings; "
                "they are kept in %s (the newest %d KB) until it is fixed" % (text, self.path, 2 * MAX_BYTES // 1024)
            )


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def dropped(path):
    """Dead letters dropped for room so far: the count the file opens with (0 without one)."""
    try:
        with open(path) as f:
            first = f.readline()
    except OSError:
        return 0
    try:
        return json.loads(first).get("dropped", 0) if first.startswith('{"dropped"') else 0
    except ValueError:
        return 0


def _lines(path):
    """The dead letters in path (its lines less the count line)."""
    n = 0
    try:
        with open(path) as f:
            for line in f:
                if not line.startswith('{"dropped"'):
                    n += 1
    except OSError:
        pass
    return n


def _append(path, line):
    if _size(path) + len(line) + 1 > MAX_BYTES:
        old = path + ".old"
        count = dropped(path) + _lines(old)  # the count so far, and what the older file held
        try:
            os.remove(old)  # FAT's rename does not replace
        except OSError:
            pass
        os.rename(path, old)
        with open(path, "w") as f:
            f.write('{"dropped": %d}\n' % count)
    with open(path, "a") as f:
        f.write(line + "\n")
