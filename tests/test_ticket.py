"""Taking a queue number (取号) as a citizen does it: the business types and their queues from the
reference platform over HTTP, the ticket out of the ESC/POS emulator through the durable print
queue. The number is on screen whatever the printer does."""

from __future__ import annotations

import sqlite3
import time
from contextlib import ExitStack

import pytest

from kiosk.shell import Shell
from tests.fault_proxy import FaultProxy
from tests.test_apply import CARD, DEAD, Hall, identify
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def hall(platform, tmp_path):
    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


def tickets(hall: Hall) -> list[str]:
    """This terminal's tickets as the platform issued them: service letter and number."""
    with sqlite3.connect(f"file:{hall.platform.db_path}?mode=ro", uri=True) as db:
        return [f"{s}{n:03d}" for s, n in db.execute("SELECT service, seq FROM queue_tickets WHERE terminal_id = ? "
                                                     "ORDER BY id", (hall.tid,))]


def slip_text(slip) -> str:
    """The slip's words, without the padding that lines labels and values up."""
    return "\n".join(line.replace(" ", "") for line in slip.text_lines)


def open_services(c: Shell) -> None:
    c.start("ticket")
    run_until(c, lambda: c.page.screen == "ticket_services" and not c.page.busy)


def take(c: Shell, code: str) -> None:
    c.act("take", code=code)
    run_until(c, lambda: c.page.screen != "ticket_services" or not c.page.busy)


def test_the_services_are_listed_with_the_people_waiting(hall):
    hall.client.take_ticket("B")  # someone is queueing for 社保医保 already
    waiting = {s.code: s.waiting for s in hall.client.queue_services().items}
    c = hall.kiosk(hall.platform.url)
    open_services(c)
    page = c.page
    assert [(i.code, i.name) for i in page.items] == [("A", "综合受理"), ("B", "社保医保"), ("C", "户籍证件"),
                                                      ("D", "不动产登记"), ("E", "市场主体登记")]
    assert {i.code: i.waiting for i in page.items} == {k: f"{n} 人等候" for k, n in waiting.items()}
    assert waiting["B"] >= 1 and page.status == "点一下业务，取一张号票"
    c.set_language("en")
    assert c.page.items[1].waiting == f"{waiting['B']} waiting"


def test_an_identified_citizen_gets_a_ticket_with_the_masked_name(hall):
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    open_services(c)
    take(c, "C")
    [number] = tickets(hall)
    page = c.page
    assert page.screen == "ticket_printed" and page.number == number and page.service == "户籍证件"
    assert page.holder == "取号人：李**" and page.ahead.startswith("前面还有 ")
    text = slip_text(hall.printer.wait_for_slips(1, timeout=5)[0])
    assert number in text and "户籍证件" in text and page.ahead.replace(" ", "") in text and "取号人：李**" in text
    assert CARD.name not in text and CARD.id_number not in text
    assert "办理窗口" not in text  # the platform names no window; the call screen does
    assert text.index(number) < text.index("取号人") < text.index("办理业务：户籍证件")
    run_until(c, lambda: c.page.slip == "请从出纸口取走号票，留意叫号")
    c.back()
    assert c.page.screen == "personal"


def test_an_anonymous_ticket_carries_no_name_and_a_double_tap_takes_one(hall):
    c = hall.kiosk(hall.platform.url)
    assert "ticket" in [e.journey for e in c.page.entries]  # on the welcome page: no card needed
    open_services(c)
    c.act("take", code="A")
    c.act("take", code="A")  # the second touch while the first ticket is on its way
    run_until(c, lambda: c.page.screen == "ticket_printed")
    c.act("take", code="A")
    slip = hall.printer.wait_for_slips(1, timeout=5)[0]
    time.sleep(0.3)
    c.tick()
    assert len(tickets(hall)) == 1 and len(hall.printer.slips) == 1
    assert c.page.holder == "" and "取号人" not in slip_text(slip) and c.page.number in slip_text(slip)


def test_out_of_paper_the_number_is_on_screen_and_the_slip_waits(hall):
    c = hall.kiosk(hall.platform.url)
    hall.printer.set_paper("out")
    run_until(c, lambda: c.device_states["printer"].get("paper") == "out")
    open_services(c)
    take(c, "D")
    [number] = tickets(hall)
    run_until(c, lambda: c.page.trouble, timeout=10)
    assert c.page.screen == "ticket_printed" and c.page.number == number
    assert c.page.slip.startswith(c.tr("print.waiting_paper")) and "请记下上面的号码" in c.page.slip
    assert hall.printer.slips == []
    hall.printer.set_paper("full")  # staff refill it
    run_until(c, lambda: len(hall.printer.slips) == 1 and not c.page.trouble, timeout=15)
    assert number in slip_text(hall.printer.slips[0]) and c.page.slip == "请从出纸口取走号票，留意叫号"


def test_platform_down_a_plain_message_and_no_ticket(hall):
    # The list came, then the platform went away before the ticket: said plainly, nothing printed.
    c = hall.kiosk(hall.platform.url)
    open_services(c)
    assert not c.page.error and len(c.page.items) == 5
    c.central = hall.signed(DEAD)
    take(c, "E")
    assert c.page.screen == "notice" and c.page.kind == "error"
    assert c.page.message == "暂时无法连接服务平台，请稍后再试"
    c.dismiss_notice()
    assert c.page.screen == "ticket_services" and not c.page.busy
    assert tickets(hall) == [] and hall.printer.slips == []
    # Down from the start: no list, the same plain words, and a way to try again.
    c.home()
    open_services(c)
    assert c.page.error and c.page.items == () and c.page.status == "暂时无法连接服务平台，请稍后再试"
    c.act("refresh")
    assert c.page.busy and c.page.status == "正在查询，请稍候…"
    run_until(c, lambda: not c.page.busy)
    assert c.page.error and tickets(hall) == []


def test_a_ticket_answered_after_sign_out_is_neither_shown_nor_printed(hall):
    with FaultProxy(hall.platform.url, ["delay"], delay_s=0.6) as proxy:
        c = hall.kiosk(hall.platform.url)
        c.central = hall.signed(proxy.url)
        identify(c, hall)
        open_services(c)
        c.act("take", code="B")
        c.logout()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            c.tick()
            time.sleep(0.05)
    assert c.page.screen == "notice" and c.page.title == "已退出" and len(c.stack) == 1
    assert hall.printer.slips == [] and "李" not in str(c.page)


def test_without_a_printer_the_number_is_on_screen_to_note(hall):
    c = Shell(hall.cfg, hall.client)  # a terminal with no printer configured
    try:
        open_services(c)
        take(c, "A")
        assert c.page.number == tickets(hall)[0] and c.page.trouble
        assert c.page.slip == "本机不能打印号票。请记下上面的号码，留意叫号。"
    finally:
        c.shutdown()
