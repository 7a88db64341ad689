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
import os
import struct
from binascii import crc32

import iotsv_atomicfile as atomicfile

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


MAGIC = const(0xA5)
_HEAD = "<BHIHI"
HEAD_SIZE = const(13)
MAX_PAYLOAD = const(4096)
MIN_BUDGET = const(4 * (HEAD_SIZE + MAX_PAYLOAD))
COMPACT_AT = const(8192)  # bytes of acknowledged records worth a rewrite of the file (flash wear: not per batch)
_COPY = const(512)
SLOTS = const(8)  # readings kept as small files before they are moved into spool.dat
SLOT_BYTES = const(128)  # littlefs's inline_max as MicroPython configures it: its cache_size, 4 x 32
PART_HEAD = const(5)
CHUNK = const(123)  # SLOT_BYTES - PART_HEAD: record bytes in one part
PARTS = const(2)  # parts a record may take; a bigger one goes straight to spool.dat


def _crc(length, seq, dropped, payload):
    return crc32(payload, crc32(struct.pack("<HIH", length, seq, dropped))) & 0xFFFFFFFF


def _head(seq, dropped, payload):
    n = len(payload)
    return struct.pack(_HEAD, MAGIC, n, seq, dropped, _crc(n, seq, dropped, payload))


def encode(seq, dropped, payload):
    return _head(seq, dropped, payload) + payload


def _u32(b, i):
    """The little-endian 32-bit number at b[i:i + 4], taken byte by byte: no allocation."""
    return b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24


def _size(path):
    try:
        with open(path, "rb") as f:
            return f.seek(0, 2)
    except OSError:
        return 0


