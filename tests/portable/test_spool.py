# The spool survives power cuts at every byte: torn appends, torn compactions, torn acks.
import os
import sys

import cutpower
import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload
import iotsv_spool as spool
from iotsv_spool import Spool
from iotsv_spoolrare import encode
from iotsv_spoolrecord import HEAD_SIZE, MIN_BUDGET
from portable import fresh, reading, scratch

BUDGET = 64 * 1024


def spool_of(n, name):
    """A fresh spool in STATE_DIR `name` with n readings appended: (its folder, the spool)."""
    d = fresh(name)
    sp = Spool(d, BUDGET)
    for _ in range(n):
        sp.append(reading)
    return d, sp


def seqs(sp, n=10000):
    return [r[0] for r in sp.read(n, 1 << 30)]


def raw(d):
    with open(d + "/spool.dat", "rb") as f:
        return f.read()


def write_raw(d, data, name="spool.dat"):
    with open(d + "/" + name, "wb") as f:
        f.write(data)


def test_append_read_ack_and_restart():
    d = fresh("sp-basic")
    sp = Spool(d, BUDGET)
    assert sp.next_seq() == 1 and sp.read(25, 4096) == []
    assert [sp.append(reading) for _ in range(5)] == [1, 2, 3, 4, 5]
    batch = sp.read(3, 4096)
    assert [(s, dr) for s, dr, _ in batch] == [(1, 0), (2, 0), (3, 0)]
    assert batch[0][2] == reading(1, 0)
    sp.ack(3)
    assert seqs(sp) == [4, 5] and sp.count == 2
    sp = Spool(d, BUDGET)  # restart
    assert seqs(sp) == [4, 5] and sp.next_seq() == 6 and sp.acked == 3
    sp.ack(5)
    assert sp.count == 0
    sp = Spool(d, BUDGET)
    assert sp.next_seq() == 6 and seqs(sp) == []  # numbering survives an empty spool


def test_a_state_dir_inside_the_working_directory_is_opened_by_its_relative_path():
    """Its paths are interned for good (Spool._part): a long absolute prefix would cost its
    length in each of them."""
    d = fresh("sp-relative")
    parent, name = d.rsplit("/", 1)
    cwd = os.getcwd()
    os.chdir(parent)
    try:
        sp = Spool(d, BUDGET)
        assert sp.append(reading) == 1 and sp.slot_dir == name + "/new" and sp.path == name + "/spool.dat"
        assert seqs(sp) == [1]
    finally:
        os.chdir(cwd)
    sp = Spool(d, BUDGET)  # elsewhere: as given, and the reading is there
    assert sp.slot_dir == d + "/new" and seqs(sp) == [1]


def ops_of(fn, *args):
    """The writes, renames and removes fn(*args) makes: [(kind, file name)]."""
    cutter = cutpower.Cutter()
    cutpower.run(cutter, fn, *args)
    return [(kind, path.rsplit("/", 1)[-1]) for kind, path in cutter.ops]


def test_a_reading_delivered_as_it_comes_is_small_writes_in_place_and_no_replace():
    d = fresh("sp-as-it-comes")
    sp = Spool(d, BUDGET)
    for n in range(1, 3 * spool.SLOTS):
        # slot 0 again and again (part head, record head, payload: writes; one part, as it fits)
        assert ops_of(sp.append, reading) == [("write", "0.0")] * 3, n
        assert ops_of(sp.ack, n) == [("write", "spool.ack.1" if n % 2 == 0 else "spool.ack")], n
    sp.append(reading)  # a batch of two: the second reading takes the next slot
    two = lambda s, dr: b"y" * (spool.CHUNK + 10)  # noqa: E731
    n = sp.next_seq()
    assert ops_of(sp.append, two) == [("write", "1.0")] * 3 + [("write", "1.1")] * 2
    sp.ack(n - 1)
    assert not atomicload.exists(d + "/spool.dat")  # never a block copy
    assert Spool(d, BUDGET).read(5, 1 << 20) == [(n, 0, two(n, 0))] and Spool(d, BUDGET).next_seq() == n + 1


