"""The application core without a screen: a card on the emulated reader, guides from the reference
server over HTTP, a slip on the emulated printer, and what the citizen is shown when things fail."""

from __future__ import annotations

import time

import pytest

from central.server import BackgroundServer
from devices.manager import DeviceManager
from drivers.escpos.emulator import VirtualPrinter
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator
from kiosk import config
from kiosk.central_client import CentralClient
from kiosk.controller import KioskController
from kiosk.print_jobs import JobState
from tests.conftest import REPO


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    with BackgroundServer(tmp_path_factory.mktemp("central") / "central.db") as server:
        yield server


@pytest.fixture
def kiosk(central, tmp_path):
    cfg = config.load(REPO / "config" / "demo.toml")
    cfg.paths.var = str(tmp_path)  # the print queue of this test only
    with SamEmulator() as reader, VirtualPrinter() as printer:
        devices = DeviceManager({
            "id_reader": {"driver": "sam-serial", "port": reader.port, "poll_interval_ms": 100},
            "printer": {"driver": "escpos", "connection": "serial", "port": printer.port},
        })
        devices.start()
        controller = KioskController(cfg, CentralClient(central.url), devices)
        try:
            yield controller, reader, printer
        finally:
            controller.shutdown()
            devices.stop()


def run_until(controller: KioskController, cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out on screen {controller.view.screen}: {controller.view.data}"
        controller.tick()
        time.sleep(0.02)


def test_card_guide_and_printed_slip(kiosk):
    c, reader, printer = kiosk
    run_until(c, lambda: c.device_states.get("id_reader", {}).get("state") == "online")
    card = SAMPLE_CARDS["li_xiaomei"]
    reader.place_card(card)
    run_until(c, lambda: c.view.screen == "personal")
    shown = " ".join(str(v) for v in c.view.data.values())
    assert card.masked_number in shown and card.id_number not in shown
    assert card.name not in shown and "李*" in shown

    c.browse_guides()
    c.search("hunyin")
    run_until(c, lambda: c.view.data.get("items") and not c.view.data["loading"])
    assert all("婚" in i["name"] for i in c.view.data["items"][:3])
    code = c.view.data["items"][0]["code"]
    c.open_guide(code)
    run_until(c, lambda: c.view.screen == "guide")
    guide = c.view.data["guide_obj"]

    c.print_guide()
    run_until(c, lambda: c.view.screen == "notice" and c.view.data["kind"] != "progress")
    assert c.view.data["kind"] == "info", c.view.data
    slips = printer.wait_for_slips(1, timeout=5)
    text = "\n".join(slips[0].text_lines)
    assert guide.name[:10] in text.replace("\n", "") and guide.item_code[:20] in text.replace("\n", "")
    assert "?" not in text
    # A guide slip carries no personal data.
    assert card.name not in text and card.id_number[:6] + card.id_number[-4:] not in text


def test_paper_out_tells_the_citizen_and_the_slip_prints_after_refill(kiosk):
    c, _reader, printer = kiosk
    c.browse_guides()
    run_until(c, lambda: c.view.data.get("items") and not c.view.data["loading"])
    c.open_guide(c.view.data["items"][0]["code"])
    run_until(c, lambda: c.view.screen == "guide")
    printer.set_paper("out")
    c.print_guide()
    run_until(c, lambda: c.view.screen == "notice" and c.view.data["kind"] != "progress")
    assert c.view.data["kind"] == "warning"
    assert c.view.data["message"] == c.tr("print.waiting_paper") and "缺纸" in c.view.data["message"]
    assert printer.slips == []
    c.dismiss_notice()
    assert c.view.screen == "guide"  # the citizen is back where they were
    printer.set_paper("full")  # staff refill the paper: the saved slip prints by itself, once
    run_until(c, lambda: len(printer.slips) == 1)
    run_until(c, lambda: c.printing.queue.jobs(JobState.QUEUED, JobState.PRINTING) == [])
    time.sleep(0.3)
    c.tick()
    assert len(printer.slips) == 1 and c.view.screen == "guide"


def test_central_down_shows_a_plain_message():
    cfg = config.load(REPO / "config" / "demo.toml")
    c = KioskController(cfg, CentralClient("http://127.0.0.1:9", retries=1), devices=None)
    try:
        c.browse_guides()
        run_until(c, lambda: not c.view.data.get("loading"))
        assert c.view.data["error"] and c.view.data["status"] == "暂时无法连接服务平台，请稍后再试"
    finally:
        c.shutdown()


def test_logout_wipes_the_session(kiosk):
    c, reader, _printer = kiosk
    reader.place_card(SAMPLE_CARDS["wang_kun"])
    run_until(c, lambda: c.view.screen == "personal")
    c.set_language("en")
    assert c.view.data["greeting"].startswith("Hello")
    c.logout()
    assert c.session.identity is None and not c.session.active
    assert c.tr.lang == "zh_CN"  # the next citizen starts in the hall's language
    assert "王" not in str(c.view.data) and "王" not in str(c._under_notice) and not c._history


def test_idle_citizen_is_warned_then_signed_out(central):
    cfg = config.load(REPO / "config" / "demo.toml")
    now = [0.0]
    from kiosk.session import Session

    session = Session(idle_timeout_s=60, warning_s=20, clock=lambda: now[0])
    c = KioskController(cfg, CentralClient(central.url), devices=None, session=session)
    try:
        c.browse_guides()
        c.search("hk")
        now[0] = 45
        c.tick()
        assert c.idle_warning == 15 and c.session.active
        c.touch()  # "继续办理"
        assert c.idle_warning is None
        now[0] = 45 + 61
        c.tick()
        assert not c.session.active and c.session.data == {}
        assert c.view.screen == "notice" and "已自动退出" in c.view.data["message"]
    finally:
        c.shutdown()
