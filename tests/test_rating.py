"""Rating the service (好差评) as a citizen does it: a card on the emulated reader, the case at the
reference platform over HTTP, the rating through the real SQLite outbox and sender. A case is rated
once, by its applicant or with its rating code; the hall's service by anyone."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import ExitStack

import pytest

from contract.models import EVALUATION_QUESTIONS, CaseSubmission, EvaluationSubmission
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk.central_client import CentralClient
from kiosk.journeys.rating import PHRASES, REASONS
from kiosk.outbox import Sender, send_due
from kiosk.shell import Shell
from tests.fault_proxy import FaultProxy
from tests.test_apply import CARD, DEAD, Hall, identify
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
OTHER = SAMPLE_CARDS["wang_kun"]


@pytest.fixture
def hall(platform, tmp_path):
    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


@pytest.fixture(scope="module")
def item_code(platform) -> str:
    return CentralClient(platform.url).search_guides("hunyin").items[0].item_code


def new_case(hall: Hall, item_code: str, card=CARD):
    """A case of ``card``'s holder at the platform, as another terminal's submission leaves it."""
    token = hall.client.person_token(card.id_number, card.name).token
    try:
        return hall.client.submit_case(token, CaseSubmission(item_code=item_code), uuid.uuid4().hex)
    finally:
        hall.client.revoke_person_token(token)


def stored(hall: Hall, where: str, *args) -> list[tuple]:
    """(case_no, level, flagged, comment, scores) as the platform stored them."""
    with sqlite3.connect(f"file:{hall.platform.db_path}?mode=ro", uri=True) as db:
        return db.execute(f"SELECT case_no, level, flagged, comment, scores FROM evaluations WHERE {where}",
                          args).fetchall()


def rate_case(c: Shell, case_no: str, **args) -> None:
    c.start("rating", case_no=case_no, **args)
    run_until(c, lambda: c.page.screen != "notice" or c.page.kind != "progress")


def test_the_applicant_rates_a_case_badly_with_reasons_and_the_platform_keeps_it_once(hall, item_code):
    case = new_case(hall, item_code)
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    rate_case(c, case.case_no)
    page = c.page
    assert page.screen == "rating_levels" and page.title == "您对这个办件的服务满意吗？"
    assert case.item_name in page.subject and case.case_no in page.subject
    assert [label for _n, _s, label in page.levels] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert [stars for _n, stars, _l in page.levels][0] == "★★★★★"

    c.act("choose", level=2)  # 不满意: the reasons page, nothing saved yet
    page = c.page
    assert page.screen == "rating_reasons" and page.level.endswith("不满意") and hall.outbox.items() == []
    assert page.reasons[0] == "办事效率低，等候时间长" and len(page.reasons) == len(REASONS)
    assert page.phrases[0] == "希望回访，告诉我处理结果" and page.ticked == (False,) * (len(REASONS) + len(PHRASES))
    c.back()  # a change of mind: the levels again
    assert c.page.screen == "rating_levels"
    c.act("choose", level=2)
    for index in (0, 2, len(REASONS), 2, 2):  # the attitude tick on, off, on again
        c.act("toggle", index=index)
    c.act("submit")
    c.act("submit")  # a double tap, and a touch left over from the levels page
    c.act("choose", level=5)
    [item] = hall.outbox.items()
    # The case answer's rating code stands in for the person: no ID number on disk for a rating.
    assert item.person == {"rating_code": case.rating_code}
    assert c.page.screen == "rating_thanks" and c.page.title == "感谢您的评价" and "核实" in c.page.message

    run_until(c, lambda: c.page.status == "已发送到服务平台")
    [(case_no, level, flagged, comment, scores)] = stored(hall, "case_no = ?", case.case_no)
    assert (case_no, level, flagged) == (case.case_no, 2, 1)
    assert json.loads(scores) == dict.fromkeys(EVALUATION_QUESTIONS, 2)  # one choice answers every question
    assert comment == "差评原因：办事效率低，等候时间长；服务态度不好。补充：希望回访，告诉我处理结果。"
    c.back()
    assert c.page.screen == "personal"


def test_a_second_rating_of_a_case_is_refused_plainly(hall, item_code):
    case = new_case(hall, item_code)
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    rate_case(c, case.case_no)
    c.act("choose", level=5)  # 非常满意: one touch rates; a double tap rates once
    c.act("choose", level=5)
    run_until(c, lambda: c.page.status == "已发送到服务平台")
    assert stored(hall, "case_no = ?", case.case_no)[0][1:3] == (5, 0)
    c.home()

    rate_case(c, case.case_no)  # the platform knows it is rated
    assert c.page.screen == "rating_thanks" and c.page.title == "这个办件已经评价过了"
    assert "只能评价一次" in c.page.message and not c.page.good
    assert len(hall.outbox.items()) == 1 and len(stored(hall, "case_no = ?", case.case_no)) == 1
    c.back()
    assert c.page.screen == "personal"


def test_a_rating_still_in_the_outbox_counts_and_one_made_elsewhere_meanwhile_is_told(hall, item_code):
    case = new_case(hall, item_code)
    c = hall.kiosk(DEAD)  # the platform answers the kiosk, but the sender cannot reach it
    identify(c, hall)
    rate_case(c, case.case_no)
    c.act("choose", level=4)
    c.home()
    rate_case(c, case.case_no)  # not delivered yet: the outbox knows
    assert c.page.title == "这个办件已经评价过了" and len(hall.outbox.items()) == 1
    c.home()

    other = new_case(hall, item_code)
    rate_case(c, other.case_no)
    c.act("choose", level=3)
    assert c.page.title == "感谢您的评价"
    # Meanwhile the case is rated at another terminal: at delivery the platform says already_rated.
    token = hall.client.person_token(CARD.id_number, CARD.name).token
    hall.client.evaluate(EvaluationSubmission(case_no=other.case_no, scores=dict.fromkeys(EVALUATION_QUESTIONS, 5)),
                         person_token=token)
    c.sender.stop()  # the platform is back: this pass delivers
    hall.outbox.retry_now()
    send_due(hall.outbox, hall.client)
    run_until(c, lambda: c.page.title == "这个办件已经评价过了")
    assert [row[1] for row in stored(hall, "case_no = ?", other.case_no)] == [5]  # the first rating stands


def test_the_hall_is_rated_without_a_card(hall):
    c = hall.kiosk(hall.platform.url)
    assert "rating" in [e.journey for e in c.page.entries]  # on the welcome page: no card needed
    c.start("rating")
    page = c.page
    assert page.screen == "rating_levels" and page.title == "您对本次服务满意吗？"
    assert page.subject == hall.cfg.terminal.hall
    c.act("choose", level=1)
    assert c.page.screen == "rating_reasons" and "希望回访，告诉我处理结果" not in c.page.phrases  # nobody to call
    c.act("toggle", index=len(REASONS))  # 希望尽快改进
    c.act("submit")
    [item] = hall.outbox.items()
    assert item.person is None and item.body["case_no"] is None
    run_until(c, lambda: c.page.status == "已发送到服务平台")
    assert [row[:4] for row in stored(hall, "terminal_id = ?", hall.tid)] == [(None, 1, 1, "补充：希望尽快改进。")]
    c.back()
    assert c.page.screen == "welcome"


def test_platform_down_the_rating_waits_in_the_outbox_and_arrives_later(hall, item_code):
    case = new_case(hall, item_code)
    sender = Sender(hall.outbox, hall.signed(DEAD), idle_s=0.2, base_backoff=30).start()
    c = Shell(hall.cfg, hall.signed(DEAD), hall.devices, outbox=hall.outbox, sender=sender)
    try:
        identify(c, hall)
        rate_case(c, case.case_no)  # the case cannot be looked up: rated all the same
        assert c.page.screen == "rating_levels" and case.case_no in c.page.subject
        c.act("choose", level=4)
        [item] = hall.outbox.items()
        assert item.person == {"id_number": CARD.id_number, "name": CARD.name}  # no rating code: the person
        run_until(c, lambda: c.page.status == "本机暂时连不上服务平台，联网后会自动发送。")
        assert c.page.title == "感谢您的评价" and stored(hall, "case_no = ?", case.case_no) == []

        sender.stop()
        hall.outbox.retry_now()  # the platform is back
        assert send_due(hall.outbox, hall.client)["delivered"] == 1
        run_until(c, lambda: c.page.status == "已发送到服务平台")
        assert [row[1:3] for row in stored(hall, "case_no = ?", case.case_no)] == [(4, 0)]
        assert hall.outbox.items()[0].person is None  # delivered: the person is wiped
    finally:
        sender.stop()
        c.shutdown()


def test_a_case_is_rated_by_its_applicant_or_with_its_rating_code(hall, item_code):
    case = new_case(hall, item_code)
    c = hall.kiosk(hall.platform.url)
    c.start("rating", case_no=case.case_no)  # nobody identified: the card first
    assert c.page.screen == "notice" and c.journey.name == "identify"
    c.dismiss_notice()  # given up: no rating of a case without its applicant
    assert c.page.screen == "welcome" and hall.outbox.items() == []
    c.start("rating", case_no=case.case_no)
    hall.reader.place_card(CARD)  # the applicant's card: on to the levels
    run_until(c, lambda: c.page.screen == "rating_levels")
    assert case.case_no in c.page.subject
    c.logout()
    c.dismiss_notice()

    identify(c, hall, OTHER)
    rate_case(c, case.case_no)
    assert c.page.title == "暂时不能评价这个办件" and "只有申请人本人" in c.page.message
    c.logout()
    c.dismiss_notice()

    rate_case(c, case.case_no, rating_code=case.rating_code)  # the code from the case answer: no card
    c.act("choose", level=3)
    [item] = hall.outbox.items()
    assert item.person == {"rating_code": case.rating_code}
    run_until(c, lambda: c.page.status == "已发送到服务平台")
    assert [row[1] for row in stored(hall, "case_no = ?", case.case_no)] == [3]


def test_a_case_from_an_offline_receipt_is_rated_once_it_has_its_number(hall, item_code):
    c = hall.kiosk(DEAD)
    identify(c, hall)
    ref = hall.outbox.enqueue_case(CaseSubmission(item_code=item_code), CARD.id_number, CARD.name).terminal_ref
    rate_case(c, ref)
    assert c.page.title == "暂时不能评价这个办件" and "办件编号" in c.page.message
    c.home()
    c.sender.stop()
    hall.outbox.retry_now()
    send_due(hall.outbox, hall.client)
    number = hall.outbox.by_ref(ref).case_number
    rate_case(c, ref)
    assert c.page.screen == "rating_levels" and number in c.page.subject


def test_signing_out_mid_journey_keeps_nothing_on_screen(hall, item_code):
    case = new_case(hall, item_code)
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    rate_case(c, case.case_no)
    c.act("choose", level=1)
    c.act("toggle", index=0)
    c.logout()
    assert c.page.screen == "notice" and len(c.stack) == 1 and c.session.identity is None
    assert case.case_no not in str(c.page) and "李" not in str(c.stack[0].page())
    assert hall.outbox.items() == []  # not submitted: nothing was rated

    # The case answer comes after the citizen has gone: it is dropped, not shown to the next one.
    theirs = new_case(hall, item_code, OTHER)
    with FaultProxy(hall.platform.url, ["delay"], delay_s=0.6) as proxy:
        c.central = hall.signed(proxy.url)
        identify(c, hall, OTHER)
        c.start("rating", case_no=theirs.case_no)
        assert c.page.kind == "progress"
        c.logout()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            c.tick()
            time.sleep(0.05)
    assert c.page.screen == "notice" and c.page.title == "已退出" and len(c.stack) == 1