class Spool:
    def __init__(self, state_dir, max_bytes, kept=None):
        """kept: what kept() said at the end of the last wake (in RTC memory, which deep sleep
        keeps): taken instead of a scan of spool.dat and the small files when spool.dat still
        ends in the record it names, the ack holds the same seq and the next small file is
        unwritten, else they are scanned."""
        if max_bytes < MIN_BUDGET:
            raise ValueError("spool budget must be at least %d bytes" % MIN_BUDGET)
        self.slot_dir = state_dir + "/new"
        self._buf = bytearray(PARTS * CHUNK)  # a record read from the small files
        self._view = memoryview(self._buf)
        self._head = bytearray(PART_HEAD)  # a part's head, read or written
        atomicfile.ensure_dir(self.slot_dir)
        self.path = state_dir + "/spool.dat"
        self.ack_path = state_dir + "/spool.ack"
        self.max_bytes = max_bytes
        self.generation = 0  # changes whenever records are dropped (a sender re-reads then)
        self.skipped_bytes = 0  # torn or corrupt bytes found at start
        atomicfile.recover(self.path)
        self.acked, self.ack_torn, self._ack_turn = atomicfile.load_rising(self.ack_path, 0)
        if not (kept and self._adopt(kept)):
            self._scan()
            self._scan_slots()
        if self.skipped_bytes or self.read_pos >= COMPACT_AT:
            self._rewrite([], None)  # garbage out, so no append ever lands behind a torn tail

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

    def _parse(self, f, pos, end, payloads=False):
        """(pos, next_pos, seq, dropped, payload) of each valid record of spool.dat from pos,
        skipping garbage byte by byte until a record checks out again. Without `payloads` the
        CRC is taken through self._buf a piece at a time and payload is None: a scan of the
        whole file allocates no record (in a small heap a 4 KB read may find no room)."""
        while pos < end:
            f.seek(pos)
            head = f.read(HEAD_SIZE)
            if len(head) == HEAD_SIZE:
                magic, n, seq, dropped, crc = struct.unpack(_HEAD, head)
                if magic == MAGIC and n <= MAX_PAYLOAD and pos + HEAD_SIZE + n <= end:
                    payload = f.read(n) if payloads else None
                    if payloads:
                        ok = len(payload) == n and _crc(n, seq, dropped, payload) == crc
                    else:
                        ok = self._crc_of(f, n, seq, dropped) == crc
                    if ok:
                        yield pos, pos + HEAD_SIZE + n, seq, dropped, payload
                        pos += HEAD_SIZE + n
                        continue
            self.skipped_bytes += 1
            pos += 1

    def _crc_of(self, f, n, seq, dropped):
        """_crc of the n payload bytes f reads next, read a piece at a time (None if cut short)."""
        c = crc32(struct.pack("<HIH", n, seq, dropped))
        left = n
        while left:
            got = f.readinto(self._view[: min(left, len(self._buf))])
            if not got:
                return None
            c = crc32(self._view[:got], c)
            left -= got
        return c & 0xFFFFFFFF

    def _scan(self):
        self.size = _size(self.path)
        self.read_pos = self.size  # offset of the oldest unacknowledged record
        self._dat_count = 0  # unacknowledged records in spool.dat
        self._dat_last = 0  # the newest seq in spool.dat
        self.last_pos = -1  # offset of the file's last record
        self.skipped_bytes = 0
        if not self.size:
            return
        with open(self.path, "rb") as f:
            for pos, _, seq, _, _ in self._parse(f, 0, self.size):
                self.last_pos = pos
                if seq > self.acked:
                    if not self._dat_count:
                        self.read_pos = pos
                    self._dat_count += 1
                if seq > self._dat_last:
                    self._dat_last = seq

    def _part(self, i, part):
        return "%s/%d.%d" % (self.slot_dir, i, part)

    def _slot_seq(self, i):
        """The seq the first part of slot i names, 0 when there is none, -1 if garbled."""
        try:
            with open(self._part(i, 0), "rb") as f:
                if f.readinto(self._head) < PART_HEAD:
                    return -1
        except OSError:
            return 0
        return _u32(self._head, 0)

    def _slot_record(self, i):
        """The size of the whole record slot i holds, read into self._buf and checked (a part
        torn, missing or left from an older reading fails), else 0. One buffer for every read:
        no allocation a record."""
        buf, head, view = self._buf, self._head, self._view
        got = 0
        for part in range(PARTS):
            try:
                with open(self._part(i, part), "rb") as f:
                    if f.readinto(head) < PART_HEAD:
                        return 0
                    got += f.readinto(view[got : got + CHUNK]) or 0
            except OSError:
                return 0
            n = buf[1] | buf[2] << 8  # the record's head: magic(0) length(1) seq(3) dropped(7) crc(9)
            if head[4] != part or got < HEAD_SIZE or buf[0] != MAGIC or _u32(head, 0) != _u32(buf, 3):
                return 0
            if HEAD_SIZE + n > PARTS * CHUNK:
                return 0
            if got >= HEAD_SIZE + n:
                crc = _crc(n, _u32(buf, 3), buf[7] | buf[8] << 8, view[HEAD_SIZE:got])
                return got if got == HEAD_SIZE + n and crc == _u32(buf, 9) else 0
        return 0

    def _scan_slots(self):
        # A slot holds a reading still to send (pending) when its seq is above both spool.dat's
        # newest and the ack: moved or acknowledged, it is free.
        self._seqs = [0] * SLOTS  # the seq each slot holds whole, else 0
        self._lens = [0] * SLOTS  # and its record's size
        for i in range(SLOTS):
            n = self._slot_record(i)
            if n:
                self._seqs[i] = _u32(self._buf, 3)
                self._lens[i] = n

    def _next_pending(self, after):
        """The slot holding the oldest reading still to send with seq above `after`, else -1."""
        low = max(self._dat_last, self.acked, after)
        best = -1
        for i in range(SLOTS):
            if self._seqs[i] > low and (best < 0 or self._seqs[i] < self._seqs[best]):
                best = i
        return best

    def kept(self):
        """The state a scan finds, as a line for the board to keep until the next wake."""
        return "%d %d %d %d %d %d %s %s" % (
            self.size,
            self.read_pos,
            self._dat_count,
            self._dat_last,
            self.last_pos,
            self.acked,
            ",".join("%d" % v for v in self._seqs),
            ",".join("%d" % v for v in self._lens),
        )

    def _adopt(self, kept):
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
            or acked != self.acked
            or size != _size(self.path)
            or (last_pos < 0) != (size == 0)
        ):
            return False
        if size:
            with open(self.path, "rb") as f:
                last = None
                for _, end, seq, _, _ in self._parse(f, last_pos, size):
                    last = (end, seq)
                    break
            if last != (size, dat_last) or self.skipped_bytes:
                self.skipped_bytes = 0
                return False
        self.size, self.read_pos, self._dat_count, self._dat_last, self.last_pos = (
            size,
            read_pos,
            count,
            dat_last,
            last_pos,
        )
        self._seqs, self._lens = seqs, lens
        free = self._free_slot()  # None: the next append moves them all first, which changes spool.dat
        return free is None or 0 <= self._slot_seq(free) <= self.last_seq

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
            self._rewrite([], None)  # drop what is acknowledged first
        if self.size + n > self.max_bytes:
            self._append_dropping_oldest(seq, make_payload)
            return seq
        with open(self.path, "ab") as f:
            f.write(_head(seq, 0, payload))  # head and payload apart: no copy of the two joined
            f.write(payload)
        self._appended(seq, n)
        return seq

    def _put_slot(self, i, seq, payload):
        """Write the record of seq into slot i, each part in place (on littlefs one metadata
        commit each), head and payload apart: no copy of the two joined. A part torn by a cut
        fails the record's CRC, and only this unreported reading goes."""
        view = memoryview(payload)
        cut = CHUNK - HEAD_SIZE  # payload bytes in the first part
        head = self._head
        for k in range(4):
            head[k] = seq >> (8 * k) & 0xFF
        head[4] = 0
        with open(self._part(i, 0), "wb") as f:
            f.write(head)
            f.write(_head(seq, 0, payload))
            f.write(view[:cut])
        if len(payload) > cut:
            head[4] = 1
            with open(self._part(i, 1), "wb") as f:
                f.write(head)
                f.write(view[cut:])

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

    def _appended(self, seq, n):
        """spool.dat grew by the record of seq, n bytes."""
        if not self._dat_count:
            self.read_pos = self.size
        self.last_pos = self.size
        self.size += n
        self._dat_count += 1
        self._dat_last = seq

    def merge(self):
        """Move the readings in the small files into spool.dat in one append: one block copy for
        all of them. A cut part way leaves the rest in their small files, which a start finds."""
        i = self._next_pending(0)
        if i < 0:
            return
        with open(self.path, "ab") as f:
            while i >= 0:
                seq = self._seqs[i]
                n = self._slot_record(i)
                if n:
                    f.write(self._view[:n])
                    self._appended(seq, n)
                else:
                    self._seqs[i] = 0  # spoiled on the flash since it was written: only that one is lost
                i = self._next_pending(seq)
            atomicfile.sync(f)  # the small files are free for reuse only once this is down

    def _append_dropping_oldest(self, seq, make_payload):
        sizes = []  # (record size, dropped count) of the unacknowledged records, oldest first
        with open(self.path, "rb") as f:
            for pos, end, _, dropped, _ in self._parse(f, self.read_pos, self.size):
                sizes.append((end - pos, dropped))
        kept_bytes = self.size - self.read_pos
        k = dropped = 0
        while True:
            payload = make_payload(seq, dropped)
            if kept_bytes + HEAD_SIZE + len(payload) <= self.max_bytes or k == len(sizes):
                break
            kept_bytes -= sizes[k][0]
            dropped += 1 + sizes[k][1]  # a dropped record's own report of drops moves on too
            k += 1
        self._rewrite(sizes[:k], encode(seq, min(dropped, 0xFFFF), payload))
        self.generation += 1

    def _rewrite(self, drop, record):
        """Rewrite spool.dat with the unacknowledged records, less the `drop` oldest (sizes),
        plus `record`; atomically, so a cut at any point leaves the old file or the new one."""
        start = self.read_pos + sum(size for size, _ in drop)
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as out:
            if self.skipped_bytes:
                with open(self.path, "rb") as f:
                    for pos, end, seq, _, _ in self._parse(f, start, self.size):
                        if seq > self.acked:
                            f.seek(pos)
                            out.write(f.read(end - pos))
            elif start < self.size:
                buf = bytearray(_COPY)  # one buffer for the copy: read(n) would allocate n + 1 each time
                view = memoryview(buf)
                with open(self.path, "rb") as f:
                    f.seek(start)
                    while True:
                        n = f.readinto(buf)
                        if not n:
                            break
                        out.write(view[:n])
            if record:
                out.write(record)
            atomicfile.sync(out)  # renamed only once the data is down
        os.rename(tmp, self.path)
        self._scan()

    def records(self, max_items, max_bytes, after=0):
        """The oldest unacknowledged readings with seq above `after`, one (seq, dropped, payload)
        at a time, read from flash as they are taken (one payload in RAM): at most max_items and
        (but for the first) max_bytes of payload. The spool must not change while it runs."""
        after = max(after, self.acked)
        items = total = 0
        if self._dat_count:
            with open(self.path, "rb") as f:
                for _, _, seq, dropped, payload in self._parse(f, self.read_pos, self.size, True):
                    if seq <= after:
                        continue
                    if items and (items >= max_items or total + len(payload) > max_bytes):
                        return
                    items += 1
                    total += len(payload)
                    yield seq, dropped, payload
        i = self._next_pending(after)
        while i >= 0:
            seq, n = self._seqs[i], self._lens[i]
            if items and (items >= max_items or total + n - HEAD_SIZE > max_bytes):
                return
            if self._slot_record(i):  # else spoiled on the flash since it was written: skipped
                items += 1
                total += n - HEAD_SIZE
                yield seq, self._buf[7] | self._buf[8] << 8, bytes(self._view[HEAD_SIZE:n])
            i = self._next_pending(seq)

    def read(self, max_items, max_bytes, after=0):
        """records() as a list."""
        return list(self.records(max_items, max_bytes, after))

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
        head = bytearray(HEAD_SIZE)  # read into, fields taken byte by byte: nothing allocated a record
        last = None  # offset of the last record acknowledged here
        with open(self.path, "rb") as f:
            pos = self.read_pos
            while pos < self.size:
                f.seek(pos)
                if f.readinto(head) < HEAD_SIZE:
                    break
                rec_seq = head[3] | head[4] << 8 | head[5] << 16 | head[6] << 24  # little-endian, as _HEAD
                if rec_seq > seq:
                    break
                last = pos
                pos += HEAD_SIZE + (head[1] | head[2] << 8)
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
        if not self._dat_count:
            atomicfile.replace(self.path, keep)
            self._scan()
        else:
            self._rewrite([], None)
