"""My e-certificates (电子证照) as a citizen uses them: a sample card on the emulated reader, the
certificates from the reference platform over HTTP (signed, with a person token asked for and
revoked in each call), a proof out of the ESC/POS emulator whose QR the platform verifies."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import requests
import zxingcpp

from drivers.samv.emulator import SAMPLE_CARDS
from kiosk.journeys.certificate import CERTS_SHOWN
from kiosk.shell import Shell
from tests.conftest import REPO, own_demo_config
from tests.fault_proxy import FaultProxy
from tests.test_apply import DEAD, Hall, identify
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
CARD = SAMPLE_CARDS["li_xiaomei"]


@pytest.fixture
def hall(platform, tmp_path):
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


def kiosk(hall: Hall, url: str) -> Shell:
    """The shell of ``hall`` talking to the platform at ``url`` (signed as the hall's terminal)."""
    c = Shell(hall.cfg, hall.signed(url), hall.devices)
    hall.stack.callback(c.shutdown)
    run_until(c, lambda: c.device_states.get("id_reader", {}).get("state") == "online"
              and c.device_states.get("printer", {}).get("state") == "online")
    return c


def open_list(c: Shell, hall: Hall, card=CARD) -> None:
    identify(c, hall, card)
    c.start("certificate")
    run_until(c, lambda: c.page.screen == "certificates" and not c.page.loading)


def tokens_left(hall: Hall, settle_s: float = 2.0) -> int:
    """Person tokens of this terminal the platform still holds (each call must revoke its own).
    A call of its own may still be on its way (the person's preferences, asked at identification):
    it gets ``settle_s`` to revoke its token."""
    deadline = time.monotonic() + settle_s
    while True:
        with sqlite3.connect(hall.platform.db_path) as db:
            left = db.execute("SELECT count(*) FROM person_tokens WHERE terminal_id = ?", (hall.tid,)).fetchone()[0]
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def shown(page) -> str:
    return repr(page)


def test_without_a_card_it_asks_for_one_then_lists_the_persons_certificates(hall):
    c = kiosk(hall, hall.platform.url)
    c.start("certificate")
    assert c.journey.name == "identify"  # entry is on the personal page; started anyway, it asks first
    hall.reader.place_card(CARD)
    run_until(c, lambda: c.page.screen == "certificates" and not c.page.loading)
    page = c.page
    names = [r.name for r in page.rows]
    assert names == ["居民身份证电子证照", "社会保障卡"]  # the reference platform's demo certificates
    assert page.status == "共 2 个电子证照，点击一个查看详情或打印凭证" and not page.error
    assert page.holder == "持证人：" + CARD.masked_name
    id_row = page.rows[0]
    assert id_row.number == "证照编号：" + CARD.masked_number and id_row.issuer == "广安市公安局广安区分局"
    assert "发证日期" in id_row.dates and "有效期至" in id_row.dates and not id_row.expired
    assert "长期有效" in page.rows[1].dates
    assert CARD.id_number not in shown(page) and CARD.name not in shown(page)
    assert tokens_left(hall) == 0

    c.act("open", cert_id=id_row.cert_id)
    assert c.page.screen == "certificate" and c.page.title == "居民身份证电子证照" and c.page.can_print
    assert dict(c.page.rows)["持证人证件号码："] == CARD.masked_number
    assert CARD.id_number not in shown(c.page)
    c.back()
    assert c.page.screen == "certificates"
    c.back()
    assert c.page.screen == "personal"


def test_a_printed_proof_carries_its_code_and_a_qr_the_platform_verifies(hall):
    c = kiosk(hall, hall.platform.url)
    open_list(c, hall)
    card_row = next(r for r in c.page.rows if r.name == "社会保障卡")
    c.act("open", cert_id=card_row.cert_id)
    c.act("print")
    assert c.page.screen == "notice" and c.page.kind == "progress"
    c.act("print")  # a second tap while the proof is on its way asks for nothing more
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "info", timeout=15)
    assert c.page.title == "打印完成"
    [slip] = hall.printer.wait_for_slips(1, timeout=5)
    time.sleep(0.5)
    assert len(hall.printer.slips) == 1

    text = "".join(line.strip() for line in slip.text_lines)
    assert "证照打印凭证" in text and "社会保障卡" in text and "广安市人力资源和社会保障局" in text
    assert CARD.masked_name in text and CARD.masked_number in text
    assert CARD.id_number not in text and CARD.name not in text
    [qr] = [r.text for r in zxingcpp.read_barcodes(slip.image)]
    code = qr.rsplit("/", 1)[1]
    assert qr == f"{hall.platform.url}/api/v1/proofs/{code}" and code in text
    # Whoever is shown the proof checks it at the URL: valid, which certificate, whose (masked).
    check = requests.get(qr, timeout=5)
    assert check.status_code == 200
    assert check.json()["valid"] is True and check.json()["certificate_name"] == "社会保障卡"
    assert check.json()["holder_masked"] == CARD.masked_number
    assert tokens_left(hall) == 0

    c.dismiss_notice()
    assert c.page.screen == "certificate"


