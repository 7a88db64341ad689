# Store and forward: every reading is appended to STATE_DIR/spool.dat before anything is sent,
# and leaves it only once the sink (DynamoDB or the HTTP endpoint) has accepted it, or it was
# dead-lettered, or dropped for room.
#
# A record is  magic(1) length(2) seq(4) dropped(2) crc32(4) payload(length), little-endian; the
# CRC covers length, seq, dropped and payload, so a record torn by a power cut at any byte, or
# corrupted, is found and skipped at start and what follows it is still read. `dropped` counts
# the readings dropped to make room just before this one. Delivered records are acknowledged by
# seq in STATE_DIR/spool.ack; compaction rewrites the file without them. An ack that cannot be
# read (torn by a power cut) counts as nothing acknowledged: readings may be sent twice, under
# the same key, but none is lost and the device starts (ack_torn says so).
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


def _crc(length, seq, dropped, payload):
    return crc32(payload, crc32(struct.pack("<HIH", length, seq, dropped))) & 0xFFFFFFFF


def _head(seq, dropped, payload):
    n = len(payload)
    return struct.pack(_HEAD, MAGIC, n, seq, dropped, _crc(n, seq, dropped, payload))


def encode(seq, dropped, payload):
    return _head(seq, dropped, payload) + payload


def _size(path):
    try:
        with open(path, "rb") as f:
            return f.seek(0, 2)
    except OSError:
        return 0


