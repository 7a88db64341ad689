# The spool's rarely run code (iotsv_spool): the scan at start, a compaction that keeps
# unacknowledged records, dropping the oldest for room, the wake's kept line, and records as
# tuples (for tests and tools). iotsv_spool loads this module for the call and drops it after
# (iotsv_transient), so between readings its code is not in the heap. Each function works on the
# Spool it is handed; the record's layout is iotsv_spoolrecord's.
import os

import iotsv_atomicfile as atomicfile
from iotsv_spoolrecord import (
    CHUNK,
    COMPACT_AT,
    HEAD_SIZE,
    MIN_BUDGET,
    PART_HEAD,
    SLOTS,
    pack,
    rec_dropped,
    rec_seq,
    rec_size,
    u32,
    views,
)
from iotsv_transient import hold


def encode(seq, dropped, payload):
    """The record of payload, head and payload joined."""
    head = bytearray(HEAD_SIZE)
    return bytes(pack(head, views(head)[0], seq, dropped, payload)) + payload


def kept(sp):
    """Spool.kept()'s line: the state a scan finds (adopt reads it back)."""
    return "%d %d %d %d %d %d %s %s" % (
        sp.size,
        sp.read_pos,
        sp._dat_count,
        sp._dat_last,
        sp.last_pos,
        sp.acked,
        ",".join("%d" % v for v in sp._seqs),
        ",".join("%d" % v for v in sp._lens),
    )


def records(sp, max_items, max_bytes, after, payloads):
    """Spool.records()."""
    for got in sp.each(max_items, max_bytes, after, payloads):
        yield sp.at_seq, sp.at_dropped, got
        got = None  # not held while the next is read


def read(sp, max_items, max_bytes, after):
    """Spool.read()."""
    return list(records(sp, max_items, max_bytes, after, True))


def start(sp, state_dir, max_bytes, kept):
    """Spool.__init__ (which made its two buffers): the rest made, then its state from flash: a
    replace a cut interrupted finished, the ack read, then kept (adopt) taken or spool.dat and
    the small files scanned; garbage found is rewritten out."""
    if max_bytes < MIN_BUDGET:
        raise ValueError("spool budget must be at least %d bytes" % MIN_BUDGET)
    state_dir = _within_cwd(state_dir)
    sp.slot_dir = state_dir + "/new"
    view = memoryview(sp._buf)
    sp._fields, sp._crc = views(sp._buf)  # of the record in _buf
    sp._chunks = (view[:CHUNK], view[CHUNK:])  # where each part's bytes go
    sp._head = bytearray(PART_HEAD)  # a part's head, read or written
    sp._rec = bytearray(HEAD_SIZE)  # a record's head, read or written
    sp._rec_fields, sp._rec_crc = views(sp._rec)
    sp._payload = None  # the payload _parse read last, till its caller takes it
    sp._held = 0  # the seq of the slot record sp._buf holds, read and checked; 0: none
    sp.at_seq = sp.at_dropped = 0  # of the reading each() gave last
    load = hold("iotsv_atomicload")  # the start's only: iotsv_spool drops this module, not its imports
    load.ensure_dir(sp.slot_dir)
    sp.path = state_dir + "/spool.dat"  # interned when first opened (see Spool._part)
    sp.ack_path = state_dir + "/spool.ack"
    sp.max_bytes = max_bytes
    sp.generation = 0  # changes whenever records are dropped (a sender re-reads then)
    sp.skipped_bytes = 0  # torn or corrupt bytes found at start
    sp._seqs, sp._lens = [0] * SLOTS, [0] * SLOTS  # each slot's seq and record size: start's
    load.recover(sp.path)
    sp.acked, sp.ack_torn, sp._ack_turn = load.load_rising(sp.ack_path, 0)
    if not (kept and adopt(sp, kept)):
        scan(sp)
        scan_slots(sp)
    if sp.skipped_bytes or sp.read_pos >= COMPACT_AT:
        rewrite(sp, [], None)  # garbage out, so no append ever lands behind a torn tail


def _within_cwd(path):
    """path relative to the working directory when it lies inside it: the spool's paths are
    interned (Spool._part), each for good, so a long absolute prefix would cost its length in
    every one of them."""
    cwd = os.getcwd().rstrip("/") + "/"
    return (path[len(cwd) :] or ".") if path.startswith(cwd) else path


def _size(path):
    try:
        with open(path, "rb") as f:
            return f.seek(0, 2)
    except OSError:
        return 0


def scan(sp):
    sp.size = _size(sp.path)
    sp.read_pos = sp.size  # offset of the oldest unacknowledged record
    sp._dat_count = 0  # unacknowledged records in spool.dat
    sp._dat_last = 0  # the newest seq in spool.dat
    sp.last_pos = -1  # offset of the file's last record
    sp.skipped_bytes = 0
    if not sp.size:
        return
    with open(sp.path, "rb") as f:
        for pos in sp._parse(f, 0, sp.size):
            seq = rec_seq(sp._rec)
            sp.last_pos = pos
            if seq > sp.acked:
                if not sp._dat_count:
                    sp.read_pos = pos
                sp._dat_count += 1
            if seq > sp._dat_last:
                sp._dat_last = seq


