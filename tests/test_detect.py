"""`kiosk devices detect` against emulators on real ptys: which driver claims which port, and a
proposal that is a valid configuration."""

from __future__ import annotations

import json
import subprocess
import tomllib

import pytest

from devices import detect
from devices.contracts import Candidate
from drivers.escpos.emulator import VirtualPrinter
from drivers.samv.emulator import SamEmulator
from drivers.serialscan.emulator import SerialScannerEmulator
from kiosk import config
from tests.conftest import KIOSK


@pytest.fixture(scope="module")
def plugged():
    with SamEmulator() as sam, VirtualPrinter() as printer, SerialScannerEmulator() as scanner:
        yield {"sam": sam.port, "printer": printer.port, "scanner": scanner.port}


def test_detect_proposes_the_driver_of_each_pty(plugged):
    r = subprocess.run([KIOSK, "devices", "detect", "--json", *(f"--port={p}" for p in plugged.values())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    best = {c["path"]: c["claims"][0]["driver"] for c in out["candidates"] if c["claims"]}
    assert best[plugged["sam"]] == "sam-serial"
    assert best[plugged["printer"]] == "escpos"
    assert best[plugged["scanner"]] == "serial-scanner"
    # The proposal is TOML that the kiosk accepts as it is, with each device at its port.
    raw = tomllib.loads(out["proposal"])
    cfg = config.validate(raw)
    ports = {t.get("port") for t in cfg.devices.values()}
    assert set(plugged.values()) <= ports
    assert raw["devices"]["id_reader"] == {"driver": "sam-serial", "port": plugged["sam"], "baud": 115200}


def test_text_output_says_what_claims_each_port_and_writes_nothing(plugged, tmp_path):
    r = subprocess.run([KIOSK, "devices", "detect", f"--port={plugged['scanner']}"], capture_output=True,
                       text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "→ serial-scanner" in r.stdout and "[devices.scanner]" in r.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_port_with_nothing_behind_it_is_claimed_by_no_driver(tmp_path):
    found = detect.claims([Candidate("serial", str(tmp_path / "ttyGONE"), given=True)],
                          ["sam-serial", "escpos"])
    assert found[0].claims == [] and found[0].errors == []


def test_usb_printer_class_is_proposed_as_a_file_printer(tmp_path):
    """A sysfs tree as the kernel lays it out for a USB receipt printer (interface class 07)."""
    dev = tmp_path / "1-1"
    (tmp_path / "1-1:1.0" / "usbmisc" / "lp0").mkdir(parents=True)
    dev.mkdir()
    for name, value in {"idVendor": "0519", "idProduct": "2013", "manufacturer": "STAR", "product": "TSP100"}.items():
        (dev / name).write_text(value + "\n")
    (tmp_path / "1-1:1.0" / "bInterfaceClass").write_text("07\n")
    [cand] = detect.usb_devices(str(tmp_path))
    assert (cand.path, cand.vendor_id, cand.usb_classes) == ("/dev/usb/lp0", 0x0519, {7})
    [found] = detect.claims([cand])
    assert found.best[0] == "escpos" and found.best[1].options == {"connection": "file", "port": "/dev/usb/lp0"}
