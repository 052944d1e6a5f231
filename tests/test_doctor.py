"""`kiosk doctor` on a terminal made of real parts: emulators on ptys, the reference platform over
HTTP, a data folder on disk. It passes when all are there and fails naming what is not."""

from __future__ import annotations

import email.utils
import json
import os
import re
import socket
import subprocess
import time
import uuid

import pytest

from drivers.escpos.emulator import VirtualPrinter
from drivers.samv.emulator import SamEmulator
from kiosk import doctor
from tests.conftest import KIOSK


@pytest.fixture
def terminal(tmp_path, platform, display):
    """A configured terminal whose every part is there; returns (config path, reader, environment)."""
    tid = f"DOC-{uuid.uuid4().hex[:8]}"
    secret = platform.store.add_terminal(tid)
    var = tmp_path / "var"
    var.mkdir(mode=0o700)
    (var / "outbox.db").write_bytes(b"")
    os.chmod(var / "outbox.db", 0o600)
    with SamEmulator() as reader, VirtualPrinter() as printer:
        cfg = tmp_path / "kiosk.toml"
        cfg.write_text(
            f"[terminal]\nid = '{tid}'\n[central]\nurl = '{platform.url}'\nsecret = '{secret}'\n"
            f"[paths]\nvar = '{var}'\n"
            f"[devices.id_reader]\ndriver = 'sam-serial'\nport = '{reader.port}'\npoll_interval_ms = 100\n"
            f"[devices.printer]\ndriver = 'escpos'\nconnection = 'serial'\nport = '{printer.port}'\n",
            encoding="utf-8")
        env = {**os.environ, "DISPLAY": display}
        env.pop("WAYLAND_DISPLAY", None)
        yield cfg, reader, env


def results(cfg, env, monkeypatch, **kw) -> dict[str, doctor.Result]:
    for k in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DISPLAY", env["DISPLAY"])
    return {r.check: r for r in doctor.run(str(cfg), **kw)}


def test_passes_when_everything_is_there_and_says_so_as_json(terminal):
    cfg, _reader, env = terminal
    r = subprocess.run([KIOSK, "doctor", "--config", str(cfg), "--json"], capture_output=True, text=True,
                       timeout=60, env=env)
    out = json.loads(r.stdout)
    assert r.returncode == 0, r.stdout
    assert out["ok"] is True
    assert all(set(c) == {"check", "result", "detail"} for c in out["checks"])
    got = {c["check"]: c["result"] for c in out["checks"]}
    for check in ("display", "font SC", "font TC", "font SC/TC", "config", "device id_reader", "device printer",
                  "central", "central signature", "clock", "disk", "permissions"):
        assert got[check] == "pass", out
    assert all(v in ("pass", "skip") for v in got.values())


def test_fails_when_a_configured_device_is_missing(terminal):
    cfg, reader, env = terminal
    # Unplugged: its device node gone. (Closing the emulator's pty would free its number for the
    # next pty another test opens, which may answer in its place: seen in CI.)
    cfg.write_text(cfg.read_text("utf-8").replace(reader.port, str(cfg.parent / "ttyUSB-unplugged")), "utf-8")
    # The doctor stops waiting once every device has said how it is: the long wait is only slack
    # for a loaded machine, where 1.5 s once left the reader still unknown.
    r = subprocess.run([KIOSK, "doctor", "--config", str(cfg), "--wait", "10"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 1
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("device id_reader"))
    assert "FAIL" in line and "no_device" in line
    assert re.search(r"^device printer +PASS ", r.stdout, re.M), r.stdout


def test_a_data_file_others_can_read_fails(terminal, monkeypatch):
    cfg, _reader, env = terminal
    os.chmod(cfg.parent / "var" / "outbox.db", 0o644)
    found = results(cfg, env, monkeypatch, wait=1.5)["permissions"]
    assert found.result == "fail" and "outbox.db -rw-r--r--" in found.detail


def test_an_unreachable_platform_fails_and_its_clock_is_not_called_good(tmp_path, monkeypatch, display):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f"[central]\nurl = 'http://127.0.0.1:{port}'\nsecret = 'x'\n[paths]\nvar = '{tmp_path}/var'\n")
    found = results(cfg, {"DISPLAY": display}, monkeypatch)
    assert found["central"].result == "fail" and "cannot be reached" in found["central"].detail
    assert found["clock"].result == "fail"


def test_a_clock_off_by_more_than_the_limit_fails():
    now = time.time()
    assert doctor.skew(email.utils.formatdate(now - 5, usegmt=True), now, 30).result == "pass"
    off = doctor.skew(email.utils.formatdate(now - 120, usegmt=True), now, 30)
    assert off.result == "fail" and "s ahead of the platform" in off.detail
    assert doctor.skew(None, now, 30).result == "fail"


def test_no_display_fails(monkeypatch, tmp_path):
    for k in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert doctor.display().result == "fail"
