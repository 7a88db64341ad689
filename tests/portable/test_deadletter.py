# Dead letters: kept for a person, bounded as crash.log is (the oldest dropped and counted), and a
# table that refuses every reading said in one line.
import json
import os

import iotsv_deadletter as deadletter
from portable import capture, fresh


def _lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_dead_letters_are_bounded_and_what_is_dropped_is_counted():
    path = fresh("dead-bound") + "/deadletter.jsonl"
    letters = deadletter.DeadLetters(path)
    item = {"deviceId": "dev", "t": "21.5", "pad": "x" * 200}
    n = 400  # about 100 KB of dead letters: a misconfigured table for a few minutes
    _, out = capture(lambda: [letters.add(seq, "ValidationException: key schema", item) for seq in range(1, n + 1)])
    sizes = [os.stat(p)[6] for p in (path, path + ".old")]
    assert max(sizes) <= deadletter.MAX_BYTES, sizes  # two files at most, each within the bound
    new, old = _lines(path), _lines(path + ".old")
    kept = [r["seq"] for r in old + new if "seq" in r]
    assert kept == list(range(n - len(kept) + 1, n + 1))  # the newest, in order
    assert new[0]["dropped"] == deadletter.dropped(path) == n - len(kept)  # every dropped one counted
    # one line per dead letter at first, then one line for all: the table, not the readings
    assert out.count("dead-letter: seq=") == deadletter.SAME_IN_A_ROW - 1, out
    assert out.count("every reading is refused (ValidationException: key schema)") == 1, out


def test_a_different_refusal_is_said_again():
    path = fresh("dead-reasons") + "/deadletter.jsonl"
    letters = deadletter.DeadLetters(path)
    _, out = capture(
        lambda: [letters.add(s, e, {}) for s, e in ((1, "a"), (2, "a"), (3, "b"), (4, "a"), (5, "a"), (6, "a"))]
    )
    assert out.count("dead-letter: seq=") == 5 and out.count("every reading is refused (a)") == 1, out
    assert deadletter.dropped(path) == 0 and len(_lines(path)) == 6
