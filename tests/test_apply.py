"""Applying for a service (申报) as a citizen does it: a card on the emulated reader, the guide from
the reference platform over HTTP, the case through the real SQLite outbox and sender, the receipt
out of the ESC/POS emulator. Online the receipt carries the platform's case number; offline the
terminal reference, and the case reaches the platform exactly once when it is back."""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack

import pytest
import requests
import zxingcpp

from central.platform import PlatformStore
from central.server import BackgroundServer
from devices.manager import DeviceManager
from drivers.escpos.emulator import VirtualPrinter
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator
from kiosk import config, print_cli
from kiosk.central_client import CentralClient
from kiosk.outbox import Outbox, Sender, send_due
from kiosk.session import Session
from kiosk.shell import Shell
from tests.conftest import REPO
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
CARD = SAMPLE_CARDS["li_xiaomei"]
DEAD = "http://127.0.0.1:9"  # nothing listens there: the platform is unreachable


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with BackgroundServer(tmp_path_factory.mktemp("central") / "central.db") as server:
        server.store = PlatformStore(server.db_path)
        yield server


@pytest.fixture(scope="module")
def guides(platform):
    """(a guide with its materials, a catalogue-only guide)"""
    client = CentralClient(platform.url)
    return (client.search_guides("hunyin").items[0].item_code,  # 中国内地公民婚姻登记, four materials
            next(g.item_code for g in client.search_guides("hukou").items if not g.detail_complete))


class Hall:
    """One terminal: its own id and secret at the platform, card reader, printer, outbox, sender."""

    def __init__(self, platform, tmp_path, stack: ExitStack):
        self.platform = platform
        self.tid = "T-" + uuid.uuid4().hex[:8].upper()
        self.secret = platform.store.add_terminal(self.tid)
        self.stack = stack
        self.cfg = config.load(REPO / "config" / "demo.toml")
        self.cfg.paths.var = str(tmp_path)
        self.cfg.terminal.id = self.tid
        self.reader = stack.enter_context(SamEmulator())
        self.printer = stack.enter_context(VirtualPrinter())
        self.devices = DeviceManager({
            "id_reader": {"driver": "sam-serial", "port": self.reader.port, "poll_interval_ms": 100},
            "printer": {"driver": "escpos", "connection": "serial", "port": self.printer.port},
        })
        self.devices.start()
        stack.callback(self.devices.stop)
        self.outbox = Outbox(tmp_path / "outbox.db", self.tid)
        stack.callback(self.outbox.close)
        self.client = self.signed(platform.url)

    def signed(self, url: str) -> CentralClient:
        return CentralClient(url, retries=1, terminal_id=self.tid, secret=self.secret)

    def kiosk(self, sender_url: str, case_wait_s: float = 3.0, session: Session | None = None,
              monotonic=time.monotonic) -> Shell:
        """The shell; guides come from the platform, cases go through a sender at ``sender_url``."""
        sender = Sender(self.outbox, self.signed(sender_url), idle_s=0.2).start()
        self.stack.callback(sender.stop)
        c = Shell(self.cfg, self.client, self.devices, outbox=self.outbox, sender=sender,
                  case_wait_s=case_wait_s, session=session, monotonic=monotonic)
        self.stack.callback(c.shutdown)
        run_until(c, lambda: c.device_states.get("id_reader", {}).get("state") == "online"
                  and c.device_states.get("printer", {}).get("state") == "online")
        return c

    def cases(self, card=CARD) -> list:
        token = self.client.person_token(card.id_number, card.name).token
        return [case for case in self.client.my_cases(token).items if case.terminal_id == self.tid]


@pytest.fixture
def hall(platform, tmp_path):
    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


def identify(c: Shell, hall: Hall, card=CARD) -> None:
    hall.reader.place_card(card)
    run_until(c, lambda: c.session.identity is not None and c.page.screen in ("personal", "apply"))


def open_guide(c: Shell, code: str) -> None:
    """From the guide list, or (identified, on the personal page) straight at a guide."""
    if c.journey.name == "guide":
        c.act("open", code=code)
    else:
        c.start("guide", code=code)
    run_until(c, lambda: c.page.screen == "guide" and getattr(c.journey.guide, "item_code", "") == code)


def receipt_text(slip) -> str:
    return slip.raw.decode("gb18030", "replace")


