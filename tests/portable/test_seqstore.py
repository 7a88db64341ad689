# The persisted seq counter.
import os

from portable import scratch
from seqstore import SeqStore, ensure_dir


def _fresh_dir(name):
    path = scratch(name)
    try:
        for f in os.listdir(path):
            os.remove(path + "/" + f)
        os.rmdir(path)
    except OSError:
        pass
    return path


def test_new_device_starts_at_zero_and_saved_values_survive():
    d = _fresh_dir("seq-a")
    assert SeqStore(d).last() == 0
    SeqStore(d).save(41)
    SeqStore(d).save(42)
    assert SeqStore(d).last() == 42
    assert sorted(os.listdir(d)) == ["seq"]  # the temporary file was renamed over


def test_corrupt_state_is_an_error_not_a_restart_from_one():
    d = _fresh_dir("seq-b")
    ensure_dir(d)
    with open(d + "/seq", "w") as f:
        f.write("4\x002")
    try:
        SeqStore(d).last()
    except ValueError as e:
        assert "corrupt" in str(e)
    else:
        raise AssertionError("corrupt seq accepted")


def test_ensure_dir_makes_nested_folders():
    d = _fresh_dir("seq-c")
    ensure_dir(d + "/x/y")
    SeqStore(d + "/x/y").save(1)
    assert SeqStore(d + "/x/y").last() == 1
    os.remove(d + "/x/y/seq")
    os.rmdir(d + "/x/y")
    os.rmdir(d + "/x")
    os.rmdir(d)
