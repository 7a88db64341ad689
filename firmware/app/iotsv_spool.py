# Store and forward: every reading is on flash before anything is sent, and leaves the spool only
# once the sink (DynamoDB or the HTTP endpoint) has accepted it, or it was dead-lettered, or
# dropped for room.
#
# A record is  magic(1) length(2) seq(4) dropped(2) crc32(4) payload(length), little-endian; the
# CRC covers length, seq, dropped and payload, so a record torn by a power cut at any byte, or
# corrupted, is found and skipped at start and what follows it is still read. `dropped` counts
# the readings dropped to make room just before this one.
#
# Flash wear (firmware/boards/esp32/README.md, "Flash wear"): littlefs copies a file's last block
# into a freshly erased one at every append after a close, so a reading appended to a file costs
# a block erase. A new reading is therefore written in place into small files, STATE_DIR/new/
# <slot>.<part> of at most SLOT_BYTES (littlefs keeps a file that small inside its directory's
# metadata log: writing it is a commit, and only the log's compaction, every few KB of commits,
# erases a block). A part is  seq(4) part(1)  and up to CHUNK bytes of the record; a record takes
# one or two parts. A reading takes the lowest slot no undelivered reading holds, so readings
# delivered as they come reuse slot 0 and the metadata holds little besides. Only when all SLOTS
# hold readings not yet delivered (the network is down, or a deep-sleeping board sends every few
# wakes) are they moved into STATE_DIR/spool.dat in one append; a record too big for two parts
# goes there directly. spool.dat holds the older readings, the small files the newer ones: a
# small file whose seq spool.dat already holds was moved and is skipped. Once all is delivered,
# the slots above the first two are removed, so the metadata is small again.
#
# Delivered readings are acknowledged by seq in STATE_DIR/spool.ack and spool.ack.1, written in
# turn in place (atomicfile.write_rising: one small write per batch, and a torn one leaves the
# other); compaction rewrites spool.dat without them. An ack that cannot be read (torn by a power
# cut) counts as nothing acknowledged: readings may be sent twice, under the same key, but none
# is lost and the device starts (ack_torn says so).
#
# What runs rarely (the scan at start, a compaction that keeps unacknowledged records, dropping
# the oldest for room, the wake's kept line, records as tuples for tests and tools) is
# iotsv_spoolrare's, loaded only while it runs: between readings the heap holds the code above.
import sys
from binascii import crc32

import iotsv_atomicfile as atomicfile
from iotsv_spoolrecord import (
    CHUNK,
    COMPACT_AT,
    HEAD_SIZE,
    MAGIC,
    MAX_PAYLOAD,
    PART_HEAD,
    PARTS,
    SLOTS,
    checks,
    pack,
    rec_dropped,
    rec_seq,
    rec_size,
    u32,
)
from iotsv_transient import run

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


# a slot's part's file name, at i * PARTS + part: a constant, where "%d.%d" would be made each time
_NAMES = (
    "/0.0", "/0.1", "/1.0", "/1.1", "/2.0", "/2.1", "/3.0", "/3.1",
    "/4.0", "/4.1", "/5.0", "/5.1", "/6.0", "/6.1", "/7.0", "/7.1",
)  # fmt: skip


if sys.implementation.name == "micropython":

    def _put(f, buf, start, end):
        """Write buf[start:end] to f from where it lies: MicroPython's streams take an offset and
        a length, so no view is made."""
        f.write(buf, start, end - start)

else:

    def _put(f, buf, start, end):
        f.write(memoryview(buf)[start:end])


