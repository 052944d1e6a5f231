"""Fuzzing the virtual printer's ESC/POS parser (drivers/escpos/emulator.py) with arbitrary
command streams: it never fails (its ``error`` stays None), every slip it draws stays within the
paper it can hold, a stream takes time in proportion to its length, and the pieces the bytes come
in change nothing. In Chinese mode two-byte GB18030 is text, as on the printer.

The bytes go straight into the printer's receive and print stages, as its I/O thread passes
them, so thousands of streams run in seconds (test_escpos.py drives it through a real pty).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from drivers.escpos import emulator
from drivers.escpos.emulator import VirtualPrinter
from tests.fuzzing import examples

pytestmark = pytest.mark.fuzz

CUT = b"\x1dV\x00"
SECONDS_PER_KB = 0.5  # far above the real cost (a few ms per kB): a blow-up goes far past it


class Host:
    """The connection the bytes came in on: the printer's answers (DLE EOT, GS r) are kept."""

    def __init__(self) -> None:
        self.answers = bytearray()

    def send(self, data: bytes) -> None:
        self.answers += data


def feed(vp: VirtualPrinter, pieces: list[bytes]) -> Host:
    host = Host()
    for piece in pieces:
        with vp._cond:  # what the I/O thread does with each read
            vp._receive(host, piece)
            vp._process()
    return host


def printed(pieces: list[bytes], **kwargs) -> VirtualPrinter:
    vp = VirtualPrinter(**kwargs)
    vp.close()  # its thread stopped: only these calls touch its state
    started = time.monotonic()
    vp.host = feed(vp, pieces)
    took = time.monotonic() - started
    size = sum(map(len, pieces))
    assert took < 1 + SECONDS_PER_KB * size / 1024, f"{took:.1f} s for {size} bytes"
    assert vp.error is None
    for slip in vp.slips:
        assert slip.image.width == vp.width_dots
        assert slip.image.height <= emulator.SLIP_MARGIN + emulator.MAX_SLIP_DOTS
    for band, _height in vp._bands:  # the slip not cut yet
        assert band is None or band.height <= emulator.MAX_SLIP_DOTS
    return vp


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in points)})
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def u16(n: int) -> bytes:
    return n.to_bytes(2, "little")


