"""Following a case (办件查询) as a citizen does it: cases made through the real outbox and sender
at the reference platform (whose back office moves them on an injected clock), looked up through
the shell by number, by terminal reference or from "my cases", the progress slip out of the
ESC/POS emulator. The applicant sees everything; anyone else only the status."""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack

import pytest
import zxingcpp

from central import backoffice
from central.platform import PlatformStore
from central.server import BackgroundServer
from contract.models import CaseSubmission
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk.cases import MINE_SHOWN, normalize
from kiosk.central_client import CentralClient
from kiosk.journeys import JOURNEYS
from kiosk.journeys.base import Journey
from kiosk.journeys.query import keypad_letters
from kiosk.outbox import Outbox, send_due
from kiosk.session import Session
from kiosk.shell import Shell
from kiosk.slips import group_number as grouped
from tests.fault_proxy import FaultProxy
from tests.test_apply import DEAD, Hall
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
LI, WANG = SAMPLE_CARDS["li_xiaomei"], SAMPLE_CARDS["wang_kun"]
STEP = 20.0
PASSPORT = "511A0116400001-511602000000-000-11511300008778693M-1-00"  # the back office takes a step every STEP seconds of the platform's clock


class Clock:
    """The platform's clock: real time plus what a test skips ahead (a few minutes at most, so
    signed requests stay within the platform's time window)."""

    def __init__(self):
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    clock = Clock()
    with BackgroundServer(tmp_path_factory.mktemp("central") / "central.db", clock=clock,
                          step_seconds=STEP) as server:
        server.store = PlatformStore(server.db_path)
        server.clock = clock
        yield server


@pytest.fixture(scope="module")
def item_code(platform) -> str:
    """普通护照签发: 承诺件 (7 working days), so its cases carry a promised date."""
    guide = CentralClient(platform.url).get_guide(PASSPORT)
    assert guide.promised_limit_days == 7
    return guide.item_code


@pytest.fixture
def hall(platform, tmp_path):
    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


def kiosk(hall: Hall, client: CentralClient | None = None, session: Session | None = None) -> Shell:
    """The shell with the hall's devices and outbox; no sender: the tests deliver cases themselves."""
    c = Shell(hall.cfg, client or hall.client, hall.devices, outbox=hall.outbox, session=session)
    hall.stack.callback(c.shutdown)
    run_until(c, lambda: c.device_states.get("id_reader", {}).get("state") == "online"
              and c.device_states.get("printer", {}).get("state") == "online")
    return c


def submit(hall: Hall, item_code: str, card=LI, path: str = "approve", deliver: bool = True):
    """A case through the outbox, as the apply journey makes it; delivered unless told otherwise."""
    item = hall.outbox.enqueue_case(CaseSubmission(item_code=item_code, form={backoffice.DEMO_PATH_FIELD: path},
                                                   materials=["居民身份证"]), card.id_number, card.name)
    if deliver:
        assert send_due(hall.outbox, hall.client)["delivered"] == 1
    return hall.outbox.by_ref(item.terminal_ref)


def skip(platform, steps: float) -> None:
    platform.clock.skipped += steps * STEP + 1


def identify(c: Shell, hall: Hall, card=LI) -> None:
    hall.reader.place_card(card)
    run_until(c, lambda: c.session.identity is not None and c.session.identity.id_number == card.id_number)


def look_up(c: Shell, typed: str) -> None:
    for key in typed:
        c.act("type", text=key)
    c.act("search")
    run_until(c, lambda: not getattr(c.page, "loading", False) and c.page.screen in ("query_number", "query_timeline"))


def shown(page) -> str:
    return repr(page)


def slip_text(slip) -> str:
    return "".join(line.strip() for line in slip.text_lines)


def test_numbers_are_read_in_groups_and_typed_any_way():
    assert grouped("GA20261130ED85ECDB") == "GA2026 1130 ED85 ECDB"
    assert grouped("DEMO-0001-20261130-0007") == "DEMO-0001-20261130-0007"
    assert normalize(" ga2026 1130\ted85 ecdb ") == "GA20261130ED85ECDB"
    assert keypad_letters("DEMO-0001") == tuple("ABCDEFGMO")


