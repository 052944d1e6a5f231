"""What a scanned code does at the kiosk, as a citizen meets it: the reference platform over HTTP,
the emulated reader and printer, codes arriving as the scanner driver reports them (the scanners
themselves are tested on their emulators in test_serialscan, test_hidscan and test_camera).

- a citizen code from the province app identifies the person once the platform has verified it;
  expired, forged or unverifiable codes say so plainly, and the code is never logged;
- a guide slip's QR (portal link or bare item code) opens that guide, a receipt's QR or a window
  slip's case-number barcode opens the case query;
- anything else says "this code cannot be used here" in the person's language, and nothing in a
  code reaches a screen or a log unescaped.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from contextlib import ExitStack

import pytest
import zxingcpp

from contract import auth
from devices.events import CodeScanned
from devices.manager import DeviceManager
from drivers.samv.emulator import SAMPLE_CARDS
from drivers.serialscan.emulator import SerialScannerEmulator
from kiosk import receipts, slips
from kiosk.central_client import CentralClient
from kiosk.scanned import meaning
from kiosk.shell import Shell
from tests.conftest import KIOSK
from tests.test_apply import Hall, identify
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
PERSON = SAMPLE_CARDS["wang_kun"]
TRACK = "https://zwfw.example.gov.cn/track/{number}"
ITEM = "511A0138000000-511602000000-000-115113010833722043-1-00"


@pytest.fixture
def hall(platform, tmp_path):
    with ExitStack() as stack:
        yield Hall(platform, tmp_path, stack)


def scan(c, text: str | None = None, data: bytes | None = None) -> None:
    data = text.encode() if data is None else data
    c.on_device_event(CodeScanned(device="scanner", data=data, text=text or ""))


def citizen_code(card=PERSON, ttl_s: int = 120, key: str = auth.DEMO_CITIZEN_CODE_KEY) -> str:
    return auth.make_citizen_code(card.id_number, card.name, ttl_s=ttl_s, key=key)


# -- what a code means ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, kind, value", [
    (TRACK.replace("{number}", "GA20270101AB12CD34"), "case", "GA20270101AB12CD34"),
    (TRACK.replace("{number}", "T-77-20270101-0042"), "case", "T-77-20270101-0042"),
    ("  ga20270101ab12cd34 ", "case", "GA20270101AB12CD34"),  # a window slip's barcode, any case
    ("4006381333931", "unusable", ""),  # a product's EAN-13
    ("123456789013", "case", "123456789013"),  # 12 digits but not a valid UPC: a number
    (f"HTTPS://portal.example.cn/detail?taskType=1&ItemCode={ITEM.lower()}", "guide", ITEM),
    (f"https://portal.example.cn/detail?itemCode={ITEM}&itemCode=X-Y-Z", "unusable", ""),  # ambiguous
    (f"ftp://portal.example.cn/detail?itemCode={ITEM}", "unusable", ""),
    ("https://portal.example.cn/", "unusable", ""),
    ("62052400MZ-XK-0001-620524-000-1", "guide", "62052400MZ-XK-0001-620524-000-1"),
    ("GAC1.eyJ4Ijox.sig", "citizen", "GAC1.eyJ4Ijox.sig"),
    ("WIFI:S:hall;T:WPA;P:secret;;", "unusable", ""),
    ("办理婚姻登记", "unusable", ""),
    ("GA2027\x1b[2J0101", "unusable", ""),
    ("GA" + "0" * 60, "unusable", ""),  # longer than any case number
    ("", "unusable", ""),
])
def test_what_a_code_means(text, kind, value):
    found = meaning(text, TRACK, "GAC1.", lambda code: None)
    assert (found.kind, found.value) == (kind, value)


def test_a_bare_item_code_is_a_guide_only_when_the_catalogue_knows_it():
    short = "XK-00001-001"  # a provincial scheme's code: three parts
    assert meaning(short, TRACK, "GAC1.", lambda code: code == short).kind == "guide"
    assert meaning(short, TRACK, "GAC1.", lambda code: False).kind == "case"
    assert meaning(ITEM, TRACK, "GAC1.", lambda code: False).kind == "unusable"  # too long for a case number
    assert meaning("GAC1.x.y", TRACK, "", lambda code: None).kind != "citizen"  # not taken here


# -- citizen codes ----------------------------------------------------------------------------------
def test_a_citizen_code_identifies_the_person_like_an_id_card(hall, caplog):
    caplog.set_level(logging.DEBUG)
    c = hall.kiosk(hall.platform.url)
    code = citizen_code()
    scan(c, code)
    assert c.page.screen == "notice" and c.page.kind == "progress"
    run_until(c, lambda: c.page.screen == "personal")
    assert c.session.identity.id_number == PERSON.id_number
    assert c.session.identity.card_type.value == "citizen_code"
    shown = repr(c.page)
    assert PERSON.masked_name in shown and PERSON.id_number not in shown and PERSON.name not in shown
    payload = code.split(".")[1]
    assert code not in caplog.text and payload not in caplog.text and PERSON.id_number not in caplog.text
    # No card to take away: signing out ends it, and nothing of theirs stays.
    c.logout()
    assert c.session.identity is None and PERSON.masked_name not in repr(c.page)


def test_a_citizen_code_answers_a_journey_waiting_for_the_card(hall):
    c = hall.kiosk(hall.platform.url)
    c.start("query")
    c.act("mine")  # my cases: the card, please
    assert c.journey.name == "identify"
    scan(c, citizen_code())
    run_until(c, lambda: c.journey.name == "query" and c.page.screen == "query_mine" and not c.page.loading)
    assert c.session.identity.id_number == PERSON.id_number


def test_another_persons_code_begins_their_session_the_same_persons_goes_on(hall):
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)  # 李小梅's ID card
    first = c.session.identity
    scan(c, citizen_code(SAMPLE_CARDS["li_xiaomei"]))
    run_until(c, lambda: c.notice is None)
    assert c.session.identity is first  # the same person: nothing changes
    scan(c, citizen_code(PERSON))
    run_until(c, lambda: c.session.identity is not None and c.session.identity.id_number == PERSON.id_number)
    assert c.page.screen == "personal"


@pytest.mark.parametrize("code, says", [
    (lambda: citizen_code(ttl_s=-5), "过期"),
    (lambda: citizen_code(key="somebody-elses-key"), "不是有效的电子证照码"),
])
def test_a_refused_citizen_code_says_why_and_identifies_nobody(hall, code, says):
    c = hall.kiosk(hall.platform.url)
    scan(c, code())
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "warning")
    assert says in c.page.message and c.session.identity is None
    c.dismiss_notice()
    assert c.page.screen == "welcome"


def test_an_unreachable_platform_cannot_verify_and_says_so_in_english(hall):
    c = hall.kiosk(hall.platform.url)
    c.central = CentralClient("http://127.0.0.1:9", retries=0)  # nothing listens there
    c.set_language("en")
    scan(c, citizen_code())
    run_until(c, lambda: c.page.screen == "notice" and c.page.kind == "warning")
    assert "cannot be reached" in c.page.message and c.session.identity is None


def test_an_answer_for_a_person_who_has_gone_is_dropped(hall):
    c = hall.kiosk(hall.platform.url)
    scan(c, citizen_code())
    c.end_session("walked away")  # before the platform answered
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        c.tick()
        time.sleep(0.02)
    assert c.session.identity is None and c.page.screen != "personal"


# -- guides, receipts, and codes that mean nothing here ----------------------------------------------
def test_a_guide_slips_qr_opens_that_guide_on_another_kiosk(hall):
    c = hall.kiosk(hall.platform.url)
    guide = hall.client.get_guide(ITEM)
    slip = slips.guide_slip(guide, c.tr, "hall", "T-1", c.now())
    [qr] = [e for e in slip.elements if type(e).__name__ == "QRCode"]
    scan(c, qr.data)
    run_until(c, lambda: c.page.screen == "guide" and c.journey.guide is not None)
    assert c.journey.guide.item_code == ITEM
    c.back()
    assert c.page.screen == "welcome"  # opened straight at the guide: back leaves it
    no_link = guide.model_copy(update={"link": ""})
    [qr] = [e for e in slips.guide_slip(no_link, c.tr, "hall", "T-1", c.now()).elements
            if type(e).__name__ == "QRCode"]
    assert qr.data == ITEM
    scan(c, qr.data)
    run_until(c, lambda: c.page.screen == "guide" and c.journey.guide is not None)


def test_a_receipt_held_to_the_scanner_opens_its_case_once(hall):
    c = hall.kiosk(hall.platform.url)
    qr = receipts.track_url(hall.cfg, hall.client).replace("{number}", "GA20261130ED85ECDB")
    for _ in range(3):  # held over the scanner, it is read again and again
        scan(c, qr)
    assert [j.name for j in c.stack] == ["home", "query"]


def test_a_code_that_means_nothing_here_says_so_and_keeps_the_page(hall, caplog):
    caplog.set_level(logging.INFO)
    c = hall.kiosk(hall.platform.url)
    c.start("guide")
    run_until(c, lambda: c.page.screen == "guides")
    c.set_language("zh_TW")
    hostile = "https://evil.example/\x1b]0;pwned\x07?q=1"
    scan(c, hostile)
    assert c.page.screen == "notice" and c.page.title == "這個二維碼在這裡用不了"
    assert "\x1b" not in caplog.text and "pwned" not in repr(c.page)
    c.dismiss_notice()
    assert c.page.screen == "guides"
    scan(c, None, data=bytes(range(256)))  # binary: no text at all
    assert c.page.screen == "notice"


def test_the_guide_slip_qr_decodes_to_what_the_kiosk_reads(hall):
    """The printed slip, rendered by the virtual printer and decoded from its picture, round-trips."""
    c = hall.kiosk(hall.platform.url)
    identify(c, hall)
    c.start("guide", code=ITEM)
    run_until(c, lambda: c.page.screen == "guide" and c.journey.guide is not None)
    c.act("print")
    run_until(c, lambda: len(hall.printer.slips) == 1)
    [slip] = hall.printer.slips
    found = [r.text for r in zxingcpp.read_barcodes(slip.image)]
    assert any(meaning(t, TRACK, "GAC1.", lambda code: None).value == ITEM for t in found), found


# -- through a real scanner: the serial scanner's emulator on a pty -------------------------------------
@pytest.fixture
def scanner():
    with SerialScannerEmulator() as emulator:
        yield emulator


def test_a_citizen_code_held_to_the_serial_scanner_signs_the_person_in(hall, scanner):
    devices = DeviceManager({"scanner": {"driver": "serial-scanner", "port": scanner.port}})
    c = Shell(hall.cfg, hall.client, devices)
    hall.stack.callback(c.shutdown)
    hall.stack.callback(devices.stop)
    run_until(c, lambda: c.device_states.get("scanner", {}).get("state") == "online")
    assert "电子证照码" in c.page.prompt_sub  # the welcome page says a code works too
    scanner.scan(citizen_code().encode())
    run_until(c, lambda: c.page.screen == "personal")
    assert c.session.identity.id_number == PERSON.id_number


def test_kiosk_devices_scan_masks_citizen_codes_and_says_what_each_code_is(tmp_path, kiosk_env, scanner):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[central]\nurl = "https://platform.example"\n'
                   f'[devices.scanner]\ndriver = "serial-scanner"\nport = "{scanner.port}"\n'
                   '[devices.reader]\ndriver = "sam-serial"\nport = "/dev/null-reader"\n')
    code = citizen_code()
    proc = subprocess.Popen([KIOSK, "devices", "--config", str(cfg), "scan", "--duration", "6", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kiosk_env)
    try:
        assert "scanner: online" in _line_with(proc.stderr, "scanner: ")  # the port is open: scan now
        for payload in (code, "https://platform.example/track/GA20270101AB12CD34", "4006381333931"):
            scanner.scan(payload.encode())
        rows = [json.loads(proc.stdout.readline()) for _ in range(3)]
    finally:
        proc.kill()
        proc.wait()
    assert [r["meaning"].split()[0] for r in rows] == ["citizen", "case", "unusable"]
    assert rows[1]["meaning"] == "case GA20270101AB12CD34"
    assert code not in json.dumps(rows) and code.split(".")[1] not in json.dumps(rows)
    assert rows[0]["text"].startswith("GAC1.…") and rows[0]["data"] == ""


def _line_with(stream, text: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = stream.readline()
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r}")