class Spool:
    # made by the start (iotsv_spoolrare.start, where each is described): declared for the checker
    # only (MicroPython compiles an annotation without a value to nothing)
    slot_dir: str
    path: str
    ack_path: str
    max_bytes: int
    _fields: memoryview
    _crc: memoryview
    _chunks: tuple
    _head: bytearray
    _rec: bytearray
    _rec_fields: memoryview
    _rec_crc: memoryview
    _seqs: list
    _lens: list

    def __init__(self, state_dir, max_bytes, kept=None):
        """kept: what kept() said at the end of the last wake (in RTC memory, which deep sleep
        keeps): taken instead of a scan of spool.dat and the small files when spool.dat still
        ends in the record it names, the ack holds the same seq and the next small file is
        unwritten, else they are scanned."""
        # the buffers first, below the start's transient objects; the rest of the spool's state
        # (each attribute described there) is set by the start, which runs once: iotsv_spoolrare's
        self._buf = bytearray(PARTS * CHUNK)  # a record read from the small files
        self._text = bytearray(PARTS * CHUNK)  # a payload each() lends or a piece checked, sized to it
        self._rare("start", state_dir, max_bytes, kept)

    def _rare(self, name, *args):
        """iotsv_spoolrare's function `name` on this spool, the module loaded for the call only."""
        return run("iotsv_spoolrare", name, self, *args)

    @property
    def count(self):
        """Readings not yet acknowledged."""
        low = max(self._dat_last, self.acked)
        n = self._dat_count
        for seq in self._seqs:
            if seq > low:
                n += 1
        return n

    @property
    def last_seq(self):
        return max(self._dat_last, max(self._seqs), self.acked)

    def next_seq(self):
        return self.last_seq + 1

    def _parse(self, f, pos, end, payloads=False, lent=False):
        """The offset of each valid record of spool.dat from pos, skipping garbage byte by byte
        until a record checks out again. While the caller has it, the record's head is in
        self._rec, and with `payloads` its payload in self._payload (the caller takes it and
        clears it): with `lent` in self._text when it fits there (see each), else as bytes.
        Offsets alone, no tuple; without `payloads` the CRC is taken through self._text a piece
        at a time: a scan of the whole file allocates nothing a record (in a small heap a 4 KB
        read may find no room)."""
        rec = self._rec
        while pos < end:
            f.seek(pos)
            if f.readinto(rec) == HEAD_SIZE and rec[0] == MAGIC:
                n = rec_size(rec)
                if n <= MAX_PAYLOAD and pos + HEAD_SIZE + n <= end:
                    if payloads:
                        lend = lent and n <= len(self._buf)
                        payload = self._lend(0, n) if lend else f.read(n)
                        got = f.readinto(payload) if lend else len(payload)
                        ok = got == n and checks(self._rec_crc, crc32(payload, crc32(self._rec_fields)))
                        self._payload = payload if ok else None
                        payload = None
                    else:
                        ok = self._crc_of(f, n)
                    if ok:
                        yield pos
                        pos += HEAD_SIZE + n
                        continue
            self.skipped_bytes += 1
            pos += 1

    def _lend(self, start, n):
        """self._text sized to n and holding self._buf[start:start + n]: resized in place, within
        what it was made with, so nothing is allocated."""
        text = self._text
        text[:] = self._buf
        if start:
            text[:start] = b""
        text[n:] = b""
        return text

    def _crc_of(self, f, n):
        """True if the n payload bytes f reads next, read a piece at a time into self._text
        (sized to each piece in place: nothing allocated), check out against the head in
        self._rec."""
        text = self._text
        c = crc32(self._rec_fields)
        while n:
            got = f.readinto(self._lend(0, min(n, len(self._buf))))
            if not got:
                return False
            text[got:] = b""
            c = crc32(text, c)
            n -= got
        return checks(self._rec_crc, c)

    def _part(self, i, part):
        """Slot i's part's path, interned (atomicfile.interned) the first time: from then on the
        join is freed at once and open() copies nothing. Interned at first use, not at the
        start: there, among the start's passing objects, the interned names left holes too
        small for the image's first sensor read."""
        return atomicfile.interned(self.slot_dir + _NAMES[i * PARTS + part])

    def _dat(self):
        """spool.dat's path, interned the first time (see _part)."""
        return atomicfile.interned(self.path)

    def _slot_record(self, i):
        """The size of the whole record slot i holds, read into self._buf and checked (a part
        torn, missing or left from an older reading fails), else 0. One buffer for every read:
        no allocation a record. The record read last stays there till the buffer is used again:
        asked for once more (a batch's passes over one reading: its size, hash, send, log line),
        it is not read again (on littlefs each open allocates the file's cache)."""
        buf, head = self._buf, self._head
        if self._held and self._held == self._seqs[i]:
            return HEAD_SIZE + rec_size(buf)
        self._held = 0
        got = 0
        for part in range(PARTS):
            try:
                with open(self._part(i, part), "rb") as f:
                    if f.readinto(head) < PART_HEAD:
                        return 0
                    got += f.readinto(self._chunks[part]) or 0
            except OSError:
                return 0
            n = rec_size(buf)
            if head[4] != part or got < HEAD_SIZE or buf[0] != MAGIC or u32(head, 0) != rec_seq(buf):
                return 0
            if HEAD_SIZE + n > PARTS * CHUNK:
                return 0
            if got >= HEAD_SIZE + n:
                crc = crc32(self._lend(HEAD_SIZE, got - HEAD_SIZE), crc32(self._fields))
                if got != HEAD_SIZE + n or not checks(self._crc, crc):
                    return 0
                self._held = rec_seq(buf)
                return got
            if got != CHUNK:
                return 0  # a part short of CHUNK ends the record: this one is torn
        return 0

    def _next_pending(self, after):
        """The slot holding the oldest reading still to send with seq above `after`, else -1."""
        low = max(self._dat_last, self.acked, after)
        best = -1
        for i in range(SLOTS):
            if self._seqs[i] > low and (best < 0 or self._seqs[i] < self._seqs[best]):
                best = i
        return best

    def kept(self):
        """The state a scan finds, as a line for the board to keep until the next wake (once a
        wake: iotsv_spoolrare's)."""
        return self._rare("kept")

    def _free_slot(self):
        """The lowest slot no undelivered reading holds, or None."""
        low = max(self._dat_last, self.acked)
        for i in range(SLOTS):
            if self._seqs[i] <= low:
                return i
        return None

    def append(self, make_payload):
        """Append the reading make_payload(seq, dropped) returns (bytes) and return its seq: on
        flash when this returns. Over budget, the oldest readings are dropped in the same atomic
        rewrite that adds this one, and their number is passed to make_payload so the loss is
        reported, not silent."""
        seq = self.next_seq()
        payload = make_payload(seq, 0)
        if len(payload) > MAX_PAYLOAD:
            raise ValueError("reading of %d bytes is larger than a spool record (%d)" % (len(payload), MAX_PAYLOAD))
        n = HEAD_SIZE + len(payload)
        low = max(self._dat_last, self.acked)
        pend = 0  # bytes of the readings in slots still to send
        for i in range(SLOTS):
            if self._seqs[i] > low:
                pend += self._lens[i]
        if n <= PARTS * CHUNK and self.size + pend + n <= self.max_bytes:
            i = self._free_slot()
            if i is None:
                self.merge()  # every slot holds an undelivered reading
                i = 0
            self._put_slot(i, seq, payload)
            self._seqs[i], self._lens[i] = seq, n
            return seq
        self.merge()  # spool.dat holds the older readings: the small files' go first
        if self.size + n > self.max_bytes and self.read_pos:
            self._rare("rewrite", [], None)  # drop what is acknowledged first
        if self.size + n > self.max_bytes:
            self._rare("append_dropping_oldest", seq, make_payload)
            return seq
        with open(self._dat(), "ab") as f:
            f.write(
                pack(self._rec, self._rec_fields, seq, 0, payload)
            )  # head and payload apart: no copy of the two joined
            f.write(payload)
        self._appended(seq, n)
        return seq

    def _put_slot(self, i, seq, payload):
        """Write the record of seq into slot i, each part in place (on littlefs one metadata
        commit each), head and payload apart: no copy of the two joined. A part torn by a cut
        fails the record's CRC, and only this unreported reading goes."""
        n = len(payload)
        cut = CHUNK - HEAD_SIZE  # payload bytes in the first part
        head = self._head
        for k in range(4):
            head[k] = seq >> (8 * k) & 0xFF
        head[4] = 0
        with open(self._part(i, 0), "wb") as f:
            f.write(head)
            f.write(pack(self._rec, self._rec_fields, seq, 0, payload))
            _put(f, payload, 0, min(n, cut))
        if n > cut:
            head[4] = 1
            with open(self._part(i, 1), "wb") as f:
                f.write(head)
                _put(f, payload, cut, n)

    def _shrink_slots(self):
        """All delivered: remove the slots above the first two (a backlog filled them), as every
        compaction of the folder's metadata copies them; the one with the newest seq stays, it
        keeps the numbering should the ack be lost."""
        newest = max(self._seqs)
        for i in range(2, SLOTS):
            if self._seqs[i] and self._seqs[i] != newest:
                for part in range(PARTS):
                    atomicfile.remove(self._part(i, part))
                self._seqs[i] = self._lens[i] = 0

    def merge(self):
        """Move the readings in the small files into spool.dat in one append: one block copy for
        all of them. A cut part way leaves the rest in their small files, which a start finds."""
        i = self._next_pending(0)
        if i < 0:
            return
        with open(self._dat(), "ab") as f:
            while i >= 0:
                seq = self._seqs[i]
                n = self._slot_record(i)
                if n:
                    _put(f, self._buf, 0, n)
                    self._appended(seq, n)
                else:
                    self._seqs[i] = 0  # spoiled on the flash since it was written: only that one is lost
                i = self._next_pending(seq)
            atomicfile.sync(f)  # the small files are free for reuse only once this is down

    def _appended(self, seq, n):
        """spool.dat grew by the record of seq, n bytes."""
        if not self._dat_count:
            self.read_pos = self.size
        self.last_pos = self.size
        self.size += n
        self._dat_count += 1
        self._dat_last = seq

    def each(self, max_items, max_bytes, after=0, payloads=True, lent=False):
        """The oldest unacknowledged readings with seq above `after`, one payload at a time, read
        from flash as they are taken (one payload in RAM): at most max_items and (but for the
        first) max_bytes of payload; while the caller has one, its seq and dropped count are in
        self.at_seq and self.at_dropped (no tuple a reading). Without `payloads` each is the
        payload's size, and nothing is allocated a record (each still checked). `lent`: a
        payload that fits the spool's record buffer comes in one bytearray the spool keeps,
        resized to it, good only until the next is asked for (nothing allocated a reading: for a
        caller that hashes, sends or reads each in turn; a bytearray has bytes' find).
        The spool must not change while it runs."""
        after = max(after, self.acked)
        items = total = 0
        if self._dat_count:
            rec = self._rec
            with open(self._dat(), "rb") as f:
                for _ in self._parse(f, self.read_pos, self.size, payloads, lent):
                    payload, self._payload = self._payload, None
                    seq, size = rec_seq(rec), rec_size(rec)
                    if seq <= after:
                        continue
                    if items and (items >= max_items or total + size > max_bytes):
                        return
                    items += 1
                    total += size
                    self.at_seq, self.at_dropped = seq, rec_dropped(rec)
                    yield payload if payloads else size
                    payload = None  # a reading of 4 KB held while the next is read needs 8 KB free
        i = self._next_pending(after)
        while i >= 0:
            seq, size = self._seqs[i], self._lens[i] - HEAD_SIZE
            if items and (items >= max_items or total + size > max_bytes):
                return
            if self._slot_record(i):  # else spoiled on the flash since it was written: skipped
                items += 1
                total += size
                self.at_seq, self.at_dropped = seq, rec_dropped(self._buf)
                if not payloads:
                    yield size
                elif lent:
                    yield self._lend(HEAD_SIZE, size)
                else:
                    yield bytes(self._lend(HEAD_SIZE, size))
            i = self._next_pending(seq)

    def records(self, max_items, max_bytes, after=0, payloads=True):
        """each() as (seq, dropped, payload, or its size without `payloads`): a tuple a reading,
        for tests and tools (iotsv_spoolrare's; delivery takes each())."""
        return self._rare("records", max_items, max_bytes, after, payloads)

    def read(self, max_items, max_bytes, after=0):
        """records() as a list."""
        return self._rare("read", max_items, max_bytes, after)

    def ack(self, seq):
        """Every reading up to seq is done with (delivered, dead-lettered or dropped)."""
        if seq <= self.acked:
            return
        atomicfile.write_rising(self.ack_path, seq, self._ack_turn)  # the one file written for this batch
        self._ack_turn ^= 1
        self.acked = seq
        if max(self._seqs) <= max(self._dat_last, seq):
            self._shrink_slots()  # every slot free: overwritten in its turn
        if not self._dat_count:
            return
        rec = self._rec  # read into: nothing allocated a record
        last = None  # offset of the last record acknowledged here
        with open(self._dat(), "rb") as f:
            pos = self.read_pos
            while pos < self.size:
                f.seek(pos)
                if f.readinto(rec) < HEAD_SIZE:
                    break
                if rec_seq(rec) > seq:
                    break
                last = pos
                pos += HEAD_SIZE + rec_size(rec)
                self._dat_count -= 1
            # All delivered and COMPACT_AT bytes done with: the file starts afresh with only the
            # last record, which keeps the numbering should the ack be lost (then it is sent once
            # more, under its own key; numbering from 1 again would overwrite the device's oldest
            # items in the table). Not at every batch: each replace costs flash erases.
            keep = b""
            if not self._dat_count and last is not None and pos == self.size and pos >= COMPACT_AT:
                f.seek(last)
                keep = f.read(pos - last)
        self.read_pos = pos
        if self.read_pos < COMPACT_AT:
            return
        if self._dat_count:
            self._rare("rewrite", [], None)
            return
        # Here, not in iotsv_spoolrare: with backlogs this runs every few dozen readings, and
        # loading that module each time would cost more heap than these lines. The file is
        # then the one record of keep, whose head rec still holds (or empty, as a scan finds).
        atomicfile.replace(self.path, keep)
        self.size = self.read_pos = len(keep)
        self.last_pos = 0 if keep else -1
        self._dat_last = rec_seq(rec) if keep else 0
        self.skipped_bytes = 0