def test_undelivered_readings_move_to_spool_dat_in_one_append_when_the_small_files_are_full():
    d = fresh("sp-move")
    sp = Spool(d, BUDGET)
    for _ in range(spool.SLOTS):
        sp.append(reading)
    assert not atomicload.exists(d + "/spool.dat")
    moved = ops_of(sp.append, reading)
    assert moved[: spool.SLOTS] == [("write", "spool.dat")] * spool.SLOTS, moved  # one open, one append
    assert raw(d) == b"".join(encode(s, 0, reading(s, 0)) for s in range(1, spool.SLOTS + 1))
    n = spool.SLOTS + 1
    assert seqs(sp) == list(range(1, n + 1)) and seqs(Spool(d, BUDGET)) == list(range(1, n + 1))
    sp.ack(2)
    assert seqs(Spool(d, BUDGET)) == list(range(3, n + 1))
    big = lambda s, dr: b"z" * (spool.PARTS * spool.CHUNK)  # noqa: E731  # too big for the small files
    assert sp.append(big) == n + 1 and raw(d).endswith(encode(n + 1, 0, big(n + 1, 0)))
    assert Spool(d, BUDGET).read(100, 1 << 30)[-2:] == [(n, 0, reading(n, 0)), (n + 1, 0, big(n + 1, 0))]


def test_records_yields_what_read_returns_one_at_a_time():
    d = fresh("sp-records")
    sp = Spool(d, BUDGET)
    for _ in range(spool.SLOTS + 3):  # some in spool.dat, some in small files
        sp.append(reading)
    sp.ack(2)
    it = sp.records(100, 1 << 30, after=3)
    assert next(it) == (4, 0, reading(4, 0))
    assert list(it) == sp.read(100, 1 << 30, after=4)
    for limit in range(1, 10):
        assert list(sp.records(limit, 1 << 30)) == sp.read(limit, 1 << 30)
        size = sum(len(reading(s, 0)) for s in range(3, 3 + limit))
        assert [r[0] for r in sp.records(100, size)] == list(range(3, 3 + limit))


def test_lent_payloads_are_one_bytearray_with_the_same_bytes():
    d = fresh("sp-lent")
    sp = Spool(d, BUDGET)
    big = b"x" * (3 * HEAD_SIZE + 300)  # larger than the record buffer: read as bytes
    for i in range(spool.SLOTS + 3):  # some in spool.dat, some in small files
        sp.append(reading if i != 2 else (lambda seq, dropped: big))
    sp.ack(1)
    want = sp.read(100, 1 << 30)
    got, kinds, lent = [], set(), []
    for payload in sp.each(100, 1 << 30, lent=True):
        kinds.add(type(payload).__name__)
        if isinstance(payload, bytearray):
            lent.append(payload)
        got.append((sp.at_seq, sp.at_dropped, bytes(payload)))  # copied: it is good till the next
    assert got == want
    assert kinds == {"bytearray", "bytes"}
    assert len(lent) == spool.SLOTS + 1 and all(p is lent[0] for p in lent)  # one, resized to each


def test_a_torn_small_file_loses_only_its_own_reading():
    d = fresh("sp-torn-small")
    sp = Spool(d, BUDGET)
    sp.append(reading)
    sp.ack(1)
    sp.append(reading)
    for size in (len(reading(3, 0)), spool.CHUNK + 40):
        make = lambda s, dr, size=size: b"w" * size  # noqa: E731
        sp = Spool(d, BUDGET)
        seq = sp.append(make)
        names = ["new/%d.%d" % (sp._seqs.index(seq), p) for p in range(spool.PARTS if size > spool.CHUNK else 1)]
        whole = [open(d + "/" + name, "rb").read() for name in names]
        for p, name in enumerate(names):
            for cut in range(len(whole[p])):
                write_raw(d, whole[p][:cut], name)
                again = Spool(d, BUDGET)
                assert seqs(again) == list(range(2, seq)) and again.next_seq() == seq, (size, p, cut)
            write_raw(d, whole[p], name)
        assert seqs(Spool(d, BUDGET)) == list(range(2, seq + 1))