def test_by_number_the_applicant_sees_everything_anyone_else_the_status_only(hall, item_code):
    case_no = submit(hall, item_code).case_number
    c = kiosk(hall)
    c.start("query")  # from the welcome page: no card needed
    assert c.page.screen == "query_number" and c.page.letters == keypad_letters(hall.tid) and "T" in c.page.letters
    look_up(c, grouped(case_no).lower())  # typed with spaces, in lower case: the same number
    v = c.page
    assert v.screen == "query_timeline" and v.number == grouped(case_no)
    assert v.title and v.state == "已提交申请" and [s.label for s in v.steps] == ["已提交申请"]
    assert v.steps[0].current and v.steps[0].time
    assert v.applicant == "" and all(s.note == "" for s in v.steps) and v.status_only
    assert LI.masked_number not in shown(v) and "申请已提交" not in shown(v)
    assert c.journey.view.applicant == ""  # cut down before it reached the journey

    # Someone else's card: still the status only.
    identify(c, hall, WANG)
    c.start("query")
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    c.act("number")
    look_up(c, case_no)
    assert c.page.screen == "query_timeline" and c.page.status_only and c.page.applicant == ""
    assert LI.masked_number not in shown(c.page) and "申请已提交" not in shown(c.page)
    c.logout()
    c.dismiss_notice()

    # The applicant: everything, masked.
    identify(c, hall, LI)
    c.start("query")
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    c.act("number")
    look_up(c, case_no)
    v = c.page
    assert v.screen == "query_timeline" and not v.status_only
    assert v.applicant == LI.masked_number and LI.id_number not in shown(v)
    assert v.steps[0].note == "申报已提交" and "还剩" in v.deadline
    c.back()
    assert c.page.screen == "query_number" and c.page.typed == grouped(case_no)  # the number is kept
    c.back()
    assert c.page.screen == "query_mine"
    c.back()
    assert c.page.screen == "personal"


def test_i_am_the_applicant_shows_a_status_only_case_in_full_once_the_card_says_so(hall, item_code):
    case_no = submit(hall, item_code).case_number
    c = kiosk(hall)
    c.start("query")
    look_up(c, case_no)
    assert c.page.status_only and c.page.can_identify
    c.act("applicant")
    assert c.page.screen == "notice" and c.journey.name == "identify"
    identify(c, hall, LI)
    run_until(c, lambda: c.page.screen == "query_timeline" and not c.page.status_only)
    assert c.page.applicant == LI.masked_number and not c.page.can_identify
    c.back()
    assert c.page.screen == "query_number" and c.page.typed == grouped(case_no)

    # Someone else's card on that button: still the status only.
    c.logout()
    c.dismiss_notice()
    hall.reader.remove_card()
    c.start("query")
    look_up(c, case_no)
    c.act("applicant")
    identify(c, hall, WANG)
    run_until(c, lambda: c.page.screen == "query_timeline" and not c.journey.loading)
    assert c.page.status_only and not c.page.can_identify and LI.masked_number not in shown(c.page)


def test_an_offline_receipts_terminal_reference_finds_the_case(hall, item_code):
    item = submit(hall, item_code, deliver=False)
    c = kiosk(hall)
    identify(c, hall)
    c.start("query")
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    c.act("number")
    look_up(c, item.terminal_ref)  # not sent yet: this terminal says so instead of "not found"
    assert c.page.screen == "query_number" and c.page.error
    assert c.page.status == c.tr("query.pending_here") and c.page.typed == item.terminal_ref

    assert send_due(hall.outbox, hall.client)["delivered"] == 1
    c.act("search")
    run_until(c, lambda: c.page.screen == "query_timeline")
    number = hall.outbox.by_ref(item.terminal_ref).case_number
    assert c.page.number == grouped(number) and not c.page.status_only