class Spool:
    def __init__(self, state_dir, max_bytes, kept=None):
        """kept: what kept() said at the end of the last wake (in RTC memory, which deep sleep
        keeps): taken instead of a scan of the whole file when the file still ends in the record
        it names and spool.ack holds the same seq, else the file is scanned."""
        if max_bytes < MIN_BUDGET:
            raise ValueError("spool budget must be at least %d bytes" % MIN_BUDGET)
        atomicfile.ensure_dir(state_dir)
        self.path = state_dir + "/spool.dat"
        self.ack_path = state_dir + "/spool.ack"
        self.max_bytes = max_bytes
        self.generation = 0  # changes whenever records are dropped (a sender re-reads then)
        self.skipped_bytes = 0  # torn or corrupt bytes found at start
        atomicfile.recover(self.path)
        self.acked, self.ack_torn = atomicfile.load_int(self.ack_path, 0)
        if not (kept and self._adopt(kept)):
            self._scan()
        if self.skipped_bytes or self.read_pos >= COMPACT_AT:
            self._rewrite([], None)  # garbage out, so no append ever lands behind a torn tail

    def _records(self, f, pos, end):
        """(pos, next_pos, seq, dropped, payload) of each valid record from pos, skipping
        garbage byte by byte until a record checks out again."""
        while pos < end:
            f.seek(pos)
            head = f.read(HEAD_SIZE)
            if len(head) == HEAD_SIZE:
                magic, n, seq, dropped, crc = struct.unpack(_HEAD, head)
                if magic == MAGIC and n <= MAX_PAYLOAD and pos + HEAD_SIZE + n <= end:
                    payload = f.read(n)
                    if len(payload) == n and _crc(n, seq, dropped, payload) == crc:
                        yield pos, pos + HEAD_SIZE + n, seq, dropped, payload
                        pos += HEAD_SIZE + n
                        continue
            self.skipped_bytes += 1
            pos += 1

    def _scan(self):
        self.size = _size(self.path)
        self.read_pos = self.size  # offset of the oldest unacknowledged record
        self.count = 0  # unacknowledged records
        self.last_seq = self.acked
        self.last_pos = -1  # offset of the file's last record
        self.skipped_bytes = 0
        if not self.size:
            return
        with open(self.path, "rb") as f:
            for pos, _, seq, _, _ in self._records(f, 0, self.size):
                self.last_pos = pos
                if seq > self.acked:
                    if not self.count:
                        self.read_pos = pos
                    self.count += 1
                if seq > self.last_seq:
                    self.last_seq = seq

    def kept(self):
        """The state a scan finds, as a line for the board to keep until the next wake."""
        return "%d %d %d %d %d %d" % (self.size, self.read_pos, self.count, self.last_seq, self.last_pos, self.acked)

    def _adopt(self, kept):
        """Take kept() of the last wake if the file is as it left it: same size, same ack, and
        its last record there and whole (a crash or a cut since then changed one of them)."""
        try:
            size, read_pos, count, last_seq, last_pos, acked = [int(v) for v in kept.split()]
        except ValueError:
            return False
        if acked != self.acked or size != _size(self.path) or (last_pos < 0) != (size == 0):
            return False
        if size:
            with open(self.path, "rb") as f:
                last = None
                for _, end, seq, _, _ in self._records(f, last_pos, size):
                    last = (end, seq)
                    break
            if last != (size, last_seq) or self.skipped_bytes:
                self.skipped_bytes = 0
                return False
        self.size, self.read_pos, self.count, self.last_seq, self.last_pos = size, read_pos, count, last_seq, last_pos
        return True

    def next_seq(self):
        return self.last_seq + 1

    def append(self, make_payload):
        """Append the reading make_payload(seq, dropped) returns (bytes) and return its seq.
        Over budget, the oldest readings are dropped in the same atomic rewrite that adds this
        one, and their number is passed to make_payload so the loss is reported, not silent."""
        seq = self.next_seq()
        payload = make_payload(seq, 0)
        if len(payload) > MAX_PAYLOAD:
            raise ValueError("reading of %d bytes is larger than a spool record (%d)" % (len(payload), MAX_PAYLOAD))
        if self.size + HEAD_SIZE + len(payload) > self.max_bytes and self.read_pos:
            self._rewrite([], None)  # drop what is acknowledged first
        if self.size + HEAD_SIZE + len(payload) > self.max_bytes:
            self._append_dropping_oldest(seq, make_payload)
            return seq
        with open(self.path, "ab") as f:
            f.write(_head(seq, 0, payload))  # head and payload apart: no copy of the two joined
            f.write(payload)
        if not self.count:
            self.read_pos = self.size
        self.last_pos = self.size
        self.size += HEAD_SIZE + len(payload)
        self.count += 1
        self.last_seq = seq
        return seq

    def _append_dropping_oldest(self, seq, make_payload):
        sizes = []  # (record size, dropped count) of the unacknowledged records, oldest first
        with open(self.path, "rb") as f:
            for pos, end, _, dropped, _ in self._records(f, self.read_pos, self.size):
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
        """Rewrite the file with the unacknowledged records, less the `drop` oldest (sizes),
        plus `record`; atomically, so a cut at any point leaves the old file or the new one."""
        start = self.read_pos + sum(size for size, _ in drop)
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as out:
            if self.skipped_bytes:
                with open(self.path, "rb") as f:
                    for pos, end, seq, _, _ in self._records(f, start, self.size):
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

    def read(self, max_items, max_bytes, after=0):
        """The oldest unacknowledged readings with seq above `after`: [(seq, dropped, payload)],
        at most max_items and (but for the first) max_bytes of payload."""
        return list(self.records(max_items, max_bytes, after))

    def records(self, max_items, max_bytes, after=0):
        """What read() returns, one (seq, dropped, payload) at a time, read from the file as the
        caller asks for it: a batch is never in RAM whole."""
        if not self.count:
            return
        n = total = 0
        after = max(after, self.acked)
        with open(self.path, "rb") as f:
            for _, _, seq, dropped, payload in self._records(f, self.read_pos, self.size):
                if seq <= after:
                    continue
                if n and total + len(payload) > max_bytes:
                    break
                n += 1
                total += len(payload)
                yield seq, dropped, payload
                if n >= max_items:  # before the next record is read
                    break

    def ack(self, seq):
        """Every reading up to seq is done with (delivered, dead-lettered or dropped)."""
        if seq <= self.acked:
            return
        atomicfile.write_int(self.ack_path, seq)
        self.acked = seq
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
                self.count -= 1
            # All delivered and COMPACT_AT bytes done with: the file starts afresh with only the
            # last record, which keeps the numbering should spool.ack be lost (then it is sent once
            # more, under its own key; numbering from 1 again would overwrite the device's oldest
            # items in the table). Not at every batch: each replace costs flash erases.
            keep = b""
            if not self.count and last is not None and pos == self.size and pos >= COMPACT_AT:
                f.seek(last)
                keep = f.read(pos - last)
        self.read_pos = pos
        if self.read_pos < COMPACT_AT:
            return  # the ack is the one file replaced for this batch
        if not self.count:
            atomicfile.replace(self.path, keep)
            self._scan()
        else:
            self._rewrite([], None)