def test_spool_dat_starts_afresh_only_once_compact_at_is_reached():
    d = fresh("sp-compact-at")
    sp = Spool(d, BUDGET)
    big = lambda s, dr: (("%d " % s) + "b" * 300).encode()  # noqa: E731  # past the small files: into spool.dat
    rewrites = []
    real = atomicfile.replace

    def counting(path, data):
        rewrites.append(path.rsplit("/", 1)[-1])
        real(path, data)

    atomicfile.replace = counting
    try:
        n, sizes = 0, []
        while "spool.dat" not in rewrites and n < 1000:
            n = sp.append(big)
            sizes.append(HEAD_SIZE + len(big(n, 0)))
            sp.ack(n)
    finally:
        atomicfile.replace = real
    assert rewrites == ["spool.dat"], rewrites  # the acks are written in place
    assert sum(sizes[:-1]) < spool.COMPACT_AT <= sum(sizes)  # once per COMPACT_AT bytes delivered
    # the file started afresh with only the last record, which holds the numbering
    assert raw(d) == encode(n, 0, big(n, 0)) and Spool(d, BUDGET).next_seq() == n + 1
    # and the spool that did it goes on from there as a start would
    assert sp.append(big) == n + 1 and seqs(sp) == [n + 1] and sp.count == 1
    assert seqs(Spool(d, BUDGET)) == [n + 1] and raw(d) == encode(n, 0, big(n, 0)) + encode(n + 1, 0, big(n + 1, 0))


def test_numbering_survives_an_empty_spool_whose_ack_is_lost():
    d, sp = spool_of(4, "sp-empty-lost-ack")
    sp.ack(4)
    write_raw(d, b"garbage", "spool.ack")  # flash corruption: the ack cannot be read
    sp = Spool(d, BUDGET)
    # what the small files still hold (slots 0 and 1, and the newest) is sent once more (same keys:
    # harmless); numbering does not restart at 1, which would overwrite the oldest items in the table
    assert sp.ack_torn and seqs(sp) == [1, 2, 4] and sp.next_seq() == 5


def test_read_respects_item_and_byte_limits():
    d, sp = spool_of(30, "sp-limits")
    assert len(sp.read(25, 1 << 20)) == 25
    one = len(reading(1, 0))
    assert len(sp.read(25, one * 3)) == 3
    assert len(sp.read(25, 1)) == 1  # the first record always comes


def test_torn_append_at_every_byte_is_skipped_and_nothing_else_lost():
    d = fresh("sp-torn")
    sp = Spool(d, BUDGET)
    sp.append(reading)
    sp.append(reading)
    sp.merge()
    good = raw(d)
    record = encode(3, 0, reading(3, 0))
    for cut in range(1, len(record)):
        write_raw(d, good + record[:cut])
        atomicfile.remove(d + "/new/0.0")  # what the last turn appended (1 and 2 were moved)
        sp = Spool(d, BUDGET)
        assert seqs(sp) == [1, 2], cut
        assert sp.skipped_bytes == 0 and raw(d) == good  # torn tail removed before any append
        assert sp.append(reading) == 3
        assert seqs(Spool(d, BUDGET)) == [1, 2, 3], cut


def test_torn_record_in_the_middle_does_not_hide_what_follows():
    d = fresh("sp-middle")
    first = encode(1, 0, reading(1, 0))
    torn = encode(2, 0, reading(2, 0))
    after = encode(3, 0, reading(3, 0))
    for cut in range(0, len(torn)):
        write_raw(d, first + torn[:cut] + after)
        assert seqs(Spool(d, BUDGET)) == [1, 3], cut


def test_flipped_byte_anywhere_loses_only_that_record():
    d = fresh("sp-flip")
    recs = [encode(s, 0, reading(s, 0)) for s in (1, 2, 3)]
    data = b"".join(recs)
    start = len(recs[0])
    for i in range(start, start + len(recs[1])):
        bad = bytearray(data)
        bad[i] ^= 0x40
        write_raw(d, bytes(bad))
        assert seqs(Spool(d, BUDGET)) == [1, 3], i


def test_compaction_cut_at_every_byte_keeps_every_record():
    d, sp = spool_of(6, "sp-compact")
    sp.merge()
    atomicfile.write_int(d + "/spool.ack", 2)  # 1 and 2 delivered
    before = raw(d)
    compacted = b"".join(encode(s, 0, reading(s, 0)) for s in (3, 4, 5, 6))
    for cut in range(0, len(compacted) + 1):
        write_raw(d, before)
        write_raw(d, compacted[:cut], "spool.dat.tmp")  # cut while writing the new file
        sp = Spool(d, BUDGET)
        assert seqs(sp) == [3, 4, 5, 6] and sp.next_seq() == 7, cut
        assert not atomicload.exists(d + "/spool.dat.tmp")
    # FAT's rename unlinks the target first: a cut there leaves a complete .tmp and no file
    os.remove(d + "/spool.dat")
    write_raw(d, compacted, "spool.dat.tmp")
    assert seqs(Spool(d, BUDGET)) == [3, 4, 5, 6]


