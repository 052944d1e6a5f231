"""The shell and its journeys without a screen (docs/architecture.md): a card on the emulated reader, guides from the reference
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
from kiosk.print_jobs import JobState
from kiosk.shell import Shell
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
        controller = Shell(cfg, CentralClient(central.url), devices)
        try:
            yield controller, reader, printer
        finally:
            controller.shutdown()
            devices.stop()


def run_until(shell: Shell, cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out on {shell.page}"
        shell.tick()
        time.sleep(0.02)


def test_card_guide_and_printed_slip(kiosk):
    c, reader, printer = kiosk
    run_until(c, lambda: c.device_states.get("id_reader", {}).get("state") == "online")
    card = SAMPLE_CARDS["li_xiaomei"]
    reader.place_card(card)
    run_until(c, lambda: c.page.screen == "personal")
    shown = " ".join(str(v) for v in vars(c.page).values())
    assert card.masked_number in shown and card.id_number not in shown
    assert card.name not in shown and "李*" in shown

    c.start("guide")
    c.act("search", query="hunyin")
    run_until(c, lambda: getattr(c.page, "items", None) and not c.page.loading)
    assert all("婚" in i.name for i in c.page.items[:3])
    code = c.page.items[0].code
    c.act("open", code=code)
    run_until(c, lambda: c.page.screen == "guide")
    guide = c.journey.guide

    c.act("print")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind != "progress")
    assert c.page.kind == "info", c.page
    slips = printer.wait_for_slips(1, timeout=5)
    text = "\n".join(slips[0].text_lines)
    assert guide.name[:10] in text.replace("\n", "") and guide.item_code[:20] in text.replace("\n", "")
    assert "?" not in text
    # A guide slip carries no personal data.
    assert card.name not in text and card.id_number[:6] + card.id_number[-4:] not in text


def test_paper_out_tells_the_citizen_and_the_slip_prints_after_refill(kiosk):
    c, _reader, printer = kiosk
    c.start("guide")
    run_until(c, lambda: getattr(c.page, "items", None) and not c.page.loading)
    c.act("open", code=c.page.items[0].code)
    run_until(c, lambda: c.page.screen == "guide")
    printer.set_paper("out")
    c.act("print")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind != "progress")
    assert c.page.kind == "warning"
    assert c.page.message == c.tr("print.waiting_paper") and "缺纸" in c.page.message
    assert printer.slips == []
    c.dismiss_notice()
    assert c.page.screen == "guide"  # the citizen is back where they were
    printer.set_paper("full")  # staff refill the paper: the saved slip prints by itself, once
    run_until(c, lambda: len(printer.slips) == 1)
    run_until(c, lambda: c.printing.queue.jobs(JobState.QUEUED, JobState.PRINTING) == [])
    time.sleep(0.3)
    c.tick()
    assert len(printer.slips) == 1 and c.page.screen == "guide"


def test_central_down_shows_a_plain_message():
    cfg = config.load(REPO / "config" / "demo.toml")
    c = Shell(cfg, CentralClient("http://127.0.0.1:9", retries=1), devices=None)
    try:
        c.start("guide")
        run_until(c, lambda: not getattr(c.page, "loading", None))
        assert c.page.error and c.page.status == "暂时无法连接服务平台，请稍后再试"
    finally:
        c.shutdown()


def test_logout_wipes_the_session(kiosk):
    c, reader, _printer = kiosk
    reader.place_card(SAMPLE_CARDS["wang_kun"])
    run_until(c, lambda: c.page.screen == "personal")
    c.set_language("en")
    assert c.page.greeting.startswith("Hello")
    c.logout()
    assert c.session.identity is None and not c.session.active
    assert c.tr.lang == "zh_CN"  # the next citizen starts in the hall's language
    assert "王" not in str(c.page) and c.notice.then == "welcome" and len(c.stack) == 1


@pytest.fixture
def clocked(central):
    """A shell without devices whose idle timer (60 s, warned 20 s before) runs on ``now[0]``."""
    from kiosk.session import Session

    now = [0.0]
    session = Session(idle_timeout_s=60, warning_s=20, clock=lambda: now[0])
    c = Shell(config.load(REPO / "config" / "demo.toml"), CentralClient(central.url), devices=None, session=session)
    try:
        yield c, now
    finally:
        c.shutdown()


def test_idle_citizen_is_warned_then_signed_out(clocked):
    c, now = clocked
    c.start("guide")
    c.act("search", query="hk")
    now[0] = 45
    c.tick()
    assert c.idle_warning == 15 and c.session.active
    c.touch()  # "继续办理"
    assert c.idle_warning is None
    now[0] = 45 + 61
    c.tick()
    assert not c.session.active and c.session.data == {}
    assert c.page.screen == "notice" and "已自动退出" in c.page.message


def test_a_language_or_elder_mode_chosen_by_someone_who_walked_away_does_not_greet_the_next(clocked):
    """Chosen on the welcome page, no sign-in (or a code that could not be checked): no session
    ends to undo it, so after the idle timeout untouched the welcome page is the terminal's own again."""
    c, now = clocked
    c.set_language("en")
    c.set_elder(True)
    now[0] = 59
    c.tick()
    assert c.tr.lang == "en" and c.elder  # still there, perhaps reading
    c.touch()
    now[0] = 59 + 59
    c.tick()
    assert c.tr.lang == "en" and c.elder  # a touch starts the minute again
    now[0] = 59 + 61
    c.tick()
    assert c.page.screen == "welcome" and c.tr.lang == c.config.terminal.language and not c.elder
    assert not c.page.elder and not c.page.prompt.isascii()  # the page itself redrawn: 请放置身份证…
    c.set_language("zh_TW")  # the next person's own choice stays while they are here
    now[0] += 30
    c.tick()
    assert c.tr.lang == "zh_TW"
