# The spool survives power cuts at every byte: torn appends, torn compactions, torn acks.
import os

import iotsv_atomicfile as atomicfile
import iotsv_spool as spool
from iotsv_spool import HEAD_SIZE, MIN_BUDGET, Spool, encode
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
    before = raw(d)
    sp.ack(5)
    # all delivered: the ack is the one file replaced; the records stay until COMPACT_AT
    assert sp.count == 0 and raw(d) == before
    sp = Spool(d, BUDGET)
    assert sp.next_seq() == 6 and seqs(sp) == []  # numbering survives an empty spool


def test_a_delivered_spool_starts_afresh_only_once_compact_at_is_reached():
    d = fresh("sp-compact-at")
    sp = Spool(d, BUDGET)
    rewrites = []
    real = atomicfile.replace

    def counting(path, data):
        rewrites.append(path.rsplit("/", 1)[-1])
        real(path, data)

    atomicfile.replace = counting
    try:
        n, sizes = 0, []
        while "spool.dat" not in rewrites and n < 1000:
            n = sp.append(reading)
            sizes.append(HEAD_SIZE + len(reading(n, 0)))
            sp.ack(n)  # delivered as it comes: one file replaced per batch, the ack
    finally:
        atomicfile.replace = real
    assert rewrites.count("spool.ack") == n and rewrites[-1] == "spool.dat", rewrites
    assert sum(sizes[:-1]) < spool.COMPACT_AT <= sum(sizes)  # once per COMPACT_AT bytes delivered
    # the file started afresh with only the last record, which holds the numbering
    assert raw(d) == encode(n, 0, reading(n, 0)) and Spool(d, BUDGET).next_seq() == n + 1


def test_numbering_survives_an_empty_spool_whose_ack_is_lost():
    d, sp = spool_of(4, "sp-empty-lost-ack")
    sp.ack(4)
    write_raw(d, b"garbage", "spool.ack")  # flash corruption: the ack cannot be read
    sp = Spool(d, BUDGET)
    # what the file still holds (up to COMPACT_AT bytes) is sent once more (same keys: harmless);
    # numbering does not restart at 1, which would overwrite the device's oldest items in the table
    assert sp.ack_torn and seqs(sp) == [1, 2, 3, 4] and sp.next_seq() == 5


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
    good = raw(d)
    record = encode(3, 0, reading(3, 0))
    for cut in range(1, len(record)):
        write_raw(d, good + record[:cut])
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
    atomicfile.write_int(d + "/spool.ack", 2)  # 1 and 2 delivered
    before = raw(d)
    compacted = b"".join(encode(s, 0, reading(s, 0)) for s in (3, 4, 5, 6))
    for cut in range(0, len(compacted) + 1):
        write_raw(d, before)
        write_raw(d, compacted[:cut], "spool.dat.tmp")  # cut while writing the new file
        sp = Spool(d, BUDGET)
        assert seqs(sp) == [3, 4, 5, 6] and sp.next_seq() == 7, cut
        assert not atomicfile.exists(d + "/spool.dat.tmp")
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
        write_raw(d, partial, "spool.ack.tmp")  # cut before the rename: the old ack stands
        sp = Spool(d, BUDGET)
        assert seqs(sp) == [2, 3, 4] and not sp.ack_torn, partial
        assert not atomicfile.exists(d + "/spool.ack.tmp")


def test_unreadable_ack_means_nothing_acknowledged_and_is_said_once():
    d, sp = spool_of(3, "sp-ack-bad")
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
    sp.ack(2)
    kept = sp.kept()
    scans = []
    real = Spool._scan

    def counting(self):
        scans.append(1)
        real(self)

    Spool._scan = counting
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
        write_raw(d, raw(d)[:-3])  # a cut in an append after the kept line was written
        assert seqs(Spool(d, BUDGET, kept)) == [3, 4, 5, 6]
        # the same size, another last record (a rewrite that dropped the oldest for room): scanned
        write_raw(d, raw(d) + encode(99, 0, reading(7, 0))[:3])
        kept = Spool(d, BUDGET).kept()
        assert Spool(d, BUDGET, kept.replace(" 6 ", " 5 ", 1)).last_seq == 6
    finally:
        Spool._scan = real