def test_expired_certificates_are_marked_and_get_no_proof(hall):
    card = SAMPLE_CARDS["deng_yuxi"]
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    with sqlite3.connect(hall.platform.db_path) as db:  # a residence permit that ran out yesterday
        db.execute("INSERT INTO certificates (cert_id, id_number, name, number, issuer, issued_at, valid_until) "
                   "VALUES (?, ?, '居住证', 'JZZ5116022019000123', '广安市公安局广安区分局', ?, ?)",
                   (f"JZZ-{hall.tid}", card.id_number, "2019-07-01T00:00:00+00:00", yesterday))
    c = kiosk(hall, hall.platform.url)
    open_list(c, hall, card)
    [expired] = [r for r in c.page.rows if r.expired]
    assert expired.name == "居住证" and [r.expired for r in c.page.rows].count(True) == 1
    c.act("open", cert_id=expired.cert_id)
    assert c.page.expired and not c.page.can_print and "已过期" in c.page.note
    c.act("print")
    assert c.page.screen == "certificate"
    time.sleep(0.5)
    assert hall.printer.slips == []


def test_an_empty_list_says_so(hall):
    card = SAMPLE_CARDS["wang_kun"]
    with sqlite3.connect(hall.platform.db_path) as db:  # a person the certificate store has nothing for
        db.execute(f"CREATE TRIGGER IF NOT EXISTS none_for_wang BEFORE INSERT ON certificates "
                   f"WHEN NEW.id_number = '{card.id_number}' BEGIN SELECT RAISE(IGNORE); END")
    c = kiosk(hall, hall.platform.url)
    open_list(c, hall, card)
    assert c.page.rows == () and c.page.status == "服务平台上还没有您的电子证照" and not c.page.error


def test_platform_down_says_so_and_offers_to_try_again(hall):
    c = kiosk(hall, DEAD)
    open_list(c, hall)
    assert c.page.error and c.page.status == "暂时无法连接服务平台，请稍后再试" and c.page.rows == ()
    c.act("retry")
    assert c.page.loading
    run_until(c, lambda: not c.page.loading)
    assert c.page.error


def test_platform_gone_before_the_proof_nothing_prints(hall):
    proxy = FaultProxy(hall.platform.url, ["pass"])
    hall.stack.callback(proxy.close)
    c = kiosk(hall, proxy.url)
    open_list(c, hall)
    c.act("open", cert_id=c.page.rows[0].cert_id)
    proxy.close()  # the list came through; now the platform cannot be reached
    c.act("print")
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "error")
    assert c.page.message == "暂时无法连接服务平台，请稍后再试"
    c.dismiss_notice()
    assert c.page.screen == "certificate"
    time.sleep(0.5)
    assert hall.printer.slips == []