def test_my_cases_newest_first_and_one_opens_its_timeline(hall, item_code):
    first, second = submit(hall, item_code), submit(hall, item_code)
    submit(hall, item_code, card=WANG)
    c = kiosk(hall)
    c.start("query")
    c.act("mine")  # not identified: the card first, then the list
    assert c.page.screen == "notice" and c.journey.name == "identify"
    identify(c, hall)
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    rows = c.page.rows
    mine = [r.case_no for r in rows]
    assert mine.index(second.case_number) < mine.index(first.case_number)
    assert all(r.number == grouped(r.case_no) for r in rows) and rows[0].state and rows[0].item
    token = hall.client.person_token(WANG.id_number, WANG.name).token
    assert not {case.case_no for case in hall.client.my_cases(token).items} & set(mine)
    c.act("open", case_no=first.case_number)
    assert c.page.screen == "query_timeline" and c.page.number == grouped(first.case_number)
    assert not c.page.status_only and c.page.steps[0].note
    c.back()
    assert c.page.screen == "query_mine"


def test_a_person_with_many_cases_sees_the_newest_and_how_many_in_all(hall, item_code):
    """A business agent may have hundreds of cases: the list shows the newest few (drawn and
    scrolled quickly), says how many there are in all, and where to find an older one."""
    token = hall.client.person_token(LI.id_number, LI.name).token
    for _ in range(max(0, MINE_SHOWN + 3 - hall.client.my_cases(token).total)):
        submit(hall, item_code)
    everything = hall.client.my_cases(token, limit=100)
    assert everything.total == len(everything.items) > MINE_SHOWN
    page = hall.client.my_cases(token, limit=2, offset=1)  # the platform pages them, newest first
    assert [x.case_no for x in page.items] == [x.case_no for x in everything.items[1:3]]
    assert page.total == everything.total
    c = kiosk(hall)
    c.start("query")
    c.act("mine")
    identify(c, hall)
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    assert [r.case_no for r in c.page.rows] == [x.case_no for x in everything.items[:MINE_SHOWN]]
    assert f"最近 {MINE_SHOWN} 件（共 {everything.total} 件）" in c.page.status and "办件编号" in c.page.status
    oldest = everything.items[-1].case_no  # not in the list: found by its number
    c.back()
    look_up(c, oldest)
    run_until(c, lambda: c.page.screen == "query_timeline")
    assert c.page.number == grouped(oldest) and not c.page.status_only


def test_a_supplement_lists_what_to_bring_and_by_when(hall, item_code, platform):
    case_no = submit(hall, item_code, path="supplement").case_number
    skip(platform, 2)  # submitted → pre-review → 补齐补正
    c = kiosk(hall)
    identify(c, hall)
    c.start("query")
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    assert next(r for r in c.page.rows if r.case_no == case_no).attention
    c.act("open", case_no=case_no)
    v = c.page
    assert v.state == "补齐补正" and v.attention and v.steps[0].current and v.steps[0].label == "补齐补正"
    assert [s.label for s in v.steps] == ["补齐补正", "预审", "已提交申请"]  # newest first
    assert v.supplement == tuple(backoffice.SUPPLEMENT_MATERIALS)
    assert "还剩 5 天" in v.supplement_note or "还剩 4 天" in v.supplement_note
    assert "请在 " in v.supplement_note and v.supplement_title == "需要补正的材料（一次性告知）"
    c.set_language("en")
    assert c.page.state == "Documents needed" and "Please hand them in by" in c.page.supplement_note

    # Not the applicant: that something is needed, not what.
    c.logout()
    c.dismiss_notice()
    c.start("query")
    look_up(c, case_no)
    v = c.page
    assert v.state == "补齐补正" and v.supplement == () and v.status_only  # sign-out: back in 简体
    assert not any(m in shown(v) for m in backoffice.SUPPLEMENT_MATERIALS)
    assert v.supplement_note == c.tr("query.supplement_private")


