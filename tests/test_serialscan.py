"""The built-in serial / USB CDC code scanner (drivers/serialscan) on its emulator's pty: the
conformance kit for two framings, and what a hall would notice about codes and line noise."""

from __future__ import annotations

import logging
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.codes import MAX_CODE_BYTES
from devices.errors import DeviceGone
from devices.events import CodeScanned, ErrorEvent
from devices.framing import CodeFramer
from devices.manager import DeviceConfigError, build_driver
from devices.status import DeviceState
from devices.testing import DriverConformance
from drivers.serialscan.driver import SerialScanner, framing_bytes
from drivers.serialscan.emulator import SerialScannerEmulator
from drivers.serialscan.harness import SerialScanHarness
from kiosk import config
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(60)


class TestSerialScannerCR(DriverConformance):
    driver = "serial-scanner"

    def make_harness(self, link_path):
        return SerialScanHarness(link_path, suffix="cr")


class TestSerialScannerGap(DriverConformance):
    """No suffix: a code ends with the silence after it."""

    driver = "serial-scanner"

    def make_harness(self, link_path):
        return SerialScanHarness(link_path, suffix="none")


# --- a scanner and the driver on a pty, polled as the worker polls it ---------------------------


class Line:
    """A driver opened on an emulator's port; ``until`` polls it as the device worker would."""

    def __init__(self, emu: SerialScannerEmulator, **options):
        self.emu = emu
        self.events: list = []
        self.driver = SerialScanner("qr", SerialScanner.Options(port=emu.port, **options), self.events.append)
        self.driver.open()

    def poll_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.driver.poll()
            time.sleep(self.driver.poll_interval)

    def until(self, count: int, within: float = 3.0) -> list:
        """Poll until ``count`` events (codes and errors) have come, then a little longer to see
        that no more do."""
        deadline = time.monotonic() + within
        while len(self.events) < count and time.monotonic() < deadline:
            self.poll_for(0.02)
        self.poll_for(0.3)
        return self.events

    def codes(self) -> list[tuple[bytes, str]]:
        return [(e.data, e.text) for e in self.events if isinstance(e, CodeScanned)]

    def errors(self) -> list[ErrorEvent]:
        return [e for e in self.events if isinstance(e, ErrorEvent)]


@pytest.fixture
def line():
    """``line(sends=..., **options)``: an emulator framing codes as ``sends`` (prefix, suffix), and
    the driver with ``options`` open on its port."""
    opened = []

    def make(sends: tuple[bytes, bytes] = (b"", b"\r"), **options) -> Line:
        emu = SerialScannerEmulator(prefix=sends[0], suffix=sends[1])
        opened.append(emu)
        ln = Line(emu, **options)
        opened.append(ln.driver)
        return ln

    yield make
    for thing in reversed(opened):
        thing.close()


GB = "贵州省政务服务网 办件查询"
UTF8 = "临时身份证明 编号12"


@pytest.mark.parametrize(("sends", "suffix"), [(b"\r\n", "crlf"), (b"\n", "lf"), (b"\x03", r"\x03")])
def test_suffixes(line, sends, suffix):
    ln = line(sends=(b"", sends), suffix=suffix)
    ln.emu.scan(b"SL20240612000123")
    ln.emu.scan(UTF8.encode())
    assert ln.until(2) and ln.codes() == [(b"SL20240612000123", "SL20240612000123"), (UTF8.encode(), UTF8)]
    assert not ln.errors()


def test_cr_setting_also_reads_a_crlf_scanner(line):
    ln = line(sends=(b"", b"\r\n"), suffix="cr")
    ln.emu.scan(b"first")
    ln.emu.scan(b"second")
    assert ln.until(2) and ln.codes() == [(b"first", "first"), (b"second", "second")]


def test_stx_prefix_is_stripped_when_present(line):
    ln = line(sends=(b"\x02", b"\x03"), prefix=r"\x02", suffix=r"\x03")
    ln.emu.scan(b"6901234567892")
    ln.emu.send_garbage(b"no-stx\x03")  # a code without the prefix still counts, as it is
    assert ln.until(2) and ln.codes() == [(b"6901234567892", "6901234567892"), (b"no-stx", "no-stx")]