def ack_text(seq):
    path = scratch("sp-ack-text")
    atomicfile.write_int(path, seq)
    with open(path, "rb") as f:
        return f.read()


def test_torn_ack_keeps_the_previous_ack():
    d, sp = spool_of(4, "sp-ack")
    sp.ack(1)
    new = ack_text(3)
    for partial in [b"", b"3", b"3\n"] + [new[:cut] for cut in range(len(new) + 1)]:
        write_raw(d, partial, "spool.ack.tmp")  # an older firmware cut before its rename: the old ack stands
        sp = Spool(d, BUDGET)
        assert seqs(sp) == [2, 3, 4] and not sp.ack_torn, partial
        assert not atomicload.exists(d + "/spool.ack.tmp")
    sp.ack(2)  # into spool.ack.1, in place; the next into spool.ack
    for partial in [new[:cut] for cut in range(len(new))]:
        write_raw(d, partial, "spool.ack")  # cut while writing the next ack in place: spool.ack.1 stands
        sp = Spool(d, BUDGET)
        assert seqs(sp) == [3, 4] and not sp.ack_torn, partial
        sp.ack(3)  # the spoiled file is the one written next
        assert seqs(Spool(d, BUDGET)) == [4] and atomicload.read_int(d + "/spool.ack.1") == 2


def test_unreadable_ack_means_nothing_acknowledged_and_is_said_once():
    d, sp = spool_of(3, "sp-ack-bad")
    sp.merge()
    good = raw(d)
    new = ack_text(2)
    for bad in [b"", b"\x00\x00\x00\x00", b"two\n", b"2 00000000\n", b"+2\n"] + [new[:cut] for cut in range(len(new))]:
        for name in ("spool.ack.tmp", "spool.ack"):  # cut in the first ack; or renamed in by an older firmware
            write_raw(d, good)
            atomicfile.remove(d + "/spool.ack")
            write_raw(d, bad, name)
            sp = Spool(d, BUDGET)
            assert sp.ack_torn and sp.acked == 0, (bad, name)
            assert seqs(sp) == [1, 2, 3] and sp.next_seq() == 4, (bad, name)  # no reading stranded
            assert not Spool(d, BUDGET).ack_torn, (bad, name)
    write_raw(d, new, "spool.ack.tmp")  # FAT: cut between unlinking spool.ack and the rename
    sp = Spool(d, BUDGET)
    assert seqs(sp) == [3] and not sp.ack_torn


def test_ack_is_text_that_checks_itself_and_the_old_one_still_reads():
    d, sp = spool_of(3, "sp-ack-format")
    sp.ack(2)
    with open(d + "/spool.ack", "rb") as f:
        text = f.read()
    assert text == ack_text(2) and text.startswith(b"2 ") and text.endswith(b"\n") and len(text) == 11
    write_raw(d, b"2\n", "spool.ack")  # what the firmware wrote before
    sp = Spool(d, BUDGET)
    assert sp.acked == 2 and seqs(sp) == [3] and not sp.ack_torn


def test_budget_drops_the_oldest_and_reports_how_many():
    d = fresh("sp-budget")
    sp = Spool(d, MIN_BUDGET)
    seen = []

    def big(seq, dropped):
        seen.append((seq, dropped))
        return (('{"seq":{"N":"%d"},"dropped":{"N":"%d"},"pad":{"S":"' % (seq, dropped)) + "x" * 900 + '"}}').encode()

    for _ in range(40):
        sp.append(big)
    kept = seqs(sp)
    assert kept[-1] == 40 and sp.size <= MIN_BUDGET
    records = sp.read(100, 1 << 30)
    reported = sum(dr for _, dr, _ in records)
    assert reported == 40 - len(kept), (reported, kept)  # every dropped reading is counted
    assert kept == list(range(41 - len(kept), 41))  # the oldest went first
    assert Spool(d, MIN_BUDGET).count == len(kept)