def test_online_the_receipt_carries_the_platforms_case_number(hall, guides):
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    open_guide(c, guides[0])
    assert c.page.can_apply
    c.act("apply")
    v = c.page
    assert c.page.screen == "apply" and v.applicant == "申请人：李**"
    assert v.number == "证件号码：" + CARD.masked_number and CARD.id_number not in str(v)
    guide = c.journey.guide
    assert v.ticked == tuple(m.required == "必要" for m in guide.materials)  # required ones pre-ticked
    optional = v.ticked.index(False)
    c.act("toggle", index=optional)
    assert all(c.page.ticked)

    c.act("confirm")
    # Committed before anything prints or says "submitted".
    [item] = hall.outbox.items()
    assert item.body["materials"] == [m.name for m in guide.materials]
    assert hall.printer.slips == [] and c.page.kind == "progress"
    # The UI looks for news every frame and ticks only then: the delivered case is news, so the
    # number shows in the frame after it came, not at the next 0.1 s tick.
    deadline = time.monotonic() + 5
    while c.page.screen != "done":
        assert time.monotonic() < deadline, "the delivered case never came as news"
        if c.news():
            c.tick()
        time.sleep(0.005)
    number = hall.outbox.by_ref(item.terminal_ref).case_number
    assert not c.page.provisional and number.startswith("GA") and len(number) == 18
    # Grouped to be read out or noted (GA2026 1130 ED85 ECDB), on screen and on paper.
    assert c.page.number == " ".join((number[:6], number[6:10], number[10:14], number[14:]))

    slip = hall.printer.wait_for_slips(1, timeout=5)[0]
    raw = receipt_text(slip)
    assert "办件回执" in raw and c.page.number in raw and "办件编号（终端）" not in raw
    assert CARD.masked_number in raw and CARD.id_number not in raw and CARD.name not in raw
    [qr] = [r.text for r in zxingcpp.read_barcodes(slip.image)]
    assert qr == f"{hall.platform.url}/track/{number}"
    run_until(c, lambda: getattr(c.page, "receipt", None) == "请从出纸口取走回执，妥善保管")
    # What the citizen's phone opens from the QR: no login, the item and its state, no person.
    page = requests.get(qr, timeout=5)
    assert page.status_code == 200 and guide.name in page.text and 'data-state="submitted"' in page.text
    assert CARD.masked_number not in page.text and CARD.masked_name not in page.text

    [case] = hall.cases()
    assert (case.case_no, case.item_code, case.terminal_ref) == (number, guide.item_code, item.terminal_ref)
    c.home()
    assert c.page.screen == "personal"


def test_offline_the_receipt_carries_the_terminal_reference_and_the_case_follows(hall, guides):
    c = hall.kiosk(DEAD, case_wait_s=0.5)
    identify(c, hall)
    open_guide(c, guides[0])
    c.act("apply")
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "done", timeout=5)
    [item] = hall.outbox.items()
    ref = item.terminal_ref
    assert c.page.provisional and c.page.number == ref and item.state == "pending"
    assert c.page.number_label == "办件编号（终端）" and "联网后" in c.page.follows

    slip = hall.printer.wait_for_slips(1, timeout=5)[0]
    text = "".join(line.strip() for line in slip.text_lines)
    assert "办件编号（终端）：" in text and ref in text
    assert "联网后会自动提交并生成正式办件编号" in text and "可凭上面的编号查询办理进度" in text
    [qr] = [r.text for r in zxingcpp.read_barcodes(slip.image)]
    assert qr == f"{hall.platform.url}/track/{ref}"
    assert hall.cases() == []
    missing = requests.get(qr, timeout=5)
    assert missing.status_code == 404 and "终端联网后即可查询" in missing.text

    # The platform is reachable again: the outbox delivers the case once, findable by the reference.
    hall.outbox.retry_now()
    assert send_due(hall.outbox, hall.client)["delivered"] == 1
    assert send_due(hall.outbox, hall.client)["delivered"] == 0
    [case] = hall.cases()
    assert case.terminal_ref == ref and hall.client.get_case(ref).case_no == case.case_no
    assert hall.outbox.by_ref(ref).case_number == case.case_no
    page = requests.get(qr, timeout=5)
    assert page.status_code == 200 and case.case_no in page.text and case.item_name in page.text


def test_a_double_tap_on_submit_makes_one_case_and_one_receipt(hall, guides):
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    open_guide(c, guides[0])
    c.act("apply")
    c.act("confirm")
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "done", timeout=5)
    c.act("confirm")
    hall.printer.wait_for_slips(1, timeout=5)
    time.sleep(0.3)
    c.tick()
    assert len(hall.outbox.items()) == 1 and len(hall.printer.slips) == 1 and len(hall.cases()) == 1
    c.back()  # no way back to the confirm page of a submitted case
    assert c.page.screen == "personal"


