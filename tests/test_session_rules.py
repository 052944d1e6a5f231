"""The session rules as a citizen meets them: a card on the emulated reader, the receipt out of the
emulated printer, guides and cases through the reference platform over HTTP and the real outbox.

- Taking the ID card away ends the identity (after a short grace for a card lifted and put back),
  keeps anonymous browsing, and says so.
- A card left on the reader after a sign-out or a timeout is asked for, not read again by itself,
  and read again on a tap on "使用此证件".
- A receipt never prints onto the next person's session: the apply page says beforehand when it
  cannot print, and one still waiting when its session ends is kept for staff.
- A required material is never unticked silently, and the receipt never says "received".
- The receipt promises only what exists; its QR opens the query journey at a terminal.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest

from devices.events import CardRemoved, CodeScanned
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk import print_cli, receipts
from kiosk.central_client import CentralClient
from kiosk.journeys import JOURNEYS
from kiosk.session import Session
from tests.test_apply import CARD, Hall, identify, open_guide, receipt_text
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
OTHER = SAMPLE_CARDS["wang_kun"]


@pytest.fixture(scope="module")
def guide(platform) -> str:
    """中国内地公民婚姻登记: four materials, required and optional."""
    return CentralClient(platform.url).search_guides("hunyin").items[0].item_code


@pytest.fixture
def hall(platform, tmp_path):
    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


class Clock:
    """time.monotonic, moved on at will: the grace passes without the test sleeping through it."""

    def __init__(self):
        self.skew = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skew


def settle(c, seconds: float = 0.6) -> None:
    """Let the reader poll a few times (every 100 ms) and the shell tick."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        c.tick()
        time.sleep(0.02)


def on_apply_page(c, hall, code: str) -> None:
    identify(c, hall)
    open_guide(c, code)
    c.act("apply")
    assert c.page.screen == "apply"


def lift(c, hall) -> None:
    hall.reader.remove_card()
    run_until(c, lambda: c.card.lifted_at is not None)


# -- taking the card away ---------------------------------------------------------------------------


def test_taking_the_card_away_ends_the_identity_and_keeps_anonymous_browsing(hall, guide):
    clock = Clock()
    c = hall.kiosk(hall.platform.url, monotonic=clock)
    on_apply_page(c, hall, guide)
    lift(c, hall)
    assert c.page.screen == "apply" and c.session.identity is not None  # the grace: it may come back
    clock.skew += hall.cfg.session.card_grace_s
    c.tick()
    assert c.session.identity is None and c.session.active  # browsing without a card goes on
    assert [j.name for j in c.stack] == ["home", "guide"]  # applying, which needs the card, has gone
    assert c.page.screen == "notice" and c.page.title == "证件已取走"
    assert "已为您退出登录" in c.page.message and "继续查看办事指南" in c.page.message
    c.dismiss_notice()
    assert c.page.screen == "guide" and CARD.masked_name not in str(c.page)
    c.act("apply")  # whoever stands here now cannot apply in that name
    assert c.page.screen == "notice" and c.page.title == "请先放身份证" and hall.outbox.items() == []


def test_the_same_card_put_back_within_the_grace_goes_on_where_it_was(hall, guide):
    clock = Clock()
    c = hall.kiosk(hall.platform.url, monotonic=clock)
    on_apply_page(c, hall, guide)
    c.act("toggle", index=c.page.ticked.index(False))  # an optional material, ticked
    lift(c, hall)
    hall.reader.place_card(CARD)
    run_until(c, lambda: c.card.lifted_at is None)  # re-checked by card number: the same person
    # A social security card taken out of the PC/SC reader is not the ID card.
    c.on_device_event(CardRemoved(device="sscard", reader="Virtual PCD 00 00"))
    clock.skew += hall.cfg.session.card_grace_s + 1
    settle(c)
    assert c.page.screen == "apply" and all(c.page.ticked) and c.session.identity.id_number == CARD.id_number


def test_another_card_within_the_grace_is_another_person(hall, guide):
    c = hall.kiosk(hall.platform.url)
    on_apply_page(c, hall, guide)
    lift(c, hall)
    hall.reader.place_card(OTHER)
    run_until(c, lambda: c.page.screen == "personal" and OTHER.masked_name in c.page.greeting)
    assert [j.name for j in c.stack] == ["home"] and CARD.masked_name not in str(c.page)


