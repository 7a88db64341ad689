# The spool's format on flash (iotsv_spool), apart so that the spool and its rare code
# (iotsv_spoolrare) both read it and neither imports the other.
#
# A record is  magic(1) length(2) seq(4) dropped(2) crc32(4) payload(length), little-endian; the
# CRC covers length, seq, dropped and payload. A small file's part is  seq(4) part(1)  and up to
# CHUNK bytes of a record.
import struct
from binascii import crc32

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


MAGIC = const(0xA5)
HEAD_SIZE = const(13)
MAX_PAYLOAD = const(4096)
MIN_BUDGET = const(4 * (HEAD_SIZE + MAX_PAYLOAD))
COMPACT_AT = const(8192)  # bytes of acknowledged records worth a rewrite of the file (flash wear: not per batch)
SLOTS = const(8)  # readings kept as small files before they are moved into spool.dat
SLOT_BYTES = const(128)  # littlefs's inline_max as MicroPython configures it: its cache_size, 4 x 32
PART_HEAD = const(5)
CHUNK = const(123)  # SLOT_BYTES - PART_HEAD: record bytes in one part
PARTS = const(2)  # parts a record may take; a bigger one goes straight to spool.dat
# The CRC-32 of any bytes followed by their own CRC-32, little-endian (a property of the CRC): a
# record checks out when the CRC over its fields, payload and stored CRC gives this, so the stored
# one is never made an int (on a 32-bit port a CRC above 2**30 is a heap int, and so is each step
# of comparing it).
_RESIDUE = const(0x2144DF1C)


# A record's head: magic(0) length(1) seq(3) dropped(7) crc(9). Read into (or packed in) a buffer
# made once, its fields taken byte by byte: no tuple, no heap int for a seq below 2**30. `fields`
# and `crc` are views of the buffer's bytes 1-9 and 9-13, made with it.


def rec_size(head):
    """The payload's length."""
    return head[1] | head[2] << 8


def rec_seq(head):
    return u32(head, 3)


def rec_dropped(head):
    return head[7] | head[8] << 8


def views(head):
    view = memoryview(head)
    return view[1:9], view[9:HEAD_SIZE]


def pack(head, fields, seq, dropped, payload):
    """The head of a record of payload, packed into head."""
    struct.pack_into("<BHIH", head, 0, MAGIC, len(payload), seq, dropped)
    struct.pack_into("<I", head, 9, crc32(payload, crc32(fields)))
    return head


def checks(crc, so_far):
    """True if so_far (the CRC of the fields and the payload) matches the stored CRC."""
    return crc32(crc, so_far) == _RESIDUE


def u32(b, i):
    """The little-endian 32-bit number at b[i:i + 4], taken byte by byte: no allocation."""
    return b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24