@pytest.mark.parametrize("suffix", ["cr", "none"])
def test_a_code_split_across_writes_arrives_as_one(line, suffix):
    ln = line(sends=(b"", b"\r" if suffix == "cr" else b""), suffix=suffix, gap_ms=300)
    code = "https://zwfw.example.gov.cn/q/SL20240612000123?n=贵州".encode()
    for piece in (code[:7], code[7:30], code[30:-2], code[-2:] + ln.emu.suffix):
        ln.emu.send_garbage(piece)  # raw bytes, as the USB packets or UART FIFO hand them over
        ln.poll_for(0.05)
    assert ln.until(1) and ln.codes() == [(code, code.decode())]
    assert not ln.errors()


def test_two_codes_in_one_burst_arrive_as_two(line):
    ln = line()
    ln.emu.send_garbage(b"first\rsecond\r")
    assert ln.until(2) and ln.codes() == [(b"first", "first"), (b"second", "second")]


@pytest.mark.parametrize("suffix", ["cr", "none"])
def test_chinese_and_binary_payloads_arrive_exact(line, suffix):
    ln = line(sends=(b"", b"\r" if suffix == "cr" else b""), suffix=suffix, gap_ms=100)
    sent = [GB.encode("gb18030"), UTF8.encode(), b"\x00\x01\x1d01\xff\xfe\x80\n"]
    for n, data in enumerate(sent, 1):
        ln.emu.scan(data)
        if suffix == "none":
            ln.until(n)  # without a suffix, codes are told apart by the silence between them
    assert ln.until(3) and ln.codes() == [(sent[0], GB), (sent[1], UTF8), (sent[2], "")]
    assert all(e.symbology == "" and e.device == "qr" for e in ln.events)


@pytest.mark.parametrize(("suffix", "max_length"), [("cr", 32), ("cr", MAX_CODE_BYTES), ("none", 32)])
def test_an_overlong_code_is_dropped_and_reported_and_the_next_one_arrives(line, suffix, max_length):
    ln = line(sends=(b"", b"\r" if suffix == "cr" else b""), suffix=suffix, max_length=max_length,
              gap_ms=100)
    ln.emu.scan(b"x" * (max_length + 1))
    ln.until(1)
    ln.emu.scan(b"y" * max_length)  # exactly the limit is fine
    assert ln.until(2) and ln.codes() == [(b"y" * max_length, "y" * max_length)]
    [error] = ln.errors()
    assert error.code == "code_too_long" and f"max_length {max_length}" in error.message
    assert "太长" in error.message_zh and error.device == "qr"
    assert ln.events[0] is error  # reported before the next code, not when it comes


def test_garbage_without_suffix_is_dropped_after_the_gap_and_does_not_glue(line):
    ln = line(gap_ms=100)
    ln.emu.send_garbage(b"\x00\xffhalf a co")
    ln.until(1)
    ln.emu.scan(b"6901234567892")
    assert ln.until(2) and ln.codes() == [(b"6901234567892", "6901234567892")]
    [error] = ln.errors()
    assert error.code == "garbled" and "11 bytes dropped" in error.message and "0d" in error.message
    assert error.message_zh == "扫码数据不完整，请重新扫码"


def test_a_code_scanned_before_the_port_opened_is_not_delivered():
    """A code read while the kiosk was starting is stale: the citizen has moved on."""
    with SerialScannerEmulator() as emu:
        emu.scan(b"stale")
        ln = Line(emu)
        try:
            emu.scan(b"fresh")
            assert ln.until(1) and ln.codes() == [(b"fresh", "fresh")]
        finally:
            ln.driver.close()


def test_a_second_reader_of_the_port_is_refused(line):
    """Two readers would each get part of the bytes: a code read by both arrives as neither."""
    ln = line()
    other = SerialScanner("qr2", SerialScanner.Options(port=ln.emu.port), lambda e: None)
    with pytest.raises(DeviceGone, match="lock"):
        other.open()
    other.close()
    ln.emu.scan(b"6901234567892")
    assert ln.until(1) and ln.codes() == [(b"6901234567892", "6901234567892")]


def test_the_log_never_holds_a_whole_code(line, caplog):
    ln = line(max_length=20)
    caplog.set_level(logging.DEBUG, logger="kiosk.drivers.serialscan")
    ln.emu.scan(b"520102199003071234")  # an identity number
    ln.emu.scan(b"\x1b[2J" * 5)  # too long, and terminal controls
    assert ln.until(2)
    assert "520102199003071234" not in caplog.text and "\x1b" not in caplog.text
    assert "18 bytes" in caplog.text and "code_too_long" not in caplog.text


