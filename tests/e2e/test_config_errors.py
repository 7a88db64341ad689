# A config.py the firmware cannot use stops the start with one line that says why and where, on
# the 64-bit unix port and on the 32-bit image (no server needed: the firmware stops before any
# request): it cannot be loaded (the line of config.py), or an upper-case name in it is no field of
# the firmware or of the running board (named, with the nearest field; the config module's dir()).
import pytest

import unixport

CODES = ("source", "image")


def start(tmp_path, text, code):
    (tmp_path / "config.py").write_text(text)
    return unixport.run_firmware(str(tmp_path), code, timeout=60)


@pytest.mark.parametrize("code", CODES)
def test_a_syntax_error_names_its_line(tmp_path, code):
    r = start(tmp_path, 'DEVICE_ID = "x"\nAWS_REGION = "us-east-1"\nINTERVAL_S = = 3\n', code)
    assert r.returncode == 2, r.stdout
    assert r.stdout.strip() == "config error: config.py, line 3 cannot be loaded: SyntaxError: invalid syntax"


@pytest.mark.parametrize("code", CODES)
def test_an_error_while_running_config_names_its_line(tmp_path, code):
    r = start(tmp_path, 'DEVICE_ID = "x"\nINTERVAL_S = undefined_name\n', code)
    assert r.returncode == 2, r.stdout
    assert r.stdout.startswith("config error: config.py, line 2 cannot be loaded: NameError: "), r.stdout
    assert "undefined_name" in r.stdout and len(r.stdout.strip().splitlines()) == 1


@pytest.mark.parametrize("code", CODES)
def test_a_module_config_imports_that_is_missing_is_not_a_missing_config(tmp_path, code):
    r = start(tmp_path, "import no_such_helper\n", code)
    assert r.returncode == 2, r.stdout
    assert "config.py cannot be loaded: ImportError" in r.stdout and "no_such_helper" in r.stdout, r.stdout


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
