# The power goes at every write, rename and remove of the spool, its ack and the small state
# files (tests/portable/cutpower.py), on CPython and on MicroPython: the next start must go on,
# with every reading that was appended and not acknowledged, acknowledged ones at most again,
# and never a reading that was not appended or a seq used twice.
import os

import cutpower
import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload
import iotsv_supervisor as supervisor
from cutpower import VARIANTS, Cutter
from iotsv_clock import Clock
from iotsv_spool import Spool
from iotsv_spoolrare import encode
from iotsv_spoolrecord import MIN_BUDGET, SLOTS
from portable import fresh, is_dir, scratch

BUDGET = 64 * 1024


def files(d, under=""):
    """{path below d: bytes} of every file in d and its folders (the small files in new/)."""
    out = {}
    for name in os.listdir(d + under):
        path = under + "/" + name
        if is_dir(d + path):
            out.update(files(d, path))
        else:
            with open(d + path, "rb") as f:
                out[path] = f.read()
    return out


def restore(d, saved):
    for path in files(d):
        os.remove(d + path)
    for path in saved:
        with open(d + path, "wb") as f:
            f.write(saved[path])


def padded(n):
    """A payload maker: seq and dropped in the JSON, so a payload can be checked against both."""

    def make(seq, dropped):
        return ('{"seq":{"N":"%d"},"dropped":{"N":"%d"},"p":{"S":"%s"}}' % (seq, dropped, "x" * n)).encode()

    return make


def state(sp):
    out = {}
    for seq, dropped, payload in sp.read(100000, 1 << 30):
        out[seq] = (dropped, payload)
    return out


def covers(got, want):
    for seq in want:
        if got.get(seq) != want[seq]:
            return False
    return True


def check_restart(d, budget, make, step, cut_name):
    """A start after a cut: what it must find, and that it goes on (appends, starts again)."""
    before, after, high, top = step
    sp = Spool(d, budget)  # never refuses
    got = state(sp)
    assert covers(got, before) or covers(got, after), (cut_name, sorted(got), sorted(before), sorted(after))
    for seq in got:
        assert seq <= top and got[seq][1] == make(seq, got[seq][0]), (cut_name, seq)
    assert sp.next_seq() > high, (cut_name, sp.next_seq(), high)  # no seq used twice
    assert not sp.ack_torn or sp.acked == 0, cut_name
    torn = sp.ack_torn
    seq = sp.append(make)
    again = Spool(d, budget)
    assert seq in state(sp) and state(again) == state(sp), cut_name  # a start finds what was left
    assert not again.ack_torn and not again.skipped_bytes, cut_name  # said once, then clean
    return torn


def check_every_cut(name, budget, make, setup, ops):
    """setup(sp, d) runs uncut; then the power is cut at every operation of a start followed by
    ops (each op(sp) returns nothing or a new Spool), in every variant, and again at every
    operation of the start after that cut. Returns [(kind, path, variant, ack_torn)] of the cuts,
    the reference run's operations and its final state."""
    d = fresh(name)
    sp = Spool(d, budget)
    setup(sp, d)
    saved = files(d)
    steps = [lambda _: Spool(d, budget)] + ops

    def play(limit_steps, bounds):
        sp = None
        for op in steps[:limit_steps]:
            before = None if sp is None else state(sp)
            high = setup_high if sp is None else sp.last_seq
            mark = len(cutter.ops)
            new = op(sp)
            sp = new if isinstance(new, Spool) else sp
            after = state(sp)
            bounds.append((mark, len(cutter.ops), (after if before is None else before, after, high, sp.last_seq)))
        return sp

    setup_high = Spool(d, budget).last_seq
    restore(d, saved)
    bounds = []
    cutter = Cutter()
    _, cut = cutpower.run(cutter, play, len(steps), bounds)
    assert not cut
    reference = cutter.ops
    results = []
    for n in range(1, len(reference) + 1):
        kind, path = reference[n - 1]
        step = [b[2] for b in bounds if b[0] < n <= b[1]][0]
        for variant in VARIANTS[kind]:
            cut_name = "%s: cut %d (%s %s, %s)" % (name, n, kind, path.rsplit("/", 1)[-1], variant)
            restore(d, saved)
            cutter = Cutter(n, variant)
            _, cut = cutpower.run(cutter, play, len(steps), [])
            assert cut, cut_name
            at_cut = files(d)
            results.append((kind, path, variant, check_restart(d, budget, make, step, cut_name)))
            m = 1
            while True:  # and the power goes again while that start recovers
                restore(d, at_cut)
                _, cut = cutpower.run(Cutter(m, "half"), Spool, d, budget)
                if not cut:
                    break
                check_restart(d, budget, make, step, "%s, again at %d" % (cut_name, m))
                m += 1
    return results, reference, bounds[-1][2][1]


