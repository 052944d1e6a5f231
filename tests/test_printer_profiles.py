"""Printer profiles: a python-escpos model or a profile file sets the paper and what the printer
can do; a device's own option wins; an unknown name is one line of `kiosk config check`."""

from __future__ import annotations

import subprocess

from devices.manager import build_driver
from devices.printdoc import Document, QRCode, Text
from drivers.escpos.encoder import columns
from tests.conftest import KIOSK


def printer(**options):
    return build_driver("printer", {"driver": "escpos", "connection": "file", "port": "/dev/null", **options},
                        lambda _e: None)


def test_without_a_profile_the_printer_is_as_it_always_was():
    p = printer()
    assert (p.width_dots, p.profile.cjk_text, p.profile.native_qr, p.profile.cutter) == (576, True, True, True)
    assert columns(p.width_dots) == 48


def test_a_python_escpos_model_sets_the_width_and_columns():
    p = printer(profile="TM-T88V")  # 80 mm paper, 512 printable dots: 42 columns of font A
    assert (p.profile.width, p.width_dots, columns(p.width_dots)) == (80, 512, 42)
    assert printer(profile="ZJ-5870").profile.width == 58


def test_a_profile_file_and_an_override():
    p = printer(profile="raster-58")
    assert (p.width_dots, p.profile.cjk_text, p.profile.native_qr) == (384, False, False)
    assert "native_qr" not in p.capabilities
    doc = Document("receipt", (Text("受理回执"), QRCode("https://example.org/track/1")))
    assert b"\x1d(k" not in p.job_bytes(doc)  # the QR goes as raster
    over = printer(profile="raster-58", native_qr=True, width=80)
    assert (over.width_dots, over.profile.native_qr) == (576, True)
    assert b"\x1d(k" in over.job_bytes(doc)


def test_an_unknown_profile_is_one_line_of_config_check(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text("[devices.printer]\ndriver = 'escpos'\nport = '/dev/ttyUSB1'\nprofile = 'TM-NOPE'\n")
    r = subprocess.run([KIOSK, "config", "check", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "devices.printer.profile: no printer profile named 'TM-NOPE'" in r.stderr
