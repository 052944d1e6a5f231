"""Maintenance mode on the real app under the suite's Xvfb (tests/staff_child.py drives it): the
gesture and the PIN pad, a staff card on the emulated ID card reader, the emulated faults on the
tiles, and the PIN's lock surviving a restart of the app."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from drivers.samv.emulator import SAMPLE_CARDS
from kiosk.staff_access import hash_pin
from tests.conftest import REPO
from tests.fault_proxy import FaultProxy

pytestmark = pytest.mark.timeout(240)
STAFF = list(SAMPLE_CARDS.values())[1]  # tests/staff_child.py STAFF_CARD


def write_config(tmp_path, url: str) -> str:
    demo = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")
    demo = demo.split("# A social security card")[0]  # no PC/SC reader: no pcscd to wait for
    demo = demo.replace('url = "embedded"', f'url = "{url}"').replace('var = "var"', f'var = "{tmp_path / "var"}"')
    demo = demo.replace('emulate = ["id_reader", "printer", "scanner", "sscard"]',
                        'emulate = ["id_reader", "printer", "scanner"]')
    demo = demo.replace("[voice]\n", "[voice]\nenabled = false\n")
    demo = re.sub(r'pin_hash = ".*"', f'cards = ["{STAFF.id_number}"]\npin_hash = "{hash_pin("2468")}"\nlock_min = 10',
                  demo)
    path = tmp_path / "staff.toml"
    path.write_text(demo, encoding="utf-8")
    return str(path)


def run_child(display, config: str, out, phase: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "tests.staff_child", config, str(out), phase], cwd=REPO,
                       capture_output=True, text=True, timeout=180, env={**os.environ, "DISPLAY": display})
    result = json.loads(out.read_text()) if out.exists() else {}
    assert r.returncode == 0 and "failed" not in result, (result.get("failed"), r.stderr[-3000:])
    return result


def test_staff_enter_by_pin_and_card_see_the_faults_and_the_lock_survives_a_restart(display, platform, tmp_path):
    with FaultProxy(platform.url, ["drop"]) as proxy:  # the platform cannot be reached
        config = write_config(tmp_path, proxy.url)
        first = run_child(display, config, tmp_path / "main.json", "main")
        again = run_child(display, config, tmp_path / "again.json", "again")
    assert "还可再试 4 次" in first["wrong"]
    tiles = first["tiles"]
    paper = next(t for t in tiles.values() if "缺纸" in t["lines"])
    scanner = next(t for k, t in tiles.items() if "scanner" in k)
    central = next(t for t in tiles.values() if "无法连接" in t["lines"])
    assert not paper["ok"] and not scanner["ok"] and not central["ok"]
    assert "未连接" in scanner["lines"] or "no_device" in scanner["lines"], scanner
    # The staff card opened it, masked, and began no citizen session.
    assert STAFF.masked_number in first["who"] and STAFF.id_number not in first["who"]
    assert first["identity_after_card"] is False
    assert "已锁定" in first["locked"]["message"] and first["locked"]["enter"]
    # The app started again on the same var dir: still locked, the right PIN refused.
    assert "已锁定" in again["locked"]["message"] and again["locked"]["enter"]
    assert again["after_right_pin"] == "staff_pin"
    import kiosk.shell  # noqa: F401  (its journeys register every page)
    from kiosk.pages import PAGES

    assert again["built"] == sorted(PAGES)
    # and what a first 繁體 page or a first mistyped word would otherwise load mid-session
    assert again["preloaded"] == ["opencc", "rapidfuzz.process", "rapidfuzz.fuzz"]
