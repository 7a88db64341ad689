# An upper-case name in config.py that is no field of the firmware or of the running board stops
# the start with one line naming it and the nearest field, on the 64-bit unix port and on the
# 32-bit image (the config module's dir() there); no server needed: it stops before any request.
import pytest

import unixport

CODES = ("source", "image")


def start(tmp_path, text, code):
    (tmp_path / "config.py").write_text(text)
    return unixport.run_firmware(str(tmp_path), code, timeout=60)


@pytest.mark.parametrize("code", CODES)
def test_a_misspelled_field_is_named_with_the_nearest(tmp_path, code):
    r = start(tmp_path, 'import os\nkey_dir = "/certs"\n_X = 1\nDEVICE_ID = "x"\nINTERVAL = 60\n', code)
    assert r.returncode == 2, r.stdout
    assert r.stdout.strip() == "config error: INTERVAL: not a config field; did you mean INTERVAL_S?"


@pytest.mark.parametrize("code", CODES)
def test_another_boards_field_is_no_field_on_unix(tmp_path, code):
    r = start(tmp_path, 'DEVICE_ID = "x"\nWIFI_SSID = "field-ap"\n', code)
    assert r.returncode == 2, r.stdout
    assert r.stdout.strip() == "config error: WIFI_SSID: not a config field"