def test_an_unplugged_scanner_is_no_device(line):
    ln = line()
    ln.emu.close()
    with pytest.raises(DeviceGone):
        ln.poll_for(0.1)
    assert ln.driver.state() is DeviceState.NO_DEVICE


# --- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("cr", b"\r"), ("CRLF", b"\r\n"), ("lf", b"\n"), ("none", b""),
    (r"\x03", b"\x03"), ("\x03", b"\x03"), (r"\x0d\x0A", b"\r\n"), (r"\x23", b"#"), ("\r\n", b"\r\n"),
])
def test_suffix_option_forms(value, expected):
    SerialScanner.Options(port="/dev/ttyACM0", suffix=value)
    assert framing_bytes(value, {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n", "none": b""}) == expected


@pytest.mark.parametrize(("table", "message"), [
    ({"suffix": "crl"}, "devices.scanner.suffix: must be \"cr\", \"crlf\", \"lf\", \"none\" or the "
                        "scanner's suffix as \\x escapes such as \"\\x03\" (at most 8 bytes) (got 'crl')"),
    ({"suffix": r"\x0"}, "devices.scanner.suffix: must be"),
    ({"suffix": "。"}, "devices.scanner.suffix: must be"),
    ({"suffix": ""}, "devices.scanner.suffix: must be"),
    ({"suffix": "#"}, "devices.scanner.suffix: must be"),  # printable bytes are written as \x escapes too
    ({"prefix": "stx"}, "devices.scanner.prefix: must be \"\" or the scanner's prefix as \\x escapes"),
    ({"prefix": r"\x02" * 9}, "devices.scanner.prefix: must be"),
    ({"max_length": MAX_CODE_BYTES + 1}, "devices.scanner.max_length: "),
    ({"baud": 115201}, "devices.scanner.baud: "),
    ({"gap_ms": 1e23}, "devices.scanner.gap_ms: "),
])
def test_config_mistakes_are_one_clear_line(table, message):
    with pytest.raises(DeviceConfigError) as exc:
        build_driver("scanner", {"driver": "serial-scanner", "port": "/dev/ttyACM0", **table}, lambda e: None)
    text = str(exc.value)
    assert text.startswith(message) and "\n" not in text, text


def test_the_commented_example_in_kiosk_toml_is_valid(tmp_path):
    shipped = (REPO / "config" / "kiosk.toml").read_text(encoding="utf-8")
    block = shipped[shipped.index("# [devices.scanner]"):].split("\n\n")[0]
    (tmp_path / "kiosk.toml").write_text(shipped + "\n" + re.sub(r"(?m)^# ", "", block) + "\n", encoding="utf-8")
    assert config.load(tmp_path / "kiosk.toml").devices["scanner"]["suffix"] == "cr"
    (tmp_path / "kiosk.toml").write_text(shipped + "\n[devices.scanner]\ndriver = 'serial-scanner'\n"
                                         "port = '/dev/ttyACM0'\nsuffix = 'CR LF'\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"devices\.scanner\.suffix: must be .* \(got 'CR LF'\)$"):
        config.load(tmp_path / "kiosk.toml")


# --- framing, whatever the pieces the port hands over -------------------------------------------


@settings(max_examples=200, deadline=None)
@given(codes=st.lists(st.binary(min_size=1, max_size=60).filter(lambda b: b"\r" not in b), max_size=5),
       cuts=st.lists(st.integers(0, 400), max_size=10), crlf=st.booleans())
def test_framer_is_blind_to_how_the_bytes_are_cut(codes, cuts, crlf):
    """However the port cuts the stream: every code once, exact; each over-long one reported once,
    never eating into the next."""
    framer = CodeFramer("qr", suffix=b"\r", prefix=b"\x02", gap=0.1, max_length=40)
    stream = b"".join(b"\x02" + c + (b"\r\n" if crlf else b"\r") for c in codes)
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    events = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        events += framer.feed(stream[a:b], now=0.0)
    assert [e.data for e in events if isinstance(e, CodeScanned)] == [c for c in codes if len(c) <= 40]
    assert [e.code for e in events if isinstance(e, ErrorEvent)] == ["code_too_long"] * sum(len(c) > 40 for c in codes)