@pytest.mark.parametrize("leave", ["logout", "another card"])
def test_leaving_while_the_list_is_loading_drops_it(hall, leave):
    proxy = FaultProxy(hall.platform.url, ["delay"], delay_s=0.5)
    hall.stack.callback(proxy.close)
    c = kiosk(hall, proxy.url)
    identify(c, hall)
    c.start("certificate")
    assert c.page.screen == "certificates" and c.page.loading
    if leave == "logout":
        c.logout()
    else:
        hall.reader.remove_card()
        hall.reader.place_card(SAMPLE_CARDS["wang_kun"])
        run_until(c, lambda: c.session.identity is not None and c.session.identity.name == "王堃")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # every answer is back (token, list, revoke) and applied
        c.tick()
        time.sleep(0.02)
    assert [j.name for j in c.stack] == ["home"]
    assert CARD.masked_number not in shown(c.page) and c.page.screen != "certificates"
    assert tokens_left(hall) == 0  # revoked though nobody was left to show the answer to


def test_signing_out_while_the_proof_is_coming_prints_nothing(hall):
    proxy = FaultProxy(hall.platform.url, ["delay"], delay_s=0.3)
    hall.stack.callback(proxy.close)
    c = kiosk(hall, proxy.url)
    open_list(c, hall)
    c.act("open", cert_id=c.page.rows[0].cert_id)
    c.act("print")
    c.logout()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        c.tick()
        time.sleep(0.02)
    assert hall.printer.slips == [] and c.printing.queue.jobs() == []
    assert tokens_left(hall) == 0


@pytest.mark.timeout(180)
def test_a_person_with_many_certificates_scrolls_to_the_last_on_the_real_app(display, tmp_path):
    """A business may hold hundreds of licences and results: the list on the real app makes widgets
    only for the rows in view (memory and drawing do not grow with the count), and scrolling to
    its end shows the last one, which opens like any other; and when the person goes, the rows
    Kivy keeps to reuse are blank."""
    demo = own_demo_config(tmp_path)
    out = tmp_path / "seen.json"
    r = subprocess.run([sys.executable, "-m", "tests.certificates_child", str(demo),
                        str(out), "60"], cwd=REPO, capture_output=True, text=True, timeout=150,
                       env={**os.environ, "DISPLAY": display})
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(out.read_text())
    assert seen["rows"] == 62 and seen["status"].startswith("共 62 个电子证照"), seen  # the demo's two, and 60
    assert seen["first_in_view"][0] == "居民身份证电子证照"
    assert 0 < seen["widgets"] <= 15 and seen["widgets_at_end"] <= 15, seen
    assert seen["last_in_view"][-1] == "《第 60 件》办理结果" and seen["opened"] == "《第 60 件》办理结果", seen
    # Once the person has gone, the row widgets Kivy keeps to reuse hold nothing of theirs.
    assert seen["views_kept"] > 0 and seen["texts_kept"] == [] and seen["textures_kept"] == 0, seen


def test_more_certificates_than_listed_are_counted_and_said(hall):
    card = SAMPLE_CARDS["chen_jiahao"]  # (other tests give theirs other certificates; the platform is shared)
    c = kiosk(hall, hall.platform.url)
    with sqlite3.connect(hall.platform.db_path) as db:
        db.executemany("INSERT INTO certificates (cert_id, id_number, name, number, issuer, issued_at, valid_until) "
                       "VALUES (?, ?, ?, ?, '广安市广安区行政审批局', ?, NULL)",
                       [(f"R-{hall.tid}-{i}", card.id_number, f"结果 {i}", f"GA{i:010d}",
                         f"2030-01-01T{i // 60:02d}:{i % 60:02d}:00+00:00") for i in range(140)])
    open_list(c, hall, card)
    with sqlite3.connect(hall.platform.db_path) as db:
        total = db.execute("SELECT count(*) FROM certificates WHERE id_number = ?", (card.id_number,)).fetchone()[0]
    assert 142 <= total < 200 and len(c.page.rows) == CERTS_SHOWN
    assert c.page.status == f"共 {total} 个电子证照，这里列出前 {CERTS_SHOWN} 个，其余的请到窗口查询；点击一个查看详情或打印凭证"
    # The platform pages them in the order issued: the rest come with an offset, each once.
    token = hall.client.person_token(card.id_number, card.name).token
    rest = hall.client.certificates(token, limit=100, offset=CERTS_SHOWN)
    assert rest.total == total and len(rest.items) == total - CERTS_SHOWN and rest.items[-1].name == "结果 139"
    assert not {x.cert_id for x in rest.items} & {r.cert_id for r in c.page.rows}