def test_the_card_taken_from_the_personal_page_signs_out_to_the_welcome_page(hall):
    clock = Clock()
    c = hall.kiosk(hall.platform.url, monotonic=clock)
    identify(c, hall)
    lift(c, hall)
    clock.skew += hall.cfg.session.card_grace_s
    c.tick()
    assert not c.session.active and c.session.identity is None
    assert c.page.screen == "notice" and "信息已从本机清除" in c.page.message and not c.page.take_card
    c.dismiss_notice()
    assert c.page.screen == "welcome" and c.page.prompt == "请将身份证放在读卡处" and not c.page.use_card


# -- a card left on the reader -----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["logout", "idle"])
def test_a_card_left_on_the_reader_is_asked_for_and_read_again_on_a_tap(hall, how):
    now = [0.0]
    c = hall.kiosk(hall.platform.url, session=Session(idle_timeout_s=60, warning_s=20, clock=lambda: now[0]))
    identify(c, hall)
    if how == "logout":
        c.logout()
    else:
        now[0] = 61
        c.tick()
    assert c.page.screen == "notice" and c.page.take_card == "请取回您的证件"  # the signed-out page reminds
    c.dismiss_notice()
    assert c.page.screen == "welcome" and c.page.prompt == "请取走您的证件" and c.page.use_card == "使用此证件"
    settle(c)
    assert c.session.identity is None and c.page.screen == "welcome"  # not read again by itself
    c.act("use_card")
    run_until(c, lambda: c.page.screen == "personal")
    assert c.session.identity.id_number == CARD.id_number and CARD.masked_name in c.page.greeting
    c.logout()
    c.dismiss_notice()
    hall.reader.remove_card()
    run_until(c, lambda: c.page.screen == "welcome" and not c.page.use_card)
    assert c.page.prompt == "请将身份证放在读卡处"


def test_applying_with_a_card_left_asks_for_it_to_be_put_back_never_takes_it(hall, guide):
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    c.logout()
    c.dismiss_notice()
    c.start("guide", code=guide)
    run_until(c, lambda: c.page.screen == "guide" and c.page.can_apply)
    c.act("apply")
    assert c.page.screen == "notice" and "拿起来再放上" in c.page.message
    settle(c)
    assert c.session.identity is None  # somebody's card is lying there: not taken for this person's
    hall.reader.remove_card()
    time.sleep(0.3)
    hall.reader.place_card(CARD)
    run_until(c, lambda: c.page.screen == "apply")


# -- a receipt never prints onto the next person's session ---------------------------------------------


@pytest.mark.parametrize("how", ["logout", "card"])
def test_a_receipt_that_cannot_print_is_said_before_submit_and_kept_for_staff(hall, guide, how, capsys):
    clock = Clock()
    c = hall.kiosk(hall.platform.url, monotonic=clock)
    on_apply_page(c, hall, guide)
    assert c.page.printer_note == ""
    hall.printer.set_paper("out")
    run_until(c, lambda: c.page.printer_note)  # before 确认提交: note the number; staff can reprint
    assert "记下或拍照" in c.page.printer_note and "工作人员补打" in c.page.printer_note
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "warning", timeout=10)
    c.dismiss_notice()
    assert c.page.screen == "done" and c.page.take_card == "请取回您的证件"  # the done page reminds
    [item] = hall.outbox.items()
    if how == "logout":
        c.logout()
    else:
        lift(c, hall)
        clock.skew += hall.cfg.session.card_grace_s
        c.tick()
    assert c.session.identity is None
    hall.printer.set_paper("full")  # staff refill it while the next person stands here
    run_until(c, lambda: c.device_states["printer"].get("paper") == "full")
    settle(c, 1.5)
    assert hall.printer.slips == []
    assert hall.outbox.receipt(item.terminal_ref)[1] == "kept"
    assert c.printing.queue.get(receipts.job_id(item.terminal_ref)) is None
    assert print_cli.pending(hall.cfg, as_json=False) == 0
    assert item.terminal_ref in capsys.readouterr().out


def test_a_receipt_already_printing_is_left_to_print(hall, guide):
    c = hall.kiosk(hall.platform.url)
    on_apply_page(c, hall, guide)
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "done", timeout=5)
    c.logout()  # the printer has it: nothing to stop, it comes out for the person just leaving
    hall.printer.wait_for_slips(1, timeout=5)
    [item] = hall.outbox.items()
    assert hall.outbox.receipt(item.terminal_ref)[1] == "queued"


# -- required materials ---------------------------------------------------------------------------