def appends(n, make):
    def setup(sp, d):
        for _ in range(n):
            sp.append(make)

    return setup


def ack(seq):
    return lambda sp: sp.ack(seq)


def test_cut_in_the_first_appends():
    make = padded(20)
    results, _, _ = check_every_cut("pc-append", BUDGET, make, lambda sp, d: None, [lambda sp: sp.append(make)] * 3)
    assert len(results) >= 6


def test_cut_in_the_first_ack_no_ack_yet():
    """The reported brick: the first ack cut with not a byte written, and no other ack yet."""
    make = padded(20)
    results, reference, _ = check_every_cut(
        "pc-first-ack", BUDGET, make, appends(4, make), [ack(2), lambda sp: sp.append(make), ack(5)]
    )
    first = [r for r in results if r[0] == "write" and r[1].endswith("/spool.ack")][:2]
    assert [(r[2], r[3]) for r in first] == [("none", True), ("half", True)]  # said, and no brick
    second = [r for r in results if r[0] == "write" and r[1].endswith("/spool.ack.1")]
    assert second and not [r for r in second if r[3]]  # the first ack stood: nothing to say
    assert not [op for op in reference if op[0] == "rename"]  # written in place


def test_cut_in_the_move_to_spool_dat():
    make = padded(20)
    _, reference, final = check_every_cut(
        "pc-move",
        BUDGET,
        make,
        appends(SLOTS, make),
        [lambda sp: sp.append(make), ack(2), lambda sp: sp.append(make), ack(5)],
    )
    assert ("write", fresh_path("pc-move", "spool.dat")) in reference and sorted(final) == list(range(6, SLOTS + 3))


def test_cut_in_the_cleanup_after_a_backlog():
    make = padded(20)
    _, reference, _ = check_every_cut(
        "pc-shrink", BUDGET, make, appends(SLOTS - 1, make), [ack(SLOTS - 1), lambda sp: sp.append(make)]
    )
    assert ("remove", fresh_path("pc-shrink", "new/2.0")) in reference


def test_cut_in_later_acks():
    make = padded(20)

    def setup(sp, d):
        appends(6, make)(sp, d)
        sp.ack(2)

    results, _, _ = check_every_cut("pc-acks", BUDGET, make, setup, [ack(4), lambda sp: sp.append(make), ack(5)])
    assert not [r for r in results if r[3]]  # a good ack stood: nothing to say


def test_cut_in_the_ack_that_empties_the_spool():
    make = padded(2800)  # three records pass COMPACT_AT: the ack that empties the spool rewrites it

    def setup(sp, d):
        appends(3, make)(sp, d)
        sp.ack(1)

    _, reference, _ = check_every_cut("pc-empty", BUDGET, make, setup, [ack(3), lambda sp: sp.append(make), ack(4)])
    # emptied once: after it, two records are under COMPACT_AT, and their ack replaces spool.ack only
    assert reference.count(("rename", fresh_path("pc-empty", "spool.dat"))) == 1


def fresh_path(name, file):
    return scratch(name) + "/" + file


