# The boot stage (iotsv_boot.py, main.py's body) leaves the heap once the settings are made: the
# modules it loaded for them are dropped and their globals emptied, so a stale pointer the
# collector finds on the C stack keeps one of their objects alive, not a whole module.
import sys

BOOT_STAGE = ("iotsv_boot", "iotsv_versions", "iotsv_settings")


def fresh_boot_stage():
    """A copy of the boot stage of its own (the other test modules keep theirs); what it replaced."""
    saved = {name: sys.modules.pop(name) for name in BOOT_STAGE if name in sys.modules}
    boot = __import__("iotsv_boot")
    return boot, sys.modules["iotsv_versions"], saved


def restore(saved):
    for name in BOOT_STAGE:
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def test_the_settings_drop_the_boot_stage_and_empty_its_modules():
    boot, versions, saved = fresh_boot_stage()
    try:
        kept = ["a reading wake's settings"]
        assert boot.settings(None, None, None, kept) is kept  # kept: no config is validated
        assert not [name for name in BOOT_STAGE if name in sys.modules]
        assert len(boot.__dict__) == 0 and len(versions.__dict__) == 0, (list(boot.__dict__), list(versions.__dict__))
    finally:
        restore(saved)


def test_a_config_error_drops_it_too():
    boot, versions, saved = fresh_boot_stage()

    class Board:
        FIELDS = ()

        def state_dir(self):
            return "state"

        def woke_from_deep_sleep(self):
            return False

    class Config:  # no SINK: the validation names it
        pass

    try:
        assert boot.settings(Config, Board(), None) is None
        assert not [name for name in BOOT_STAGE if name in sys.modules]
        assert len(boot.__dict__) == 0 and len(versions.__dict__) == 0
    finally:
        restore(saved)