def test_a_required_material_is_never_unticked_silently_and_the_receipt_never_says_received(hall, guide):
    c = hall.kiosk(hall.platform.url)
    on_apply_page(c, hall, guide)
    guide = c.journey.guide
    i = next(n for n, m in enumerate(guide.materials) if m.is_required)
    name = guide.materials[i].name
    c.act("toggle", index=i)
    assert c.page.screen == "question" and c.page.title == "这是必要材料"
    assert name in c.page.message and "带到窗口" in c.page.message
    assert (c.page.yes, c.page.no) == ("会，我带到窗口交", "不，保留勾选")
    c.back()  # back keeps it ticked
    assert c.page.screen == "apply" and c.page.ticked[i]
    c.act("toggle", index=i)
    c.act("answer", yes=False)
    assert c.page.ticked[i]
    c.act("toggle", index=i)
    c.act("answer", yes=True)
    assert not c.page.ticked[i] and c.page.materials[i].endswith("（需到窗口提交）")
    c.act("confirm")
    [item] = hall.outbox.items()
    assert name not in item.body["materials"]  # what the platform is told was ticked
    data = hall.outbox.receipt(item.terminal_ref)[0]
    assert data["to_counter"] == [name] and name not in data["materials"]
    run_until(c, lambda: c.page.screen == "done", timeout=5)
    text = "".join(line.strip() for line in hall.printer.wait_for_slips(1, timeout=5)[0].text_lines)
    assert "已收" not in text
    assert text.index("申请时勾选的材料：") < text.index("需到窗口提交的材料：") < text.index(name[:8])


# -- what the receipt promises ---------------------------------------------------------------------


def test_the_receipt_promises_a_terminal_lookup_only_with_the_query_journey(hall, guide):
    c = hall.kiosk(hall.platform.url)
    on_apply_page(c, hall, guide)
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "done", timeout=5)
    [item] = hall.outbox.items()
    there = "query" in JOURNEYS
    assert hall.outbox.receipt(item.terminal_ref)[0]["terminal_query"] is there
    raw = receipt_text(hall.printer.wait_for_slips(1, timeout=5)[0])
    assert ("自助终端" in raw) is there


def test_a_scanned_receipt_qr_opens_the_query_journey(hall):
    c = hall.kiosk(hall.platform.url)
    qr = receipts.track_url(hall.cfg, hall.client).replace("{number}", "GA20261130ED85ECDB")
    c.on_device_event(CodeScanned(device="scanner", data=b"6901234567892", text="6901234567892"))
    assert c.page.screen == "notice" and [j.name for j in c.stack] == ["home"]  # a product, not a receipt
    c.dismiss_notice()
    c.on_device_event(CodeScanned(device="scanner", data=qr.encode(), text=qr))
    assert c.journey.name == "query"
    # The number is looked up at once (unknown here: it says so, keeping it).
    run_until(c, lambda: not c.page.loading)
    assert c.page.screen == "query_number" and c.page.typed == "GA2026 1130 ED85 ECDB" and c.page.error


# -- the journeys other than applying ----------------------------------------------------------------
def test_my_cases_go_with_the_card_but_a_number_typed_by_anyone_stays(hall, guide):
    clock = Clock()
    c = hall.kiosk(hall.platform.url, monotonic=clock)
    identify(c, hall)
    c.start("query")  # identified: the citizen's own cases
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    lift(c, hall)
    clock.skew += hall.cfg.session.card_grace_s
    c.tick()
    assert [j.name for j in c.stack] == ["home"]  # their cases have gone with the card
    assert CARD.masked_name not in str(c.page)
    c.dismiss_notice()
    c.start("query")  # anyone may type a number, and lay a card down while typing: the number stays
    for key in "GA2026":
        c.act("type", text=key)
    hall.reader.place_card(CARD)
    run_until(c, lambda: c.session.identity is not None)
    assert c.page.screen == "query_number" and c.page.typed == "GA2026"


def test_the_card_is_asked_for_in_the_words_of_what_needs_it(hall, guide):
    c = hall.kiosk(hall.platform.url)
    open_guide(c, guide)
    c.act("apply")
    assert c.page.screen == "notice" and "申请" in c.page.message  # applying says so
    c.home()
    c.start("certificate")
    assert c.page.screen == "notice" and c.page.title == "请先放身份证"
    assert "申报" not in c.page.message and "自动继续" in c.page.message


def test_the_done_page_offers_to_rate_the_case_just_submitted(hall, guide):
    c = hall.kiosk(hall.platform.url)
    on_apply_page(c, hall, guide)
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "done", timeout=10)
    assert c.page.can_rate
    number = c.journey.number
    c.act("rate")
    assert c.journey.name == "rating" and c.journey.case_no == number
