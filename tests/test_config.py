"""Configuration: the shipped files are valid; a bad file gives one clear line and exit code 2."""

from __future__ import annotations

import subprocess

import pytest

from kiosk import config
from tests.conftest import KIOSK, REPO


@pytest.mark.parametrize("name", ["kiosk.toml", "demo.toml"])
def test_shipped_configs_are_valid(name):
    cfg = config.load(REPO / "config" / name)
    assert set(cfg.devices) == {"id_reader", "printer"}
    assert cfg.session.warning_s < cfg.session.idle_timeout_s


def check(tmp_path, text: str) -> subprocess.CompletedProcess:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    return subprocess.run([KIOSK, "config", "check", str(f)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[session]\nidle_timeout_s = 'soon'\n", "session.idle_timeout_s"),
        ("[terminal]\nlanguage = 'fr'\n", "terminal.language"),
        ("[display]\nwidht = 1280\n", "display.widht"),  # a typo is an error, not silently ignored
        ("[session]\nidle_timeout_s = 60\nwarning_s = 90\n", "session.warning_s"),
        ("[devices.printer]\ndriver = 'escpos'\nwidth = 57\n", "devices.printer.width"),
        ("[devices.printer]\ndriver = 'no-such-driver'\n", "no-such-driver"),
        ("[devices.printer]\nport = '/dev/x'\n", "devices.printer: missing key 'driver'"),
        ("[central]\ntrack_url = 'https://x/track'\n", "central.track_url"),  # no {number}: every QR the same
        ("[terminal\nid = 1\n", "TOML syntax error"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path, text, expected):
    r = check(tmp_path, text)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr  # one line, no traceback
    assert "bad.toml" in lines[0] and expected in lines[0]


def test_good_config_check_passes(tmp_path):
    r = check(tmp_path, (REPO / "config" / "demo.toml").read_text(encoding="utf-8"))
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_missing_file(tmp_path):
    r = subprocess.run([KIOSK, "config", "check", str(tmp_path / "nope.toml")], capture_output=True, text=True)
    assert r.returncode == 2 and "file not found" in r.stderr
