"""Every slip the kiosk prints, through the real driver into the virtual printer over a real pty:
the exact Chinese text comes back out of the emulator, the QR decodes, personal data is masked."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest
import zxingcpp

from devices.identity import mask_number
from devices.printdoc import QRCode, from_json, to_json
from drivers.escpos import encoder
from drivers.escpos.driver import EscposPrinter
from drivers.escpos.emulator import VirtualPrinter
from kiosk import print_cli, slips
from kiosk.i18n import Translator
from tests.conftest import KIOSK

pytestmark = pytest.mark.timeout(30)
REVIEW = Path("/tmp/slips-review")
RARE = "\U00020BB7"
tr = Translator("zh_CN")


def print_through_emulator(doc, width: int, **opts):
    with VirtualPrinter(width=width) as vp:
        p = EscposPrinter("p", EscposPrinter.Options(port=vp.port, width=width, status_timeout_ms=300, **opts),
                          lambda e: None)
        p.open()
        try:
            p.print_document(doc, f"t-{doc.kind}")
            slip = vp.wait_for_slips(1, timeout=5)[0]
        finally:
            p.close()
        assert vp.unknown_commands == [] and vp.error is None
    return slip


def kv(key: str, value: str) -> str:
    """Key left, value right on one 48-column line."""
    return key + " " * (48 - encoder.text_cols(key) - encoder.text_cols(value)) + value


def joined(slip) -> str:
    return "".join(line.strip() for line in slip.text_lines)


@pytest.mark.parametrize("width", [80, 58])
@pytest.mark.parametrize("kind", ["receipt", "certificate", "ticket", "guide"])
def test_every_slip_prints_its_exact_text_and_a_readable_qr(kind, width):
    doc = print_cli.sample_document(kind, tr)
    slip = print_through_emulator(doc, width)
    REVIEW.mkdir(parents=True, exist_ok=True)
    slip.image.save(REVIEW / f"{kind}-{width}mm.png")

    cols = encoder.columns(encoder.dots_for_width(width))
    assert all(encoder.text_cols(line) <= cols for line in slip.text_lines)
    assert not any("?" in line or "\ufffd" in line for line in slip.text_lines)
    # Every line of the document that the printer can print as text comes back exactly (wrapping
    # only moves line ends); lines with a rare character came as raster instead.
    text = joined(slip)
    for line in doc.text_lines():
        if not any(encoder.needs_raster(c) for c in line):
            assert line.replace(" ", "") in text.replace(" ", ""), line
    qrs = [e.data for e in doc.elements if isinstance(e, QRCode)]
    assert [r.text for r in zxingcpp.read_barcodes(slip.image)] == qrs
    assert slip.raw.count(b"\x1c&") == 1  # Chinese mode, once


def test_receipt_content_is_what_the_citizen_needs_and_masked():
    case = print_cli.SAMPLE_CASE
    slip = print_through_emulator(print_cli.sample_document("receipt", tr), 80)
    lines = slip.text_lines
    text = joined(slip)
    assert lines[1] == "办件回执"
    assert kv("办件编号：", "SL5201 0220 2406 1200 0123 01") in lines  # grouped to be read out
    assert kv("证件号码：", mask_number(case.applicant_id)) == "证件号码：" + " " * 20 + "520102********1234"
    assert kv("证件号码：", mask_number(case.applicant_id)) in lines
    assert case.applicant_id not in slip.raw.decode("gb18030", "replace")
    assert "祥云" not in text  # the given name is masked
    for m in case.materials + case.to_counter:
        assert m in text
    assert case.next_steps in text
    assert "扫码查询办理进度" in lines
    # The rare surname went as a raster line, never as the 4-byte code or '?'.
    assert RARE.encode("gb18030") not in slip.raw
    assert "raster" in slip.row_kinds()
    assert not any(line.startswith("申请人：") for line in lines)  # that line is the image


@pytest.mark.parametrize("width", [80, 58])
def test_offline_receipt_names_the_terminal_reference_and_that_the_number_follows(width):
    ref = "KIOSK-0001-20240612-0001"
    case = dataclasses.replace(print_cli.SAMPLE_CASE, case_number=ref, provisional=True,
                               query_url="http://127.0.0.1:8700/api/v1/cases/" + ref)
    slip = print_through_emulator(slips.case_receipt(case, tr, "大厅", "KIOSK-0001", print_cli.SAMPLE_TIME), width)
    cols = encoder.columns(encoder.dots_for_width(width))
    assert all(encoder.text_cols(line) <= cols for line in slip.text_lines)
    text = joined(slip)
    assert "办件编号（终端）：" + ref in text.replace(" ", "") and "办件编号：" not in text
    assert "联网后会自动提交并生成正式办件编号" in text
    assert [r.text for r in zxingcpp.read_barcodes(slip.image)] == [case.query_url]


def test_receipt_lists_materials_as_ticked_and_to_bring_never_as_received():
    case = dataclasses.replace(print_cli.SAMPLE_CASE, case_number="GA20261130ED85ECDB",
                               materials=("居民户口簿",), to_counter=("近期半身免冠合影照片",))
    slip = print_through_emulator(slips.case_receipt(case, tr, "大厅", "KIOSK-0001", print_cli.SAMPLE_TIME), 80)
    text = joined(slip)
    assert "已收" not in text  # the kiosk received nothing
    ticked, to_counter = text.index("申请时勾选的材料："), text.index("需到窗口提交的材料：")
    assert ticked < text.index("1. 居民户口簿") < to_counter < text.index("1. 近期半身免冠合影照片")
    assert kv("办件编号：", "GA2026 1130 ED85 ECDB") in slip.text_lines
    nothing_to_bring = joined(print_through_emulator(
        slips.case_receipt(dataclasses.replace(case, to_counter=()), tr, "大厅", "K", print_cli.SAMPLE_TIME), 80))
    assert "需到窗口提交" not in nothing_to_bring and "申请时勾选的材料：" in nothing_to_bring


def test_receipt_promises_a_terminal_lookup_only_where_there_is_one():
    for terminal, says in ((False, False), (True, True)):
        case = dataclasses.replace(print_cli.SAMPLE_CASE, terminal_query=terminal)
        text = joined(print_through_emulator(slips.case_receipt(case, tr, "大厅", "K", print_cli.SAMPLE_TIME), 80))
        assert ("自助终端" in text) is says, text


def test_case_numbers_are_grouped_six_then_fours():
    assert slips.group_number("GA20261130ED85ECDB") == "GA2026 1130 ED85 ECDB"
    assert slips.group_number("DEMO-0001-20261122-0001") == "DEMO-0001-20261122-0001"  # a terminal reference
    assert slips.group_number("GA2026") == "GA2026"


def test_rare_name_is_drawn_not_replaced():
    slip = print_through_emulator(print_cli.sample_document("receipt", tr), 58)
    i = next(i for i, r in enumerate(slip.rows) if r.kind == "raster")
    row = slip.rows[i]
    band = slip.image.crop((0, row.top, 384, row.top + row.height))
    assert band.getextrema()[0] == 0  # ink: the glyph is there
    assert row.width <= 12 * 12  # "申请人：𠮷**" is 12 columns


def test_certificate_shows_the_verification_code_large():
    cert = print_cli.SAMPLE_CERTIFICATE
    slip = print_through_emulator(print_cli.sample_document("certificate", tr), 80)
    lines = slip.text_lines
    assert cert.verification_code in lines
    assert kv("证照编号：", cert.certificate_number) in lines
    assert kv("持证人：", "王*") in lines and "䶮" not in joined(slip)
    qr = next(r for r in slip.rows if r.kind == "qr")
    assert qr.text == cert.verify_url


def test_ticket_number_is_big():
    slip = print_through_emulator(print_cli.sample_document("ticket", tr), 58)
    row = next(r for r in slip.rows if r.kind == "text" and r.text == "A023")
    assert row.height >= 4 * 24
    assert "前面还有 5 人等候" in slip.text_lines


def test_all_raster_printer_still_decodes_the_qr():
    doc = print_cli.sample_document("receipt", tr)
    slip = print_through_emulator(doc, 80, cjk_text=False, native_qr=False)
    assert b"\x1d(k" not in slip.raw
    assert [r.text for r in zxingcpp.read_barcodes(slip.image)] == [print_cli.SAMPLE_CASE.query_url]


@pytest.mark.parametrize("kind", ["receipt", "certificate", "ticket", "guide"])
def test_document_json_round_trip(kind):
    doc = print_cli.sample_document(kind, tr)
    assert from_json(json.loads(json.dumps(to_json(doc)))) == doc


def test_cli_writes_the_exact_printer_bytes(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text("[terminal]\nid = 'T-1'\nhall = '测试大厅'\n", encoding="utf-8")
    out = tmp_path / "r.bin"
    r = subprocess.run([KIOSK, "print", "--config", str(cfg), "sample", "receipt", "--width", "58",
                        "--to", str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"\x1b@\x1c&") and data.endswith(b"\x1dr\x01")
    with VirtualPrinter(width=58) as vp, open(vp.port, "wb", buffering=0) as f:
        f.write(data)
        slip = vp.wait_for_slips(1, timeout=5)[0]
    assert "测试大厅" in slip.text_lines and "办件回执" in slip.text_lines
    assert [r.text for r in zxingcpp.read_barcodes(slip.image)] == [print_cli.SAMPLE_CASE.query_url]


def test_cli_prints_a_sample_on_a_configured_printer(tmp_path):
    with VirtualPrinter() as vp:
        cfg = tmp_path / "k.toml"
        cfg.write_text(f"[devices.printer]\ndriver = 'escpos'\nport = '{vp.port}'\n", encoding="utf-8")
        r = subprocess.run([KIOSK, "print", "--config", str(cfg), "sample", "ticket", "--printer", "printer"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "A023" in vp.wait_for_slips(1)[0].text_lines