def test_an_unknown_number_says_so_and_keeps_the_number(hall):
    c = kiosk(hall)
    c.start("query")
    look_up(c, "GA20991231ABCDEF01")
    assert c.page.screen == "query_number" and c.page.error
    assert c.page.status == "没有找到这个办件，请核对编号" and c.page.typed == "GA2099 1231 ABCD EF01"
    c.act("backspace")
    assert not c.page.error and c.page.typed == "GA2099 1231 ABCD EF0"


def test_a_platform_that_is_down_says_so_and_keeps_the_number(hall):
    down = kiosk(hall, CentralClient(DEAD, retries=1))
    down.start("query")
    look_up(down, "GA20991231ABCDEF01")
    assert down.page.screen == "query_number" and down.page.error
    assert down.page.status == "暂时无法连接服务平台，请稍后再试" and down.page.typed == "GA2099 1231 ABCD EF01"
    down.act("mine")  # "my cases" cannot be fetched either: said on that page, and the keypad stays
    identify(down, hall)
    run_until(down, lambda: down.page.screen == "query_mine" and not down.page.loading)
    assert down.page.error and down.page.status == "暂时无法连接服务平台，请稍后再试"
    down.act("number")
    assert down.page.screen == "query_number"


def slow(hall: Hall) -> CentralClient:
    """The platform, every answer half a second late (a look-up with its token takes three)."""
    proxy = FaultProxy(hall.platform.url, ["delay"], delay_s=0.5)
    hall.stack.callback(proxy.close)
    return CentralClient(proxy.url, retries=1, terminal_id=hall.tid, secret=hall.secret)


def until_answered(c: Shell, check) -> None:
    """Tick until every call in flight has been answered (and a little longer), checking each page."""
    end = time.monotonic() + 6
    settle = time.monotonic() + 0.5
    while c.background._pending or time.monotonic() < settle:
        assert time.monotonic() < end, "the answer never came"
        c.tick()
        check(c.page)
        time.sleep(0.05)
    c.tick()
    check(c.page)


@pytest.mark.parametrize("how", ["logout", "another card", "idle"])
def test_leaving_while_the_answer_is_coming_shows_nothing(hall, item_code, how):
    case_no = submit(hall, item_code).case_number
    now = [0.0]
    c = kiosk(hall, slow(hall), Session(idle_timeout_s=60, warning_s=20, clock=lambda: now[0]))
    identify(c, hall)
    c.start("query")  # "my cases" on its way...
    c.act("number")
    c.act("type", text=case_no)
    c.act("search")  # ...and the look-up too
    if how == "logout":
        c.logout()
    elif how == "idle":
        now[0] = 61
        c.tick()
    else:
        hall.reader.remove_card()
        identify(c, hall, WANG)

    def nothing_of_li(page):
        assert page.screen not in ("query_timeline", "query_mine"), page
        assert LI.masked_number not in shown(page) and "申请已提交" not in shown(page)

    until_answered(c, nothing_of_li)
    assert len(c.stack) == 1


def test_going_back_while_the_answer_is_coming_stays_where_the_citizen_went(hall, item_code):
    case_no = submit(hall, item_code).case_number
    c = kiosk(hall, slow(hall))
    identify(c, hall)
    c.start("query")
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    c.act("number")
    c.act("type", text=case_no)
    c.act("search")
    assert c.page.loading
    c.back()  # changed their mind: back on "my cases"

    def stays(page):
        assert page.screen == "query_mine", page

    until_answered(c, stays)

    # Typing over the number while its answer is coming: the answer is for a number no longer there.
    c.act("number")
    c.act("search")
    c.act("backspace")
    assert not c.page.loading

    def keeps_typing(page):
        assert page.screen == "query_number" and page.typed == grouped(case_no[:-1]), page

    until_answered(c, keeps_typing)