# Commands with their parameters, so the streams reach past the first byte of each command.
param = st.integers(0, 255).map(lambda n: bytes([n]))
commands = st.one_of(
    st.binary(min_size=1, max_size=12),
    st.text(max_size=12).map(lambda t: t.encode("gb18030")),
    st.tuples(st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10"]), st.binary(min_size=1, max_size=4))
    .map(b"".join),
    st.sampled_from([b"\n", CUT, b"\x1b@", b"\x1c&", b"\x1c.", b"\x1bi", b"\x10\x04\x01", b"\x1dr\x01"]),
    st.tuples(st.sampled_from([b"\x1bd", b"\x1bJ", b"\x1b3", b"\x1d!", b"\x1b!", b"\x1c!", b"\x1ba"]), param)
    .map(b"".join),
    st.builds(lambda m, xb, yb, fill: b"\x1dv0" + bytes([m]) + u16(xb) + u16(yb) + fill * (xb * yb),
              st.sampled_from([0, 1, 2, 3, 48, 51]), st.integers(0, 80), st.integers(0, 400),
              st.sampled_from([b"\x00", b"\xff", b"\x55"])),
    st.builds(lambda fn, body: b"\x1d(k" + u16(len(body) + 2) + b"\x31" + bytes([fn]) + body,
              st.sampled_from([0x41, 0x43, 0x45, 0x50, 0x51, 0x52]), st.binary(max_size=40)),
    st.builds(lambda n: b"\x1d(k" + u16(n + 3) + b"\x31\x50\x30" + b"7" * n + b"\x1d(k\x03\x00\x31\x51\x30",
              st.integers(0, 100) | st.sampled_from([7089, 7090])),  # numeric capacity of version 40-L
    st.builds(lambda m, body: b"\x1dk" + bytes([m]) + (body + b"\x00" if m <= 6 else bytes([len(body)]) + body),
              st.integers(0, 255), st.binary(max_size=20)),
)
streams = st.lists(commands, max_size=40).map(b"".join)


@examples(100)
@given(stream=streams, cuts=st.lists(st.integers(0, 1 << 20), max_size=8))
def test_any_command_stream_prints_within_bounds_whatever_its_pieces(stream, cuts):
    whole = printed([stream])
    pieces = printed(cut(stream, cuts))
    assert [s.text_lines for s in whole.slips] == [s.text_lines for s in pieces.slips]
    assert [s.raw for s in whole.slips] == [s.raw for s in pieces.slips]
    assert whole.held == pieces.held
    # The same answers; their order may differ: DLE EOT is answered as it arrives, GS r once
    # what came before it has printed, so the pieces decide which comes first.
    assert sorted(whole.host.answers) == sorted(pieces.host.answers)


@examples(100)
@given(stream=st.binary(max_size=2000), chinese=st.booleans())
def test_any_bytes_print_within_bounds(stream, chinese):
    printed([stream + CUT], chinese_default=chinese)


# Characters of GB2312, the double-byte set the printers hold: what Chinese mode prints as text.
gb2312 = st.characters(codec="gb2312", min_codepoint=0x4E00)
ascii_text = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@examples(100)
@given(lines=st.lists(st.text(st.one_of(gb2312, ascii_text), max_size=20), min_size=1, max_size=5))
def test_chinese_mode_prints_gb18030_text_as_sent(lines):
    stream = b"\x1c&" + b"".join(line.encode("gb18030") + b"\n" for line in lines) + CUT
    [slip] = printed([stream]).slips
    assert slip.text_lines == [line for line in lines if line]


def test_a_four_byte_gb18030_character_prints_as_two_unknown_cells():
    [slip] = printed([b"\x1c&" + "𠮷".encode("gb18030") + b"\n" + CUT]).slips
    assert slip.text_lines == ["??"]


# -- what the fuzzing found -----------------------------------------------------------------------
def test_a_qr_code_too_long_for_any_symbol_is_not_printed_and_the_rest_is():
    """Found by fuzzing: 3,000 bytes of QR data (over version 40's capacity) raised inside the
    print stage, which then dropped everything received: a printer prints no symbol and goes on."""
    big = b"\x1d(k" + u16(3003) + b"\x31\x50\x30" + b"x" * 3000 + b"\x1d(k\x03\x00\x31\x51\x30"
    [slip] = printed([b"before\n" + big + b"after\n" + CUT]).slips
    assert slip.text_lines == ["before", "after"] and slip.row_kinds() == ["text", "text"]


@example(spacing=255, feeds=40)
@given(spacing=st.integers(0, 255), feeds=st.integers(0, 60))
@examples(20)
def test_long_feeds_are_drawn_only_as_far_as_a_slip_goes(spacing, feeds):
    """Found by fuzzing: 40 × ESC d 255 at line spacing 255 (123 bytes) made a 576 × 2.6 million
    dot image, seconds and gigabytes; 200 of them took 41 s. A slip is drawn to MAX_SLIP_DOTS."""
    [slip] = printed([b"\x1b3" + bytes([spacing]) + b"\x1bd\xff" * feeds + b"end\n" + CUT]).slips
    assert slip.text_lines == ["end"]
    assert slip.rows[-2].top == emulator.SLIP_MARGIN + spacing * 255 * feeds  # the paper still counts


def test_a_tall_raster_image_is_drawn_only_as_far_as_a_slip_goes():
    """A 64 kB raster of 1 × 65535 bytes at double height was a 576 × 131070 band (75 MB)."""
    vp = printed([b"\x1dv0\x03\x01\x00\xff\xff" + b"\xff" * 65535])
    [(band, height)] = vp._bands
    assert height == 2 * 65535 and band.height == emulator.MAX_SLIP_DOTS
    [slip] = printed([b"\x1dv0\x03\x01\x00\xff\xff" + b"\xff" * 65535 + CUT]).slips
    assert slip.rows[0].kind == "raster" and slip.rows[0].width == 16