def slot_seq(sp, i):
    """The seq the first part of slot i names, 0 when there is none, -1 if garbled."""
    try:
        with open(sp._part(i, 0), "rb") as f:
            if f.readinto(sp._head) < PART_HEAD:
                return -1
    except OSError:
        return 0
    return u32(sp._head, 0)


def scan_slots(sp):
    # A slot holds a reading still to send (pending) when its seq is above both spool.dat's
    # newest and the ack: moved or acknowledged, it is free.
    sp._seqs = [0] * SLOTS  # the seq each slot holds whole, else 0
    sp._lens = [0] * SLOTS  # and its record's size
    for i in range(SLOTS):
        n = sp._slot_record(i)
        if n:
            sp._seqs[i] = rec_seq(sp._buf)
            sp._lens[i] = n


def adopt(sp, kept):
    """Take kept() of the last wake if the files are as it left them: spool.dat the same size
    with its last record there and whole, the same ack, and the small file the next reading
    would take not written since (a crash or a cut since then changed one of them)."""
    fields = kept.split(" ")
    try:
        size, read_pos, count, dat_last, last_pos, acked = [int(v) for v in fields[:6]]
        seqs, lens = [[int(v) for v in f.split(",")] for f in fields[6:8]]
    except (ValueError, IndexError):
        return False
    if (
        len(fields) != 8
        or len(seqs) != SLOTS
        or len(lens) != SLOTS
        or acked != sp.acked
        or size != _size(sp.path)
        or (last_pos < 0) != (size == 0)
    ):
        return False
    if size:
        with open(sp.path, "rb") as f:
            last = None
            for pos in sp._parse(f, last_pos, size):
                last = (pos + HEAD_SIZE + rec_size(sp._rec), rec_seq(sp._rec))
                break
        if last != (size, dat_last) or sp.skipped_bytes:
            sp.skipped_bytes = 0
            return False
    sp.size, sp.read_pos, sp._dat_count, sp._dat_last, sp.last_pos = (
        size,
        read_pos,
        count,
        dat_last,
        last_pos,
    )
    sp._seqs, sp._lens = seqs, lens
    free = sp._free_slot()  # None: the next append moves them all first, which changes spool.dat
    return free is None or 0 <= slot_seq(sp, free) <= sp.last_seq


def append_dropping_oldest(sp, seq, make_payload):
    sizes = []  # (record size, dropped count) of the unacknowledged records, oldest first
    with open(sp.path, "rb") as f:
        for _ in sp._parse(f, sp.read_pos, sp.size):
            sizes.append((HEAD_SIZE + rec_size(sp._rec), rec_dropped(sp._rec)))
    kept_bytes = sp.size - sp.read_pos
    k = dropped = 0
    while True:
        payload = make_payload(seq, dropped)
        if kept_bytes + HEAD_SIZE + len(payload) <= sp.max_bytes or k == len(sizes):
            break
        kept_bytes -= sizes[k][0]
        dropped += 1 + sizes[k][1]  # a dropped record's own report of drops moves on too
        k += 1
    rewrite(sp, sizes[:k], encode(seq, min(dropped, 0xFFFF), payload))
    sp.generation += 1


def rewrite(sp, drop, record):
    """Rewrite spool.dat with the unacknowledged records, less the `drop` oldest (sizes),
    plus `record`; atomically, so a cut at any point leaves the old file or the new one."""
    start = sp.read_pos + sum(size for size, _ in drop)
    tmp = sp.path + ".tmp"
    with open(tmp, "wb") as out:
        if sp.skipped_bytes:
            with open(sp.path, "rb") as f:
                for pos in sp._parse(f, start, sp.size):
                    if rec_seq(sp._rec) > sp.acked:
                        f.seek(pos)
                        out.write(f.read(HEAD_SIZE + rec_size(sp._rec)))
        elif start < sp.size:
            # the spool's record buffer, not one of the copy's own: a compaction comes when the heap
            # is fullest (a batch acknowledged), where 512 free bytes in one piece may be missing;
            # read(n) would allocate n + 1 each time
            buf, sp._held = sp._buf, 0  # the slot record it held is read again when asked for
            view = memoryview(buf)
            with open(sp.path, "rb") as f:
                f.seek(start)
                while True:
                    n = f.readinto(buf)
                    if not n:
                        break
                    out.write(view[:n])
        if record:
            out.write(record)
        atomicfile.sync(out)  # renamed only once the data is down
    os.rename(tmp, sp.path)
    scan(sp)
