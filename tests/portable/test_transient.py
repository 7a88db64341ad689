# Modules loaded for one call: call_with drops the one it names, call_alone every module the call
# loaded (a rare path's code and what it alone needed), whether the call returns or raises.
import sys

from iotsv_transient import call_alone, call_with, hold, run
from portable import raises


def _unload(*names):
    for name in names:
        sys.modules.pop(name, None)


def test_call_alone_drops_every_module_the_call_loaded_and_keeps_those_loaded_before():
    import iotsv_utc  # noqa: F401  # loaded before: it stays

    _unload("iotsv_ed25519", "iotsv_sha512")

    def use():
        import iotsv_ed25519
        import iotsv_utc as utc

        return iotsv_ed25519.__name__, utc.__name__

    assert call_alone(use) == ("iotsv_ed25519", "iotsv_utc")
    assert "iotsv_ed25519" not in sys.modules and "iotsv_sha512" not in sys.modules
    assert "iotsv_utc" in sys.modules


def test_call_alone_drops_them_when_the_call_raises():
    _unload("iotsv_ed25519", "iotsv_sha512")

    def use():
        import iotsv_ed25519  # noqa: F401

        raise ValueError("refused")

    assert str(raises(ValueError, call_alone, use)) == "refused"
    assert "iotsv_ed25519" not in sys.modules and "iotsv_sha512" not in sys.modules


def test_call_with_drops_only_the_module_it_names():
    _unload("iotsv_ed25519", "iotsv_sha512")
    assert call_with("iotsv_ed25519", lambda m: m.__name__) == "iotsv_ed25519"
    assert "iotsv_ed25519" not in sys.modules and "iotsv_sha512" in sys.modules
    _unload("iotsv_sha512")


def test_run_calls_the_named_function_with_its_module_loaded_for_the_call():
    _unload("iotsv_ddbmarshal")
    assert run("iotsv_ddbmarshal", "dynamodb_number", "1.50") == "1.50"
    assert "iotsv_ddbmarshal" not in sys.modules
    assert "not a decimal number" in str(raises(ValueError, run, "iotsv_ddbmarshal", "dynamodb_number", "x"))
    assert "iotsv_ddbmarshal" not in sys.modules


def test_hold_keeps_a_module_only_in_the_hands_of_its_caller_unless_it_was_loaded_before():
    _unload("iotsv_ddbmarshal")
    held = hold("iotsv_ddbmarshal")
    assert held.dynamodb_number("7") == "7" and "iotsv_ddbmarshal" not in sys.modules
    import iotsv_utc

    assert hold("iotsv_utc") is iotsv_utc and "iotsv_utc" in sys.modules  # loaded before: it stays


def test_numtext_judges_an_odd_number_by_dynamodb_s_rule_and_leaves_it_behind():
    # the rule (iotsv_ddbnumber) is loaded for the call, or held by the marshaller and gone with it
    import iotsv_numtext as numtext

    _unload("iotsv_ddbmarshal", "iotsv_ddbnumber")
    assert numtext.storable(10**38) and not numtext.storable(10**38 + 1)
    assert "iotsv_ddbmarshal" not in sys.modules and "iotsv_ddbnumber" not in sys.modules
    assert "39 significant digits" in str(raises(ValueError, run, "iotsv_ddbmarshal", "dynamodb_number", "1" * 39))
    assert "iotsv_ddbmarshal" not in sys.modules and "iotsv_ddbnumber" not in sys.modules