def test_not_identified_the_apply_button_asks_for_the_card_then_goes_on(hall, guides):
    c = hall.kiosk(hall.platform.url)
    c.start("guide")
    run_until(c, lambda: not getattr(c.page, "loading", None))
    open_guide(c, guides[1])
    assert not c.page.can_apply  # catalogue-only: "ask at the window" instead
    c.act("apply")
    assert c.page.screen == "guide"
    open_guide(c, guides[0])
    c.act("apply")
    assert c.page.screen == "notice" and c.page.title == "请先放身份证"
    assert "请把身份证放在读卡处" in c.page.message and hall.outbox.items() == []
    c.dismiss_notice()  # "OK": back on the guide; the card still leads on to applying
    assert c.page.screen == "guide"
    identify(c, hall)
    assert c.page.screen == "apply" and c.journey.guide.item_code == guides[0]
    assert c.page.applicant == "申请人：李**"
    c.back()
    assert c.page.screen == "guide"
    c.back()
    c.back()
    assert c.page.screen == "personal"  # not the welcome page: the citizen is identified now


def test_a_card_after_leaving_the_guide_opens_the_personal_page(hall, guides):
    c = hall.kiosk(hall.platform.url)
    c.start("guide")
    open_guide(c, guides[0])
    c.act("apply")
    c.dismiss_notice()
    c.back()
    identify(c, hall)
    assert c.page.screen == "personal"


@pytest.mark.parametrize("how", ["logout", "idle"])
def test_leaving_during_the_wait_keeps_the_case_and_the_receipt_for_staff(hall, guides, how, capsys):
    now = [0.0]
    session = Session(idle_timeout_s=60, warning_s=20, clock=lambda: now[0])
    c = hall.kiosk(DEAD, case_wait_s=30, session=session)
    identify(c, hall)
    open_guide(c, guides[0])
    c.act("apply")
    c.act("confirm")
    assert c.page.kind == "progress"
    if how == "logout":
        c.logout()
    else:
        now[0] = 61
        c.tick()
    assert not c.session.active and c.session.identity is None and len(c.stack) == 1
    assert c.page.screen == "notice" and "李" not in str(c.page) and "李" not in str(c.stack[0].page())
    [item] = hall.outbox.items()
    # The person has gone before their receipt: it never comes out for whoever stands here next.
    assert hall.outbox.receipt(item.terminal_ref)[1] == "kept"
    delivered = 0
    for _ in range(3):  # a loaded CI machine may time a request out: it is then simply sent again
        hall.outbox.retry_now()
        delivered += send_due(hall.outbox, hall.client)["delivered"]
        if delivered:
            break
    assert delivered == 1
    for _ in range(10):
        c.tick()
        time.sleep(0.05)
    assert len(hall.cases()) == 1 and len(hall.outbox.items()) == 1 and hall.printer.slips == []
    assert c.page.screen == "notice"  # no done page for a person who has gone
    # Staff see it and print it (the first copy: nothing came out before) for the citizen who asks.
    assert print_cli.pending(hall.cfg, as_json=False) == 0
    assert item.terminal_ref in capsys.readouterr().out
    assert print_cli.reprint_receipt(hall.cfg, item.terminal_ref, send=False) == 0
    run_until(c, lambda: len(hall.printer.slips) == 1)
    raw = receipt_text(hall.printer.slips[0])
    assert "补打" not in raw and CARD.id_number not in raw


def test_paper_out_the_case_is_kept_and_the_receipt_prints_after_refill(hall, guides):
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    open_guide(c, guides[0])
    hall.printer.set_paper("out")
    run_until(c, lambda: c.device_states["printer"].get("paper") == "out")
    c.act("apply")
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "warning", timeout=10)
    assert c.page.message == c.tr("print.waiting_paper")
    assert len(hall.cases()) == 1  # the case is in whatever the paper does
    c.dismiss_notice()
    assert c.page.screen == "done" and c.page.receipt == c.tr("print.waiting_paper")
    hall.printer.set_paper("full")
    run_until(c, lambda: len(hall.printer.slips) == 1 and getattr(c.page, "receipt", None) == c.tr("done.take_receipt"),
              timeout=15)
    assert c.page.screen == "done" and c.page.number in receipt_text(hall.printer.slips[0])


def test_the_pages_follow_the_language(hall, guides):
    c = hall.kiosk(DEAD, case_wait_s=0.2)
    identify(c, hall)
    open_guide(c, guides[0])
    c.act("apply")
    c.act("toggle", index=0)  # a required material: unticking it asks first
    c.set_language("en")
    assert c.page.screen == "question" and "bring it to the counter" in c.page.message
    c.act("answer", yes=True)
    assert c.page.screen == "apply" and c.page.applicant == "Applicant: 李**"
    assert c.page.ticked[0] is False  # the ticks survive the language switch
    assert c.page.materials[0].endswith("(to bring to the counter)")
    c.act("confirm")
    run_until(c, lambda: c.page.screen == "done", timeout=5)
    assert c.page.number_label == "Terminal reference"
    slip = hall.printer.wait_for_slips(1, timeout=5)[0]
    assert "Terminal ref.:" in "".join(slip.text_lines)
    c.set_language("zh_TW")
    assert c.page.number_label == "辦件編號（終端）" and "工作人員" in c.page.next_steps
