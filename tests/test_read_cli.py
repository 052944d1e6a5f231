"""`kiosk devices read-id` against the SAM emulator started by hand as docs/devices.md describes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from drivers.samv.emulator import SAMPLE_CARDS
from tests.conftest import KIOSK, REPO

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def emulator():
    """`python -m drivers.samv.emulator --card li_xiaomei`: first stdout line is the pty path."""
    proc = subprocess.Popen([sys.executable, "-m", "drivers.samv.emulator", "--card", "li_xiaomei"],
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    port = proc.stdout.readline().strip()
    assert port.startswith("/dev/"), proc.stderr.read()

    def command(line: str) -> None:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        assert proc.stderr.readline().strip() == "ok"

    proc.stderr.readline()  # the banner
    yield port, command
    proc.stdin.write("quit\n")
    proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(5)


def read_id(*args) -> subprocess.CompletedProcess:
    return subprocess.run([KIOSK, "devices", "read-id", *args], capture_output=True, text=True, timeout=30)


def test_read_id_json_masked_by_default(emulator):
    port, _ = emulator
    r = read_id("--driver", "sam-serial", "--port", port, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    card = SAMPLE_CARDS["li_xiaomei"]
    assert out["ok"] and out["card_type"] == "resident" and out["masked"]
    assert out["id_number"] == card.masked_number and out["name"] == "李**"
    assert card.id_number not in r.stdout + r.stderr and card.address not in r.stdout
    assert out["valid_to"] == "2036-05-20" and out["photo_bytes"] == 1024


def test_read_id_reveal_and_other_card_types(emulator):
    port, command = emulator
    command("place alghamdi")
    r = read_id("--driver", "sam-serial", "--port", port, "--baud", "auto", "--json", "--reveal")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["card_type"] == "foreigner_2023" and out["id_number"] == "932682198501010017"
    assert out["birth_date"] == "1985-01-01" and out["extra"]["nationality"] == "SAU"


def test_read_id_errors_exit_non_zero(emulator, tmp_path):
    port, command = emulator
    command("fault sw3_66")
    r = read_id("--driver", "sam-serial", "--port", port, "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["error"] == "sam_66"
    assert "SAM未经授权" in r.stderr
    command("fault off")
    command("remove")
    r = read_id("--driver", "sam-serial", "--port", port, "--wait", "0.5")
    assert r.returncode == 1 and "未检测到证件" in r.stderr
    r = read_id("--driver", "sam-serial", "--port", str(tmp_path / "none"))
    assert r.returncode == 1 and "未连接" in r.stderr
    r = read_id("--driver", "sam-serial", "--port", port, "--baud", "1200")
    assert r.returncode == 2


def test_read_id_from_the_configuration(emulator, tmp_path):
    port, _ = emulator
    cfg = tmp_path / "k.toml"
    cfg.write_text(f"[devices.reader]\ndriver = 'sam-serial'\nport = '{port}'\n", encoding="utf-8")
    r = subprocess.run([KIOSK, "devices", "--config", str(cfg), "read-id"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "resident" in r.stdout and SAMPLE_CARDS["li_xiaomei"].masked_number in r.stdout
    r = subprocess.run([KIOSK, "devices", "--config", str(cfg), "read-id", "--device", "nope"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "no device named nope" in r.stderr


@pytest.mark.parametrize("baud", ["1e23", "fast", "115200.0", "9" * 30])
def test_a_bad_baud_on_the_command_line_is_one_line(emulator, baud):
    r = read_id("--driver", "sam-serial", "--port", emulator[0], "--baud", baud)
    assert r.returncode == 2 and "baud" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