def test_cut_in_compaction():
    make = padded(1000)

    def setup(sp, d):
        for _ in range(10):
            sp.append(make)

    _, reference, _ = check_every_cut("pc-compact", BUDGET, make, setup, [ack(8), lambda sp: sp.append(make)])
    assert ("rename", fresh_path("pc-compact", "spool.dat")) in reference
    assert len([op for op in reference if op == ("write", fresh_path("pc-compact", "spool.dat.tmp"))]) >= 4


def test_cut_in_the_rewrite_at_start_after_a_torn_append():
    make = padded(20)

    def setup(sp, d):
        appends(3, make)(sp, d)
        sp.merge()
        with open(d + "/spool.dat", "ab") as f:
            f.write(encode(4, 0, make(4, 0))[:20])

    _, reference, _ = check_every_cut("pc-start", BUDGET, make, setup, [lambda sp: sp.append(make)])
    assert reference[0] == ("write", fresh_path("pc-start", "spool.dat.tmp"))  # the start rewrites
    assert ("rename", fresh_path("pc-start", "spool.dat")) in reference


def test_cut_while_dropping_the_oldest_over_budget():
    make = padded(3000)
    results, _, final = check_every_cut(
        "pc-drop", MIN_BUDGET, make, appends(5, make), [lambda sp: sp.append(make), lambda sp: sp.append(make)]
    )
    assert sum(final[seq][0] for seq in final) == 2 and len(results) >= 4  # the drops were reported


def test_cut_while_dropping_what_is_acknowledged():
    make = padded(3000)

    def setup(sp, d):
        appends(5, make)(sp, d)
        sp.ack(2)

    _, reference, _ = check_every_cut("pc-drop-acked", MIN_BUDGET, make, setup, [lambda sp: sp.append(make)])
    assert ("rename", fresh_path("pc-drop-acked", "spool.dat")) in reference


def test_cut_at_every_step_of_a_small_state_file():
    """The one mechanism the ack, the clock offset and the crash count share: a cut anywhere in
    write_int leaves the old value or the new one, and never a file that stops a start."""
    path = scratch("pc-int")
    for old in (None, 7):
        for n in range(1, 4):  # the write, the rename, and past the end
            for variant in ("none", "half", "fat", "before"):
                atomicfile.remove(path)
                atomicfile.remove(path + ".tmp")
                if old is not None:
                    atomicfile.write_int(path, old)
                _, cut = cutpower.run(Cutter(n, variant), atomicfile.write_int, path, -7200)
                value, lost = atomicload.load_int(path, 0)
                assert value in (-7200, 0 if old is None else old), (old, n, variant, value)
                assert lost == (old is None and cut and n == 1), (old, n, variant)
                assert atomicload.load_int(path, 0) == (value, False)
                assert not atomicload.exists(path + ".tmp")


def test_torn_clock_offset_and_crash_count_do_not_stop_a_start():
    d = fresh("pc-clock")
    for data in (b"", b"-72", b"-7200 0000", b"\xff\xfe\n", b"12 00000000\n"):
        with open(d + "/clock_offset", "wb") as f:
            f.write(data)
        clock = Clock(None, d)
        assert clock.offset == 0 and clock.torn, data
        with open(d + "/clock_offset.tmp", "wb") as f:  # the first correction, cut
            f.write(data)
        clock = Clock(None, d)
        assert clock.offset == 0 and clock.torn, data
        assert not Clock(None, d).torn
        count = d + "/crash.count"
        with open(count, "wb") as f:
            f.write(data)
        assert supervisor.crashes(count) == 0
    with open(d + "/clock_offset", "wb") as f:
        f.write(b"-7200\n")  # what the firmware wrote before the files checked themselves
    assert Clock(None, d).offset == -7200
    atomicfile.write_int(d + "/clock_offset", -7200)
    with open(d + "/clock_offset", "rb") as f:
        text = f.read()
    assert text.startswith(b"-7200 ") and len(text) == 15 and text.endswith(b"\n")  # still text
    assert Clock(None, d).offset == -7200 and not Clock(None, d).torn
