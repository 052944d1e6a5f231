"""Maintenance mode through the real shell, without a screen: the emulated ID card reader and
printer on ptys, the reference platform over HTTP (and the fault proxy for a platform that cannot
be reached), real SQLite for the outbox, the print queue and the audit trail."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import time
import uuid

import pytest

from contract.models import CaseSubmission
from devices.events import CardInserted
from devices.manager import DeviceManager
from drivers.escpos.emulator import VirtualPrinter
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator
from kiosk import audit, config, receipts
from kiosk.catalogue import Catalogue
from kiosk.central_client import CentralClient
from kiosk.outbox import Outbox
from kiosk.shell import Shell
from kiosk.staff_access import PinLock, hash_pin
from tests.conftest import KIOSK, REPO
from tests.fault_proxy import FaultProxy
from tests.test_shell import run_until

PIN = "2468"
PIN_HASH = hash_pin(PIN)
STAFF = SAMPLE_CARDS["wang_kun"]  # a member of staff's own ID card, on the allow-list
CITIZEN = SAMPLE_CARDS["li_xiaomei"]
SSCARD = "A12345678"  # the virtual 社保卡's number (drivers/pcsc/virtual_card.py)


def make_config(var, demo: bool = False, lock_min: float = 15):
    cfg = config.load(REPO / "config" / "demo.toml")
    cfg.paths.var = str(var)
    cfg.demo.enabled = demo
    cfg.staff.pin_hash, cfg.staff.cards, cfg.staff.lock_min = PIN_HASH, [STAFF.id_number, SSCARD], lock_min
    return cfg


def new_terminal(platform) -> tuple[str, str]:
    tid = "M-" + uuid.uuid4().hex[:8].upper()
    return tid, platform.store.add_terminal(tid)


@pytest.fixture
def kiosk(platform, tmp_path):
    tid, secret = new_terminal(platform)
    cfg = make_config(tmp_path)
    cfg.terminal.id = tid
    with SamEmulator() as reader, VirtualPrinter() as printer:
        devices = DeviceManager({
            "id_reader": {"driver": "sam-serial", "port": reader.port, "poll_interval_ms": 100},
            "printer": {"driver": "escpos", "connection": "serial", "port": printer.port},
        })
        outbox = Outbox(tmp_path / "outbox.db", tid)
        shell = Shell(cfg, CentralClient(platform.url, retries=1, terminal_id=tid, secret=secret), devices,
                      outbox=outbox, catalogue=Catalogue(tmp_path / "catalogue.db"))
        try:
            run_until(shell, lambda: shell.device_states.get("id_reader", {}).get("state") == "online"
                      and shell.device_states.get("printer", {}).get("state") == "online")
            yield shell, reader, printer
        finally:
            shell.shutdown()
            devices.stop()
            outbox.close()


def gesture(shell: Shell) -> None:
    for _ in range(5):
        shell.staff_tap()


def type_pin(shell: Shell, pin: str) -> None:
    for d in pin:
        shell.act("digit", d=d)
    shell.act("enter")
    run_until(shell, lambda: not getattr(shell.journey, "verifying", False))  # checked in the pool


def tile(shell: Shell, key: str):
    return next(t for t in shell.page.tiles if t.key == key)


def actions(var) -> list[str]:
    return [e["action"] for e in audit.read(var)]


def test_the_gesture_and_pin_wipe_the_citizen_and_open_the_tiles(kiosk, tmp_path):
    shell, reader, printer = kiosk
    reader.place_card(CITIZEN)
    run_until(shell, lambda: shell.page.screen == "personal")
    shell.set_language("en")
    gesture(shell)
    # The citizen is gone before staff see anything: no identity, the hall's language again.
    assert shell.page.screen == "staff_pin" and shell.session.identity is None and shell.tr.lang == "zh_CN"
    assert "李" not in str(shell.page)
    type_pin(shell, "1111")
    assert shell.page.screen == "staff_pin" and shell.page.error and "还可再试 4 次" in shell.page.message
    type_pin(shell, PIN)
    assert shell.page.screen == "staff_tiles"
    assert "维护密码" in shell.page.who
    # The tiles show the devices, the printer's paper going out, and the platform answering.
    printer.set_paper("out")
    run_until(shell, lambda: not tile(shell, "paper").ok)
    assert any("缺纸" in line for line in tile(shell, "paper").lines)
    assert tile(shell, "device-id_reader").ok and "photo" in " ".join(tile(shell, "device-id_reader").lines)
    run_until(shell, lambda: tile(shell, "central").ok and "时钟偏差" in " ".join(tile(shell, "central").lines))
    # A card read in maintenance mode is a test: shown masked, no session begins.
    shell.act("test_card")
    reader.remove_card()
    time.sleep(0.3)
    reader.place_card(CITIZEN)
    run_until(shell, lambda: CITIZEN.masked_number in " ".join(tile(shell, "tests").lines))
    assert shell.session.identity is None and shell.page.screen == "staff_tiles"
    assert actions(tmp_path)[:3] == ["staff.pin_wrong", "staff.enter", "staff.test_read"]
    assert [e.get("staff") for e in audit.read(tmp_path)][1:] == ["pin", "pin"]


def test_it_leaves_by_itself_after_the_idle_time_with_nothing_behind(kiosk, tmp_path):
    shell, _reader, _printer = kiosk
    gesture(shell)
    type_pin(shell, PIN)
    shell.set_language("en")
    shell.act("outbox")
    assert shell.page.screen == "staff_list"
    shell.session.last_touch -= shell.config.staff.idle_s + 1
    shell.tick()
    assert shell.page.screen == "welcome" and len(shell.stack) == 1 and shell.tr.lang == "zh_CN"
    assert shell.staff.journey is None and not shell.session.active
    assert audit.read(tmp_path)[-1]["action"] == "staff.leave" and audit.read(tmp_path)[-1]["reason"] == "idle"
    # The PIN pad times out as well.
    gesture(shell)
    shell.act("digit", d="2")
    shell.session.last_touch -= shell.config.staff.idle_s + 1
    shell.tick()
    assert shell.page.screen == "welcome"
    gesture(shell)
    assert shell.page.dots == ""  # no digit of the last try is left


def test_a_staff_card_on_the_id_reader_opens_it_and_is_never_logged_in_full(kiosk, tmp_path, caplog):
    shell, reader, _printer = kiosk
    caplog.set_level(logging.DEBUG)
    reader.place_card(STAFF)
    run_until(shell, lambda: shell.page.screen == "staff_tiles")
    assert shell.session.identity is None and STAFF.masked_number in shell.page.who
    entry = audit.read(tmp_path)[-1]
    assert entry["action"] == "staff.enter" and entry["staff"] == f"card {STAFF.masked_number}"
    assert STAFF.id_number not in caplog.text
    assert STAFF.id_number not in (tmp_path / "audit.log").read_text(encoding="utf-8")
    shell.act("leave")
    assert shell.page.screen == "welcome" and actions(tmp_path)[-1] == "staff.leave"


def test_a_staff_social_security_card_opens_it(kiosk, tmp_path):
    # The event the PC/SC driver sends for an inserted 社保卡 (its number read without a PIN).
    shell, _reader, _printer = kiosk
    shell.on_device_event(CardInserted(device="sscard", reader="Virtual PCD 00 00",
                                       info={"card_number": "A99999999"}))
    assert shell.page.screen == "welcome"  # not a staff card
    shell.on_device_event(CardInserted(device="sscard", reader="Virtual PCD 00 00", info={"card_number": SSCARD}))
    assert shell.page.screen == "staff_tiles" and "A1*****78" in shell.page.who


def test_wrong_pins_lock_it_and_the_lock_survives_a_restart(platform, tmp_path):
    cfg = make_config(tmp_path)
    shell = Shell(cfg, CentralClient(platform.url, retries=1), devices=None)
    try:
        gesture(shell)
        for _ in range(5):
            type_pin(shell, "0000")
        assert shell.page.locked and "已锁定" in shell.page.message
        type_pin(shell, PIN)  # the right PIN too: locked is locked
        assert shell.page.screen == "staff_pin"
    finally:
        shell.shutdown()
    lock_file = tmp_path / "staff-lock.json"
    assert stat.S_IMODE(os.stat(lock_file).st_mode) == 0o600
    again = Shell(make_config(tmp_path), CentralClient(platform.url, retries=1), devices=None)  # the app restarted
    try:
        gesture(again)
        assert again.page.locked and "15 分钟" in again.page.message
        type_pin(again, PIN)
        assert again.page.screen == "staff_pin"
    finally:
        again.shutdown()
    assert actions(tmp_path).count("staff.pin_wrong") == 5 and "staff.pin_locked" in actions(tmp_path)


def test_the_lock_counts_time_on_the_boot_clock_and_the_wall_clock_only_after_a_reboot(tmp_path):
    boot, wall, boot_id = [100.0], [1_000_000.0], ["boot-1"]
    lock = PinLock(tmp_path, 2, 600, lambda: boot[0], lambda: wall[0], lambda: boot_id[0])
    lock.failed()
    lock.failed()
    assert lock.seconds_left() == 600
    # An app restart in the same boot: the wall clock set back a day changes nothing.
    boot[0] += 300
    wall[0] -= 86400
    again = PinLock(tmp_path, 2, 600, lambda: boot[0], lambda: wall[0], lambda: boot_id[0])
    assert again.seconds_left() == 300
    # After a reboot the boot clock starts again: the wall clock says how long, at most the whole lock.
    boot_id[0], boot[0], wall[0] = "boot-2", 5.0, 1_000_000.0 + 100
    assert PinLock(tmp_path, 2, 600, lambda: boot[0], lambda: wall[0], lambda: boot_id[0]).seconds_left() == 500
    wall[0] = 1_000_000.0 - 3600  # a clock set back: no longer than the lock itself
    assert PinLock(tmp_path, 2, 600, lambda: boot[0], lambda: wall[0], lambda: boot_id[0]).seconds_left() == 600
    wall[0] = 1_000_000.0 + 601
    over = PinLock(tmp_path, 2, 600, lambda: boot[0], lambda: wall[0], lambda: boot_id[0])
    assert over.seconds_left() == 0 and over.failures == 0
    # A damaged file locks rather than unlocks.
    (tmp_path / "staff-lock.json").write_text("{not json", encoding="utf-8")
    assert PinLock(tmp_path, 2, 600, lambda: boot[0], lambda: wall[0], lambda: boot_id[0]).seconds_left() == 600


def test_an_unreachable_platform_shows_on_its_tile(platform, tmp_path):
    with FaultProxy(platform.url, ["drop"]) as proxy:
        shell = Shell(make_config(tmp_path), CentralClient(proxy.url, retries=1), devices=None)
        try:
            shell.staff.enter("card", "A1*****78")
            run_until(shell, lambda: shell.page.screen == "staff_tiles" and not tile(shell, "central").ok)
            assert "无法连接" in " ".join(tile(shell, "central").lines)
        finally:
            shell.shutdown()


def test_failed_items_are_retried_and_kept_receipts_reprinted_from_the_tiles(kiosk, tmp_path):
    shell, _reader, printer = kiosk
    box = shell.outbox
    guide = type("G", (), {"name": "个体工商户设立登记", "item_code": "X-1", "promised_limit_days": 3})()
    data = receipts.record(guide, ("居民身份证",), CITIZEN.name, CITIZEN.id_number, shell.now(), "zh_CN",
                           "http://x/track/{number}")
    case = box.enqueue_case(CaseSubmission(item_code="NO-SUCH-ITEM"), CITIZEN.id_number, CITIZEN.name, receipt=data)
    box.failed(case.seq, "not_found: no such item")
    box.set_receipt_state(case.terminal_ref, "refused")  # as kiosk.receipts does for a refused case
    kept = box.enqueue_case(CaseSubmission(item_code="NO-SUCH-ITEM-2"), CITIZEN.id_number, CITIZEN.name,
                            receipt=data)
    box.set_receipt_state(kept.terminal_ref, "kept")
    shell.staff.enter("card", "A1*****78")
    assert not tile(shell, "outbox").ok and ("retry_all", "全部重试") in tile(shell, "outbox").actions
    assert "1 张" in tile(shell, "receipts").lines[0]
    shell.act("outbox")
    row = next(r for r in shell.page.rows if r.ref == case.terminal_ref)
    assert row.action == "retry" and "not_found" in row.sub
    shell.act("retry", ref=case.terminal_ref)
    assert box.get(case.seq).state == "pending"
    shell.back()
    shell.act("receipts")
    assert [r.ref for r in shell.page.rows] == [kept.terminal_ref]
    shell.act("reprint", ref=kept.terminal_ref)
    run_until(shell, lambda: len(printer.slips) == 1)
    assert CITIZEN.id_number not in "\n".join(printer.slips[0].text_lines)
    entries = audit.read(tmp_path)
    assert [e["action"] for e in entries][-2:] == ["outbox.retry", "print.reprint"]
    assert all(e["staff"] == "card A1*****78" for e in entries[-2:])


def test_recent_errors_are_kept_masked(kiosk):
    shell, _reader, _printer = kiosk
    logging.getLogger("kiosk.test").warning("could not send case of %s", CITIZEN.id_number)
    shell.staff.enter("card", "A1*****78")
    assert "1" in tile(shell, "errors").lines[0] or "条" in tile(shell, "errors").lines[0]
    shell.act("errors")
    texts = [r.text for r in shell.page.rows]
    assert any(CITIZEN.masked_number in t for t in texts) and not any(CITIZEN.id_number in t for t in texts)


def test_test_print_and_restart(kiosk, tmp_path):
    shell, _reader, printer = kiosk
    shell.staff.enter("card", "A1*****78")
    shell.act("test_print")
    run_until(shell, lambda: len(printer.slips) == 1 and "已打印" in " ".join(tile(shell, "paper").lines))
    shell.act("restart")
    assert shell.page.screen == "question"
    shell.act("answer", yes=True)
    assert shell.stop_requested == "restart" and actions(tmp_path)[-1] == "staff.restart"


def test_restart_in_the_demo_says_what_would_happen(platform, tmp_path):
    shell = Shell(make_config(tmp_path, demo=True), CentralClient(platform.url, retries=1), devices=None)
    try:
        shell.staff.enter("card", "A1*****78")
        shell.act("restart")
        shell.act("answer", yes=True)
        assert not shell.stop_requested and shell.page.screen == "notice" and "systemd" in shell.page.message
    finally:
        shell.shutdown()


def test_hash_pin_prints_a_line_to_paste(tmp_path):
    r = subprocess.run([KIOSK, "staff", "hash-pin"], input="135790\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    line = r.stdout.splitlines()[-1]
    assert line.startswith('pin_hash = "$argon2id$') and "135790" not in r.stdout
    (tmp_path / "k.toml").write_text(f"[staff]\n{line}\n", encoding="utf-8")
    from kiosk.staff_access import pin_matches

    assert pin_matches(config.load(tmp_path / "k.toml").staff.pin_hash, "135790")
    bad = subprocess.run([KIOSK, "staff", "hash-pin"], input="12\n", capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "4 to 12 digits" in bad.stderr and not bad.stdout
