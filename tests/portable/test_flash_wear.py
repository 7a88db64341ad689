# The spool's flash wear on MicroPython's own littlefs over a flash that counts erases (see
# flashwear.py; `make flashwear` prints the table). littlefs copies a file's last block into a
# freshly erased one at each append that is committed, so a reading costs at least one erase;
# what the firmware adds on top is one small replace (spool.ack) per batch.
import flashwear
from portable import skip


def _littlefs():
    try:
        import vfs

        return hasattr(vfs, "VfsLfs2")
    except ImportError:
        return False


def test_a_delivered_reading_costs_about_one_erase_and_a_batch_one_replace():
    if not _littlefs():
        skip("no littlefs here (CPython): the unix MicroPython measures it")
    one = flashwear.measure(300, 1, blocks=32)
    batched = flashwear.measure(300, 25, blocks=32)
    # the append's block copy is the floor; an ack per reading adds its replace, and no more
    assert 1.0 <= batched["erases"] < 1.1 and batched["erases"] < one["erases"] < 1.3, (one, batched)
    assert flashwear.years(1.0, 2) < 2 and flashwear.years(1.0, 60) > 10  # what the docs' table says