def test_dropped_count_moves_on_when_its_record_is_dropped_too():
    d = fresh("sp-carry")
    sp = Spool(d, MIN_BUDGET)
    pad = lambda s, dr: ('{"s":%d,"d":%d,"p":"%s"}' % (s, dr, "y" * 3000)).encode()
    for _ in range(30):
        sp.append(pad)
    total = sum(dr for _, dr, _ in sp.read(100, 1 << 30))
    assert total + sp.count == 30


def test_budget_must_hold_a_few_records():
    try:
        Spool(fresh("sp-small"), MIN_BUDGET - 1)
    except ValueError as e:
        assert "at least" in str(e)
    else:
        raise AssertionError("tiny budget accepted")


def test_record_size_limit():
    sp = Spool(fresh("sp-big"), BUDGET)
    try:
        sp.append(lambda s, dr: b"z" * (spool.MAX_PAYLOAD + 1))
    except ValueError as e:
        assert "larger than a spool record" in str(e)
    else:
        raise AssertionError("oversized record accepted")
    assert sp.count == 0 and sp.next_seq() == 1
    assert HEAD_SIZE == 13


def test_a_wake_takes_the_kept_state_instead_of_a_scan_and_only_while_it_is_true():
    d, sp = spool_of(5, "sp-kept")
    sp.merge()
    sp.ack(2)
    kept = sp.kept()
    scans = []
    import iotsv_spoolrare as spoolrare  # loaded here, so the spool's calls find it patched

    real = spoolrare.scan

    def counting(sp):
        scans.append(1)
        real(sp)

    spoolrare.scan = counting
    try:
        again = Spool(d, BUDGET, kept)
        assert scans == [] and again.kept() == kept and seqs(again) == [3, 4, 5] and again.next_seq() == 6
        assert again.append(reading) == 6 and Spool(d, BUDGET, again.kept()).count == 4 and scans == []
        # a wake that crashed after its append (the kept line is the one before it): scanned
        stale = again.kept()
        again.append(reading)
        assert seqs(Spool(d, BUDGET, stale)) == [3, 4, 5, 6, 7] and len(scans) == 1
        assert Spool(d, BUDGET, "garbage").count == 5 and len(scans) == 2  # not a kept line: scanned
        kept = Spool(d, BUDGET).kept()
        write_raw(d, raw(d)[:-3])  # spool.dat changed after the kept line was written
        # 4, torn off spool.dat, is still whole in its small file: found again
        assert seqs(Spool(d, BUDGET, kept)) == [3, 4, 5, 6, 7]
        # the same size, another last record (a rewrite that dropped the oldest for room): scanned
        kept = Spool(d, BUDGET).kept().split(" ")
        kept[3] = str(int(kept[3]) - 1)
        assert Spool(d, BUDGET, " ".join(kept)).last_seq == 7
    finally:
        spoolrare.scan = real


def test_a_wake_with_every_slot_taken_takes_the_kept_state_until_they_move():
    d, sp = spool_of(spool.SLOTS, "sp-kept-full")
    kept = sp.kept()
    scans = []
    import iotsv_spoolrare as spoolrare

    real = spoolrare.scan_slots
    spoolrare.scan_slots = lambda sp: scans.append(1) or real(sp)
    try:
        again = Spool(d, BUDGET, kept)
        assert scans == [] and again.kept() == kept and seqs(again) == list(range(1, spool.SLOTS + 1))
        again.append(reading)  # they move to spool.dat: the kept line no longer holds
        assert seqs(Spool(d, BUDGET, kept)) == list(range(1, spool.SLOTS + 2)) and scans == [1]
    finally:
        spoolrare.scan_slots = real


def test_the_rare_code_is_loaded_only_while_it_runs():
    rare = sys.modules.pop("iotsv_spoolrare", None)  # as on a board: not loaded before the spool is made
    try:
        d, sp = spool_of(spool.SLOTS + 1, "sp-rare")  # a start (its scan) ran
        assert sp.count == spool.SLOTS + 1 and "iotsv_spoolrare" not in sys.modules
        sp.ack(sp.last_seq)
        assert Spool(d, BUDGET).count == 0 and "iotsv_spoolrare" not in sys.modules
    finally:
        if rare:
            sys.modules["iotsv_spoolrare"] = rare  # the one cutpower patches
