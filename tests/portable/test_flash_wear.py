# The spool's flash wear on MicroPython's own littlefs over a flash that counts erases (see
# flashwear.py; `make flashwear` prints the table). A reading delivered as it comes is a small
# file written in place and an ack written in place: metadata commits, which erase a block only
# when a metadata log fills, not a block copy per reading as an append to spool.dat would be.
import flashwear
from portable import skip


def _littlefs():
    try:
        import vfs

        return hasattr(vfs, "VfsLfs2")
    except ImportError:
        return False


def test_a_reading_delivered_as_it_comes_costs_a_fraction_of_an_erase():
    if not _littlefs():
        skip("no littlefs here (CPython): the unix MicroPython measures it")
    one = flashwear.measure(600, 1, blocks=64, payload=130)
    small = flashwear.measure(600, 1, blocks=64, payload=100)
    batched = flashwear.measure(600, 5, blocks=64, payload=130)
    # 10 years at 2 s on 1 MB need <= 0.16 erases a reading: two parts of 130 bytes, one of 100
    assert one["erases"] < 0.12 and small["erases"] < 0.08 and batched["erases"] < 0.12, (one, small, batched)
    backlog = flashwear.measure(600, 25, blocks=64, payload=130)
    # undelivered readings move to spool.dat SLOTS at a time: one block copy for them all
    assert backlog["erases"] < 0.4, backlog
    assert flashwear.years(0.16, 2, spread=1.0) > 10 and flashwear.years(1.0, 2) < 2  # what the docs say
