"""繁體 and English for real, through the real shell: guides from the reference server over HTTP in
the citizen's language (the platform's translations, else OpenCC for 繁體 and a "Chinese only"
note for English), slips on the emulated printer, and notices that follow a language switch."""

from __future__ import annotations

import re

import pytest

from central.server import BackgroundServer
from devices.manager import DeviceManager
from drivers.escpos.emulator import VirtualPrinter
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator
from kiosk import config
from kiosk.central_client import CentralClient
from kiosk.shell import Shell
from tests.conftest import REPO
from tests.test_shell import run_until

ID_CARD = "513A0011200068-511602000000-000-1151130000877869M-1-00"  # translated on the platform (seed)
HUKOU = "511F09014002-511602000000-000-11511300008778693M-1-00"  # Chinese only
HAN = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    with BackgroundServer(tmp_path_factory.mktemp("central") / "central.db") as server:
        yield server


@pytest.fixture
def kiosk(central, tmp_path):
    cfg = config.load(REPO / "config" / "demo.toml")
    cfg.paths.var = str(tmp_path)
    with SamEmulator() as reader, VirtualPrinter() as printer:
        devices = DeviceManager({
            "id_reader": {"driver": "sam-serial", "port": reader.port, "poll_interval_ms": 100},
            "printer": {"driver": "escpos", "connection": "serial", "port": printer.port},
        })
        devices.start()
        shell = Shell(cfg, CentralClient(central.url), devices)
        try:
            yield shell, reader, printer
        finally:
            shell.shutdown()
            devices.stop()


def open_guide(shell: Shell, code: str) -> None:
    shell.start("guide", code=code)
    run_until(shell, lambda: shell.page.screen == "guide" and shell.page.code == code)


def shown(page) -> str:
    return " ".join([page.title, page.language_note, *(f"{k}{v}" for k, v in page.rows), *page.materials])


def test_a_guide_the_platform_translated_shows_its_translation(kiosk):
    shell, _reader, _printer = kiosk
    shell.set_language("en")
    open_guide(shell, ID_CARD)
    page = shell.page
    assert page.title == "Resident identity card (including temporary card)"
    assert page.materials[0] == "Household register (hukou booklet) (original, 1 copy, required)"
    assert page.materials[2] == "Guardian's ID card (original, 1 copy, if applicable)"
    assert ("Fee: ", "Card fee: first card or renewal CNY 20; replacing a lost or damaged card CNY 40; "
                     "temporary card CNY 10") in page.rows
    assert not HAN.search(shown(page)), shown(page)  # every field has English: no note
    assert page.language_note == ""

    shell.set_language("zh_TW")  # the same page, redrawn in the new language
    page = shell.page
    assert page.title == "居民身分證辦理（包括臨時）"  # the platform's own 繁體 wording (身分證)
    assert page.materials[0] == "居民戶口名簿（正本，1 份，必要）"


def test_traditional_converts_and_english_says_chinese_only(kiosk):
    shell, _reader, printer = kiosk
    shell.set_language("zh_TW")
    open_guide(shell, HUKOU)
    page = shell.page
    assert page.title == "戶口登記"
    assert page.materials[0] == "《出生醫學證明》（正本，1 份，必要）"
    assert ("收費：", "不收費") in page.rows
    assert page.language_note == ""
    # The slip too, in Traditional characters (they exist in GB18030).
    shell.act("print")
    run_until(shell, lambda: shell.page.screen == "notice" and shell.page.kind != "progress")
    text = "".join(line.strip() for line in printer.wait_for_slips(1, timeout=5)[0].text_lines)
    assert "戶口登記" in text and "《出生醫學證明》（正本，1份，必要）" in text.replace(" ", "")
    shell.dismiss_notice()

    shell.set_language("en")
    page = shell.page
    assert page.language_note == "This guide is available in Chinese only"
    assert page.title == "户口登记"  # as the platform has it
    assert page.materials[0] == "《出生医学证明》 (original, 1 copy, required)"
    assert page.materials[3] == "父母结婚证 (original, 1 copy, if applicable)"
    assert ("Fee: ", "Free of charge") in page.rows
    # No Chinese value pasted among the English words: the codes are put into words.
    for line in page.materials:
        assert not HAN.search(line.split(" (", 1)[1]), line


def test_search_results_in_traditional(kiosk):
    shell, _reader, _printer = kiosk
    shell.set_language("zh_TW")
    shell.start("guide")
    shell.act("search", query="hukou")
    run_until(shell, lambda: getattr(shell.page, "items", None) and not shell.page.loading)
    names = [i.name for i in shell.page.items]
    assert "戶口登記" in names and not any("户" in n for n in names), names
    assert all("區" in i.department or not HAN.search(i.department) for i in shell.page.items[:3])



def test_a_notice_follows_a_language_switch(kiosk):
    shell, _reader, printer = kiosk
    open_guide(shell, HUKOU)
    printer.set_paper("out")
    shell.act("print")
    run_until(shell, lambda: shell.page.screen == "notice" and shell.page.kind == "warning")
    assert "缺纸" in shell.page.message
    shell.set_language("zh_TW")
    assert shell.page.screen == "notice" and "缺紙" in shell.page.message and shell.page.title == "憑條稍後列印"
    shell.set_language("en")
    assert shell.page.message.startswith("The printer is out of paper")
    printer.set_paper("full")


def test_the_chosen_language_lasts_the_session_and_signed_out_speaks_it(kiosk):
    shell, reader, _printer = kiosk
    run_until(shell, lambda: shell.device_states.get("id_reader", {}).get("state") == "online")
    assert shell.tr.lang == "zh_CN"  # the terminal's language (config/demo.toml)
    shell.set_language("en")  # on the welcome page, before the card
    reader.place_card(SAMPLE_CARDS["li_xiaomei"])
    run_until(shell, lambda: shell.page.screen == "personal")
    assert shell.tr.lang == "en"  # identification keeps the person's choice
    open_guide(shell, HUKOU)
    shell.home()
    assert shell.tr.lang == "en"
    shell.logout()
    page = shell.page
    assert (page.screen, page.title) == ("notice", "Signed out")  # theirs, not the terminal's
    assert page.message == "Your details have been cleared from this terminal. Goodbye."
    shell.dismiss_notice()
    assert shell.page.screen == "welcome" and shell.tr.lang == "zh_CN"  # the next person's


def test_signed_out_after_idle_is_in_the_persons_language(central):
    from kiosk.session import Session

    now = [0.0]
    cfg = config.load(REPO / "config" / "demo.toml")
    shell = Shell(cfg, CentralClient(central.url), session=Session(60, 20, clock=lambda: now[0]))
    try:
        shell.set_language("zh_TW")
        shell.start("guide")
        now[0] = 61
        shell.tick()
        assert shell.page.screen == "notice" and shell.page.message == "長時間沒有操作，已自動退出，您的資訊已清除"
        assert shell.tr.lang == "zh_CN"  # under the notice, the welcome page is the terminal's again
        shell.set_language("en")  # someone new taps English while it shows: it follows
        assert shell.page.message.startswith("You were signed out")
    finally:
        shell.shutdown()


def test_the_hall_name_in_the_header_follows_the_language(kiosk):
    shell, _reader, _printer = kiosk
    hall = shell.config.terminal.hall
    assert shell.hall == hall and HAN.search(hall)
    shell.set_language("zh_TW")
    assert shell.hall != hall and "區" in shell.hall  # 区 -> 區 (the demo hall is a 区's centre)
    shell.set_language("en")
    assert shell.hall == hall  # a proper name: kept as the hall writes it