def test_the_progress_slip_prints_grouped_and_masked_and_only_the_status_for_others(hall, item_code):
    case_no = submit(hall, item_code).case_number
    c = kiosk(hall)
    identify(c, hall)
    c.start("query")
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    c.act("open", case_no=case_no)
    assert c.page.can_print
    c.act("print")
    assert c.page.screen == "notice" and c.page.kind == "progress"
    slip = hall.printer.wait_for_slips(1, timeout=10)[0]
    text = slip_text(slip)
    assert "办件进度" in text and grouped(case_no) in text and LI.masked_number in text
    assert LI.id_number not in slip.raw.decode("gb18030", "replace") and "申报已提交" in text
    [qr] = [r.text for r in zxingcpp.read_barcodes(slip.image)]
    assert qr == f"{hall.platform.url}/track/{case_no}"
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "info")
    c.dismiss_notice()
    assert c.page.screen == "query_timeline"

    c.logout()
    c.dismiss_notice()
    c.start("query")
    look_up(c, case_no)
    c.act("print")
    slip = hall.printer.wait_for_slips(2, timeout=10)[1]
    text = slip_text(slip)
    assert grouped(case_no) in text and "已提交申请" in text
    assert LI.masked_number not in text and "申请已提交" not in text and c.tr("query.status_only") in text


def test_out_of_paper_the_progress_slip_waits_and_says_so(hall, item_code):
    case_no = submit(hall, item_code).case_number
    c = kiosk(hall)
    c.start("query")
    look_up(c, case_no)
    hall.printer.set_paper("out")
    run_until(c, lambda: c.device_states["printer"].get("paper") == "out")
    c.act("print")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "warning", timeout=10)
    assert c.page.message == c.tr("print.waiting_paper")
    hall.printer.set_paper("full")
    run_until(c, lambda: len(hall.printer.slips) == 1, timeout=15)
    assert grouped(case_no) in slip_text(hall.printer.slips[0])


def test_a_finished_case_offers_its_rating_once_the_rating_journey_exists(hall, item_code, platform, monkeypatch):
    case_no = submit(hall, item_code).case_number
    skip(platform, 6)  # through to 待评价
    c = kiosk(hall)
    identify(c, hall)
    c.start("query")
    run_until(c, lambda: c.page.screen == "query_mine" and not c.page.loading)
    c.act("open", case_no=case_no)
    v = c.page
    assert v.state == "待评价（准予）" and "已办完" in v.deadline and v.steps[0].label == "待评价"
    assert [s.label for s in v.steps][-1] == "已提交申请" and sum(s.current for s in v.steps) == 1
    if "rating" not in JOURNEYS:
        assert not v.can_rate
        c.act("rate")
        assert c.page.screen == "query_timeline"

    class Rating(Journey):  # stands in for the rating journey: what it is started with
        name = "rating"

        def page(self):
            return c.stack[-2].page()

    monkeypatch.setitem(JOURNEYS, "rating", Rating)
    assert c.journey._can_rate(c.journey.view)
    c.act("rate")
    assert c.journey.name == "rating" and c.journey.args == {"case_no": case_no}


def test_the_pages_follow_the_language(hall, item_code):
    case_no = submit(hall, item_code).case_number
    c = kiosk(hall)
    c.set_language("en")
    c.start("query")
    look_up(c, case_no)
    assert c.page.number == grouped(case_no) and c.page.state == "Submitted"
    assert c.page.steps[0].label == "Submitted" and c.page.deadline.startswith("Promised by")
    c.set_language("zh_TW")
    assert c.page.state == "已提交申請" and c.page.deadline.startswith("最晚辦完日期")


def test_a_second_terminal_finds_the_case_by_the_other_ones_reference(hall, item_code, platform, tmp_path):
    item = submit(hall, item_code)
    other_tid = "T-" + uuid.uuid4().hex[:8].upper()
    other = CentralClient(platform.url, retries=1, terminal_id=other_tid, secret=platform.store.add_terminal(other_tid))
    outbox = Outbox(tmp_path / "other.db", other_tid)
    hall.stack.callback(outbox.close)
    hall.outbox, mine = outbox, hall.outbox
    c = kiosk(hall, other)
    c.start("query")
    look_up(c, item.terminal_ref)
    assert c.page.screen == "query_timeline" and c.page.number == grouped(mine.by_ref(item.terminal_ref).case_number)
