"""ESC/POS driver against the virtual printer, through a real pty (and TCP, and a device file).

The sample receipt carries what breaks Chinese printing in practice: full-width punctuation
（）、，。《》“” that python-escpos turns into '?', and the rare name character 𠮷 that needs 4 bytes
in GB18030 and so must reach the paper as a raster line.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import serial
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydantic import ValidationError

from devices.errors import DeviceError, DeviceGone, ProtocolError
from devices.events import RequestDone, StatusChanged
from devices.printdoc import Align, Cut, Document, Feed, KeyValue, QRCode, Rule, Text
from devices.status import CoverState, DeviceState, PaperState
from drivers.escpos import encoder
from drivers.escpos.driver import EscposPrinter
from drivers.escpos.emulator import VirtualPrinter
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(10)

REVIEW_DIR = Path("/tmp/escpos-review")
RARE = "\U00020BB7"  # 𠮷: GB18030 needs 4 bytes for it
URL = "https://zwfw.guizhou.gov.cn/q/SL20240612000123"
NOTICE = "温馨提示：请妥善保管本回执，凭“受理编号”、身份证件可在《贵州政务服务网》、自助终端或窗口查询办理进度。"
RARE_NOTE = f"申请人姓名中的生僻字“{RARE}”已按原字形打印，如有疑问请咨询窗口工作人员（咨询电话：12345）。"
SAMPLE = Document("receipt", (
    Text("贵阳市政务服务中心", align=Align.CENTER, bold=True, size=2),
    Text("办件受理回执", align=Align.CENTER, bold=True),
    Rule(),
    KeyValue("受理编号：", "SL20240612000123"),
    KeyValue("申请人：", f"{RARE}祥云"),
    KeyValue("办理事项：", "个体工商户设立登记（变更）"),
    KeyValue("受理时间：", "2024-06-12 10:32"),
    Rule("="),
    Text(NOTICE),
    Text(RARE_NOTE),
    QRCode(URL, size=6),
    Text("扫码查询办件进度", align=Align.CENTER),
    Feed(2),
    Cut(),
))
SMALL = Document("test", (Text("测试凭条，打印正常。"), Cut()))


def make_printer(vp: VirtualPrinter, events: list | None = None, **opts) -> EscposPrinter:
    opts.setdefault("status_timeout_ms", 200)
    opts.setdefault("port", vp.port)
    sink = events.append if events is not None else (lambda e: None)
    return EscposPrinter("receipt", EscposPrinter.Options(**opts), sink)


@pytest.fixture
def vp():
    with VirtualPrinter() as v:
        yield v


@pytest.fixture
def printer(vp):
    p = make_printer(vp)
    p.open()
    yield p
    p.close()


def expected_rows(doc: Document, width_dots: int = 576) -> list[tuple[str, str]]:
    """What each printed row should be, from the layout rules: (kind, text or QR payload)."""
    cols = encoder.columns(width_dots)
    rows: list[tuple[str, str]] = []

    def add(line: str) -> None:
        rows.append(("raster" if any(encoder.needs_raster(c) for c in line) else "text", line))

    for el in doc.elements:
        if isinstance(el, Text):
            for line in encoder.wrap(el.text, cols // el.size):
                add(line)
        elif isinstance(el, KeyValue):
            for line in encoder.keyvalue_lines(el.key, el.value, cols):
                add(line)
        elif isinstance(el, Rule):
            add(el.char * cols)
        elif isinstance(el, QRCode):
            rows.append(("qr", el.data))
    return rows


# --- the whole path -------------------------------------------------------------------------------


def test_sample_receipt_through_a_real_pty(vp, printer):
    printer.print_document(SAMPLE, "job-1")
    slip = vp.wait_for_slips(1)[0]
    REVIEW_DIR.mkdir(parents=True, exist_ok=True)
    slip.image.save(REVIEW_DIR / "sample-80mm.png")

    lines = slip.text_lines
    assert lines[:3] == ["贵阳市政务服务中心", "办件受理回执", "-" * 48]
    assert "受理编号：" + " " * 22 + "SL20240612000123" in lines
    assert "办理事项：" + " " * 12 + "个体工商户设立登记（变更）" in lines
    assert "=" * 48 in lines
    i = lines.index("温馨提示：请妥善保管本回执，凭“受理编号”、身份")
    assert "".join(lines[i:i + 3]) == NOTICE  # wrapped at 48 columns, nothing lost
    assert lines[-1] == "扫码查询办件进度"
    for punct in "（）、，。《》“”：":
        assert any(punct in line for line in lines), punct
    assert not any("?" in line or "\ufffd" in line for line in lines)
    assert vp.unknown_commands == []

    # Row by row: text rows decode exactly; the lines holding 𠮷 arrived as raster images.
    printed = [r for r in slip.rows if r.kind != "feed"]
    want = expected_rows(SAMPLE)
    assert [r.kind for r in printed] == [k for k, _ in want]
    for row, (kind, text) in zip(printed, want, strict=True):
        if kind != "raster":
            assert row.text == text
    raster_lines = [text for kind, text in want if kind == "raster"]
    assert raster_lines[0].endswith(f"{RARE}祥云") and len(raster_lines) == 2
    assert RARE in raster_lines[1]
    for row in (r for r in printed if r.kind == "raster"):
        band = slip.image.crop((0, row.top, 576, row.top + row.height))
        assert band.getextrema()[0] == 0, "raster row has ink"
    # the decoded rows, with the raster line in place, rebuild both paragraphs exactly
    rebuilt = "".join(row.text if row.kind == "text" else text
                      for row, (_, text) in zip(printed, want, strict=True))
    assert NOTICE + RARE_NOTE in rebuilt

    # On the wire: Chinese mode, double-byte punctuation, never the 4-byte code.
    assert slip.raw.count(b"\x1c&") == 1
    assert "（变更）".encode("gb18030") in slip.raw
    assert RARE.encode("gb18030") not in slip.raw

    qr_row = next(r for r in printed if r.kind == "qr")
    assert qr_row.text == URL
    found = zxingcpp.read_barcodes(slip.image)
    assert [r.text for r in found] == [URL]


def test_qr_as_raster_and_all_chinese_as_raster(vp):
    p = make_printer(vp, cjk_text=False, native_qr=False)
    p.open()
    p.print_document(SAMPLE, "job-r")
    slip = vp.wait_for_slips(1)[0]
    slip.image.save(REVIEW_DIR / "sample-80mm-raster.png")
    assert b"\x1d(k" not in slip.raw and b"\x1c&" not in slip.raw
    assert slip.text_lines == ["-" * 48, "=" * 48]  # only the ASCII rules are text
    assert [r.text for r in zxingcpp.read_barcodes(slip.image)] == [URL]
    p.close()


def test_58mm_wraps_at_32_columns():
    text = "根据《政务服务事项办理规范》，申请人应当如实提交材料，并对其真实性负责。"
    doc = Document("t", (Text(text), KeyValue("受理编号：", "SL20240612000123"), Rule(),
                         Text("Appointment reference number follows"), Cut()))
    with VirtualPrinter(width=58) as vp:
        p = make_printer(vp, width=58)
        p.open()
        p.print_document(doc, "j58")
        p.print_document(SAMPLE, "j58-sample")
        slip, sample = vp.wait_for_slips(2)
        sample.image.save(REVIEW_DIR / "sample-58mm.png")
        p.close()
    lines = slip.text_lines
    assert lines[0] == text[:16] and encoder.text_cols(lines[0]) == 32
    assert "".join(lines[:3]) == text
    assert "受理编号：      SL20240612000123" in lines
    assert "-" * 32 in lines
    assert lines[-2:] == ["Appointment reference number", "follows"]  # words stay whole
    assert all(encoder.text_cols(line) <= 32 for line in lines + sample.text_lines)
    assert [r.text for r in zxingcpp.read_barcodes(sample.image)] == [URL]


# --- status and refusals --------------------------------------------------------------------------


def test_state_is_unknown_until_the_printer_answers(vp):
    events: list = []
    p = make_printer(vp, events)
    assert p.state() is DeviceState.UNKNOWN
    p.open()
    assert p.state() is DeviceState.ONLINE
    st = p.printer_status()
    assert (st.device, st.paper, st.cover) == (DeviceState.ONLINE, PaperState.FULL, CoverState.CLOSED)
    assert st.can_print
    assert isinstance(events[0], StatusChanged) and events[0].detail == {"paper": "full", "cover": "closed"}
    p.close()
    p.close()  # twice is fine
    assert p.state() is DeviceState.UNKNOWN


def test_paper_out_refuses_the_job(vp, printer):
    vp.set_paper("out")
    st = printer.printer_status()
    assert st.paper is PaperState.OUT and st.device is DeviceState.OFFLINE and not st.can_print
    with pytest.raises(DeviceError) as err:
        printer.print_document(SAMPLE, "job-po")
    assert err.value.code == "paper_out"
    assert err.value.zh == "打印机缺纸，请联系工作人员"
    time.sleep(0.05)
    assert vp.slips == []
    # the printer holds only the status queries (kept in its stopped buffer): no job was sent
    assert not vp.held.replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x02", b"").replace(
        b"\x10\x04\x04", b"")


def test_paper_low_still_prints(vp, printer):
    vp.set_paper("low")
    assert printer.printer_status().paper is PaperState.LOW
    printer.print_document(SMALL, "job-low")
    assert vp.wait_for_slips(1)[0].text_lines == ["测试凭条，打印正常。"]
    assert printer.state() is DeviceState.ONLINE


def test_cover_open_refuses_the_job(vp, printer):
    vp.set_cover(True)
    st = printer.printer_status()
    assert st.cover is CoverState.OPEN and st.device is DeviceState.OFFLINE
    with pytest.raises(DeviceError) as err:
        printer.print_document(SMALL, "job-co")
    assert err.value.code == "cover_open" and "盖" in err.value.zh
    vp.set_cover(False)
    printer.print_document(SMALL, "job-co2")
    assert len(vp.wait_for_slips(1)) == 1


def test_silent_printer_is_unknown_never_ok(vp):
    vp.silent = True
    p = make_printer(vp)
    p.open()
    st = p.printer_status()
    assert (st.device, st.paper, st.cover) == (DeviceState.UNKNOWN, PaperState.UNKNOWN, CoverState.UNKNOWN)
    assert p.state() is DeviceState.UNKNOWN and not st.can_print
    with pytest.raises(DeviceError) as err:
        p.print_document(SMALL, "job-silent")
    assert err.value.code == "unknown" and err.value.zh == "打印机没有响应，请联系工作人员"
    time.sleep(0.05)
    assert vp.slips == [] and vp.pending == 0
    p.close()


def test_paper_running_out_mid_job_is_reported_and_the_held_job_finishes(vp, printer):
    vp.paper_runs_out_after(200)
    with pytest.raises(DeviceError) as err:
        printer.print_document(SAMPLE, "job-mid")
    assert err.value.code == "paper_out" and "中途" in err.value.zh
    assert printer.state() is DeviceState.OFFLINE
    assert vp.slips == [] and vp.pending > 0  # the rest of the job waits in the buffer
    vp.set_paper("full")  # staff load a new roll: the printer finishes the held job
    # at once, while the held job's late GS r 1 answer may still be on its way: it must not
    # count as the new job's confirmation
    printer.print_document(SMALL, "job-after")
    slip, after = vp.wait_for_slips(2)
    assert slip.row_kinds() == [k for k, _ in expected_rows(SAMPLE)]
    assert after.text_lines == ["测试凭条，打印正常。"]


def test_no_completion_answer_is_not_confirmed(vp):
    vp.gs_r_supported = False
    p = make_printer(vp, confirm_timeout_ms=600)
    p.open()
    with pytest.raises(DeviceError) as err:
        p.print_document(SMALL, "job-nc")
    assert err.value.code == "not_confirmed" and "not confirmed" in str(err.value)
    assert vp.wait_for_slips(1)  # it did print; the driver just cannot know
    with pytest.raises(DeviceError) as err:  # and it will not pretend for the next job either
        p.print_document(SMALL, "job-nc2")
    assert err.value.code == "not_confirmed"
    assert len(vp.slips) == 1
    p.close()


def test_vanished_port_is_device_gone():
    vp = VirtualPrinter()
    p = make_printer(vp)
    p.open()
    vp.close()
    with pytest.raises(DeviceGone):
        p.printer_status()
    assert p.state() is DeviceState.NO_DEVICE
    p.close()
    with pytest.raises(DeviceGone):
        make_printer(vp, port="/dev/does-not-exist").open()


# --- other connections ----------------------------------------------------------------------------


def test_network_connection_over_tcp_9100_style_listener():
    with VirtualPrinter(tcp=True) as vp:
        p = make_printer(vp, connection="network", host="127.0.0.1", tcp_port=vp.tcp_port, port="")
        p.open()
        assert p.state() is DeviceState.ONLINE
        p.print_document(SMALL, "job-net")
        assert vp.wait_for_slips(1)[0].text_lines == ["测试凭条，打印正常。"]
        vp.set_paper("out")
        assert p.printer_status().paper is PaperState.OUT
        p.close()


def test_file_connection_reads_replies_from_a_character_device(vp):
    p = make_printer(vp, connection="file")
    p.open()
    assert p.printer_status().can_print
    p.print_document(SMALL, "job-file")
    assert vp.wait_for_slips(1)[0].text_lines == ["测试凭条，打印正常。"]
    p.close()


def test_file_connection_to_a_plain_file_never_claims_ok(tmp_path):
    p = EscposPrinter("f", EscposPrinter.Options(connection="file", port=str(tmp_path / "spool.bin")),
                      lambda e: None)
    p.open()
    assert p.state() is DeviceState.UNKNOWN
    with pytest.raises(DeviceError) as err:
        p.print_document(SMALL, "job-spool")
    assert err.value.code == "unknown"
    p.close()


def test_manager_prints_through_the_registry(vp):
    from devices.manager import DeviceManager

    mgr = DeviceManager({"receipt": {"driver": "escpos", "port": vp.port, "status_timeout_ms": 200}})
    mgr.start()
    try:
        req = mgr.request("receipt", "print", document=SMALL, job_id="job-mgr")
        deadline = time.monotonic() + 3
        done = None
        while done is None and time.monotonic() < deadline:
            done = next((e for e in mgr.drain() if isinstance(e, RequestDone) and e.request_id == req), None)
            time.sleep(0.02)
        assert done is not None and done.ok, done
        assert vp.wait_for_slips(1)[0].text_lines == ["测试凭条，打印正常。"]
    finally:
        mgr.stop()


def test_options_and_capabilities():
    with pytest.raises(ValidationError):
        EscposPrinter.Options(connection="network")  # no host
    with pytest.raises(ValidationError):
        EscposPrinter.Options(port="/dev/ttyS0", speed=9600)  # unknown key
    p = EscposPrinter("p", EscposPrinter.Options(port="/dev/ttyS0", native_qr=False, cutter=False),
                      lambda e: None)
    assert "native_qr" not in p.capabilities and "cutter" not in p.capabilities
    assert {"cjk_text", "raster", "paper_sensor", "cover_sensor"} <= p.capabilities


# --- the encoder on its own -----------------------------------------------------------------------


def test_encoder_commands():
    doc = Document("t", (
        Text("（一）办件、受理，完成。《指南》", align=Align.CENTER, bold=True),
        Text("标题", size=2),
        QRCode(URL, size=6), Feed(2), Cut()))
    data = encoder.encode(doc)
    assert data.startswith(b"\x1b@\x1c&")
    assert b"\x1ba\x01" in data and b"\x1bE\x01" in data
    assert b"\x1d!\x11\x1c!\x0c\x1b3\x36" + "标题".encode("gb18030") + b"\n\x1d!\x00\x1b2\x1c!\x00" in data
    assert "（一）办件、受理，完成。《指南》".encode("gb18030") + b"\n" in data
    assert b"?" not in data
    store = len(URL) + 3
    assert b"\x1d(k\x04\x00\x31\x41\x32\x00" in data  # model 2
    assert b"\x1d(k\x03\x00\x31\x43\x06" in data  # module size 6
    assert b"\x1d(k\x03\x00\x31\x45\x31" in data  # error correction M
    assert b"\x1d(k" + bytes([store, 0]) + b"\x31\x50\x30" + URL.encode() in data
    assert b"\x1d(k\x03\x00\x31\x51\x30" in data  # print
    assert data.endswith(b"\x1bd\x02\x1dVB\x00")
    assert encoder.encode(doc, cutter=False).endswith(b"\x1bd\x02\x1bd\x05")


def test_rare_character_line_is_raster_and_neighbours_are_text():
    data = encoder.encode(Document("t", (Text("甲"), Text(f"姓名：{RARE}某"), Text("乙"))))
    assert RARE.encode("gb18030") not in data
    assert "姓名".encode("gb18030") not in data  # the whole line went as an image
    assert data.count(b"\x1dv0") == 1
    assert "甲".encode("gb18030") + b"\n" in data and "乙".encode("gb18030") + b"\n" in data


def test_raster_never_contains_real_time_commands():
    # Pixels 3 and 13 of a row pack to 0x10 0x04: DLE EOT 4 hidden in image data.
    img = Image.new("L", (24, 2), 255)
    for x in (3, 13):
        img.putpixel((x, 0), 0)
    out = encoder.raster(img)
    assert b"\x10\x04" not in out
    assert out.startswith(b"\x1dv0\x00\x03\x00\x02\x00")


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=6, max_size=60))
def test_raster_defuses_any_bitmap(blob):
    width = 8 * 3
    rows = len(blob) // 3
    img = Image.frombytes("1", (width, rows), blob[:rows * 3], "raw", "1;I").convert("L")
    out = encoder.raster(img)
    for seq in (b"\x10\x04", b"\x10\x05", b"\x10\x14"):
        assert seq not in out


ALPHABET = "政务服务中心办件受理，。、（）《》“”：abcXYZ0123 " + RARE


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=120), st.integers(min_value=4, max_value=48))
def test_wrap_fits_and_keeps_every_character(text, cols):
    lines = encoder.wrap(text, cols)
    assert all(encoder.text_cols(line) <= cols for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_keeps_punctuation_off_line_starts():
    assert encoder.wrap("一二三，四", 6) == ["一二", "三，四"]
    assert encoder.wrap("一二（三", 6) == ["一二", "（三"]


def test_parse_status_per_spec_section_b():
    assert encoder.status_query(4) == b"\x10\x04\x04"
    assert encoder.parse_status(1, 0x12) == {"device": DeviceState.ONLINE}
    assert encoder.parse_status(1, 0x1A) == {"device": DeviceState.OFFLINE}
    assert encoder.parse_status(2, 0x16) == {"cover": CoverState.OPEN}
    assert encoder.parse_status(2, 0x32)["paper"] is PaperState.OUT
    assert encoder.parse_status(4, 0x12) == {"paper": PaperState.FULL}
    assert encoder.parse_status(4, 0x1E) == {"paper": PaperState.LOW}
    assert encoder.parse_status(4, 0x72) == {"paper": PaperState.OUT}
    assert encoder.parse_status(4, None) == {"paper": PaperState.UNKNOWN}
    assert encoder.parse_status(3, 0x1A)["device"] is DeviceState.HARDWARE_ERROR  # autocutter
    with pytest.raises(ProtocolError):
        encoder.parse_status(1, 0x00)  # fixed bits wrong: not a reply
    assert encoder.parse_gs_r1(0x00) is PaperState.FULL and encoder.parse_gs_r1(0x03) is PaperState.LOW


def test_emulator_catches_four_byte_gb18030(vp):
    """What python-escpos 3.1 would send for 𠮷 prints as garbage on a double-byte printer."""
    with serial.Serial(vp.port, 115200, timeout=0.2) as port:
        port.write(b"\x1b@\x1c&" + f"{RARE}，。".encode("gb18030") + b"\n\x1dVB\x00")
        port.flush()
        assert vp.wait_for_slips(1)[0].text_lines == ["??，。"]


def test_sizes_chinese_mode_vs_raster():
    chinese = len(encoder.encode(SAMPLE))
    raster_qr = len(encoder.encode(SAMPLE, native_qr=False))
    all_raster = len(encoder.encode(SAMPLE, cjk_text=False, native_qr=False))
    print(f"\nsample receipt: Chinese mode {chinese} B, with raster QR {raster_qr} B, "
          f"all raster {all_raster} B")
    assert chinese * 4 < all_raster


def test_save_pngs(vp, printer, tmp_path):
    printer.print_document(SMALL, "job-png")
    vp.wait_for_slips(1)
    paths = vp.save_pngs(tmp_path)
    assert [p.name for p in paths] == ["slip-001.png"] and os.path.getsize(paths[0]) > 0


def test_document_that_cannot_be_encoded_is_refused_without_printing(vp, printer):
    huge = Document("t", (QRCode("x" * 5000),))  # beyond a version-40 QR code
    with pytest.raises(DeviceError) as err:
        printer.print_document(huge, "job-huge")
    assert err.value.code == "bad_document"
    assert printer.state() is DeviceState.ONLINE  # the printer is fine


def test_the_printer_database_is_parsed_once_and_leaves_no_temporary_folder(tmp_path):
    """python-escpos parses its capabilities YAML and makes a temporary folder on every start
    unless given a cache folder: the driver gives it one of ours (0700) and cleans up after it."""
    import subprocess
    import sys

    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    env = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(cache), "TMPDIR": str(tmp), "HOME": str(tmp_path)}
    code = "from drivers.escpos.driver import _cache_capabilities as c; c(); import escpos.printer"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=str(REPO), timeout=60)
    folder = cache / "hall-kiosk" / "escpos"
    assert list(folder.glob("*.capabilities.pickle")) and (folder.stat().st_mode & 0o777) == 0o700
    assert list(tmp.iterdir()) == [] and list((folder / "scratch").iterdir()) == []


def test_processes_starting_together_after_an_upgrade_all_read_the_printer_database(tmp_path):
    """python-escpos rewrites its pickled printer database in place when the YAML is newer (after
    an upgrade), and a process reading it meanwhile got EOFError: the kiosk, its doctor and the
    catalogue timer can start together. Eight processes at once on a stale cache all load it."""
    import subprocess
    import sys

    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    env = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(cache), "TMPDIR": str(tmp), "HOME": str(tmp_path)}
    code = ("from drivers.escpos.driver import _cache_capabilities as c; c(); "
            "from escpos.capabilities import CAPABILITIES; assert CAPABILITIES['profiles']")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=str(REPO), timeout=60)
    (pickled,) = (cache / "hall-kiosk" / "escpos").glob("*.capabilities.pickle")
    os.utime(pickled, (0, 0))  # older than the YAML: each process would write it again
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(REPO), stderr=subprocess.PIPE,
                              text=True) for _ in range(8)]
    failed = [err[-300:] for p in procs if (err := p.communicate(timeout=120)[1]) and p.returncode != 0]
    assert not failed, failed


def test_every_size_of_a_face_shares_one_copy_of_its_font_file():
    """The glyphs drawn for raster lines and the virtual printer's slips: each face's file is read
    once for all its sizes, and drawn exactly as FreeType draws it from the file's path (which maps
    the file once per size, every mapping counting again in the resident size)."""
    import subprocess
    import sys

    script = r"""
from PIL import ImageFont
from devices.fonts import cjk_font
from drivers.escpos import render
TEXT = "申报材料 REF-2024 長輩模式"
shared = [render.draw_line(TEXT, 576, scale=s, bold=b).tobytes() for s in (1, 2, 3) for b in (False, True)]
files = {id(render._font(b, s).font_bytes) for s in (24, 48, 72) for b in (False, True)}
mapped = [line for line in open("/proc/self/maps") if "NotoSansCJK" in line]
render._font.cache_clear(); render.glyph.cache_clear()
render._font = lambda bold, size: ImageFont.truetype(str(cjk_font("bold" if bold else "regular")), size)
from_path = [render.draw_line(TEXT, 576, scale=s, bold=b).tobytes() for s in (1, 2, 3) for b in (False, True)]
print(shared == from_path, len(files), len(mapped))
"""
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    same, copies, mappings = r.stdout.split()
    assert same == "True", "the glyphs differ from FreeType's own from the file"
    assert (copies, mappings) == ("2", "0"), f"{copies} copies of the font files, {mappings} mappings"
