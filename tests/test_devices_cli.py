"""`kiosk drivers` and `kiosk devices ...` as staff run them, against emulators on real ptys."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from drivers.escpos.emulator import VirtualPrinter
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator
from tests.conftest import KIOSK


@pytest.fixture
def hardware(tmp_path):
    with SamEmulator() as reader, VirtualPrinter() as printer:
        cfg = tmp_path / "kiosk.toml"
        cfg.write_text(
            "[terminal]\nid = 'TEST-01'\nhall = '测试大厅'\n"
            f"[devices.id_reader]\ndriver = 'sam-serial'\nport = '{reader.port}'\npoll_interval_ms = 100\n"
            f"[devices.printer]\ndriver = 'escpos'\nconnection = 'serial'\nport = '{printer.port}'\n",
            encoding="utf-8")
        yield cfg, reader, printer


def kiosk(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([KIOSK, *args], capture_output=True, text=True, timeout=timeout)


def test_drivers_lists_builtin_drivers_with_options():
    r = kiosk("drivers", "--json")
    rows = {d["driver"]: d for d in json.loads(r.stdout)}
    assert rows["sam-serial"]["kind"] == "id_reader" and rows["sam-serial"]["options"]["port"]["required"]
    assert rows["escpos"]["options"]["width"]["default"] == 80


def test_list_shows_each_device_online(hardware):
    cfg, _reader, _printer = hardware
    r = kiosk("devices", "--config", str(cfg), "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = {d["device"]: d for d in json.loads(r.stdout)}
    assert rows["id_reader"]["state"] == "online"
    assert rows["printer"]["state"] == "online" and rows["printer"]["detail"]["paper"] == "full"


def test_list_is_truthful_about_a_missing_device(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text(f"[devices.id_reader]\ndriver = 'sam-serial'\nport = '{tmp_path}/nothing'\n")
    r = kiosk("devices", "--config", str(cfg), "list", "--wait", "1", "--json")
    assert json.loads(r.stdout)[0]["state"] == "no_device"


def test_external_check_prints_the_test_slip(hardware):
    cfg, _reader, printer = hardware
    r = kiosk("devices", "--config", str(cfg), "check", "printer", "--level", "external")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK") and "test slip printed" in r.stdout
    slip = printer.wait_for_slips(1, timeout=5)[0]
    text = "\n".join(slip.text_lines)
    assert "打印测试" in text and "测试大厅" in text and "TEST-01" in text


def test_check_fails_when_the_paper_is_out(hardware):
    cfg, _reader, printer = hardware
    printer.set_paper("out")
    r = kiosk("devices", "--config", str(cfg), "check", "printer")
    assert r.returncode == 1
    assert r.stdout.startswith("FAIL") and "paper out" in r.stdout


def test_interactive_check_waits_for_a_card(hardware):
    cfg, reader, _printer = hardware
    threading.Timer(2.0, reader.place_card, args=(SAMPLE_CARDS["wang_kun"],)).start()
    r = kiosk("devices", "--config", str(cfg), "check", "id_reader", "--level", "interactive")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "read Identity(resident, 王*," in r.stdout


def test_watch_prints_events_as_json_lines_with_masked_numbers(hardware):
    cfg, reader, _printer = hardware
    card = SAMPLE_CARDS["li_xiaomei"]
    proc = subprocess.Popen([KIOSK, "devices", "--config", str(cfg), "watch", "--duration", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    reader.place_card(card)
    out, _err = proc.communicate(timeout=30)
    events = [json.loads(line) for line in out.splitlines()]
    reads = [e for e in events if e["event"] == "IdentityRead"]
    assert len(reads) == 1 and reads[0]["identity"]["number"] == card.masked_number
    assert card.id_number not in out and card.name not in out
    assert any(e["event"] == "StatusChanged" and e["state"] == "online" for e in events)
