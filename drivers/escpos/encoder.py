"""Document → ESC/POS bytes for Chinese-mode receipt printers. Pure: no I/O, no printer state.

Why not python-escpos's ``text()``: its MagicEncode drops full-width punctuation (，。 become ``?``),
sends rare characters as 4-byte GB18030 that double-byte-only printers print as garbage, and sends
no ``FS &``. Here every character is either ASCII or a double-byte GB18030 code sent in Chinese
mode (``FS &``); a line holding a character that needs 4 bytes (𠮷, extension A/B) is drawn with the
kiosk's CJK font and sent as a ``GS v 0`` raster image instead, at the same size and position.

Layout counts columns like the printer does: font A is 12 dots wide, so 48 columns on 576 dots and
32 on 384; a double-byte (Hanzi-font) character takes 2 columns, double size doubles everything.
"""

from __future__ import annotations

import qrcode
from PIL import Image

from devices.errors import ProtocolError
from devices.printdoc import Align, Cut, Document, Feed, KeyValue, QRCode, Rule, Text
from devices.status import CoverState, DeviceState, PaperState
from drivers.escpos import render

ESC, GS, FS, DLE, LF = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\n"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
GS_R1 = GS + b"r\x01"  # "printed up to here": answered once the data before it is processed
CUT = GS + b"V\x42\x00"  # feed to the cutter, then cut
LINE_SPACING = 30  # dots a text line advances (printer default ≈ 3.75 mm at 203 dpi)
QR_EC_M = 49
_ALIGN = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}

# Chinese line-breaking rules (禁则): these never start a line / never end one.
NO_START = set("，。、；：！？）》」』】〕〉”’…—·%,.;:!?)]}")
NO_END = set("（《「『【〔〈“‘([{")


def dots_for_width(width_mm: int) -> int:
    """Printable dots of a paper width: 80 mm → 576, 58 mm → 384 (203 dpi)."""
    return {80: 576, 58: 384}[width_mm]


def line_height(scale: int = 1) -> int:
    """Dots a line of this text size advances: glyph height plus the normal 6-dot gap."""
    return LINE_SPACING + render.CELL_H * (scale - 1)


def columns(width_dots: int, scale: int = 1) -> int:
    return width_dots // (render.NARROW_W * scale)


def _clean(text: str) -> str:
    """Strip control characters: text must never turn into printer commands (ESC, DLE EOT…)."""
    out = []
    for ch in text:
        if ch == "\t" or ch == "\u00a0":
            out.append(" ")
        elif ch == "\n" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0):
            out.append(ch)
    return "".join(out)


def char_cols(ch: str) -> int:
    return 2 if render.is_wide(ch) else 1


def text_cols(text: str) -> int:
    return sum(char_cols(ch) for ch in text)


def needs_raster(ch: str, cjk_text: bool = True) -> bool:
    """True for a character the printer's own fonts cannot print."""
    if ord(ch) < 0x80:
        return False
    if not cjk_text:
        return True
    try:
        return len(ch.encode("gb18030")) != 2
    except UnicodeEncodeError:
        return True


def _tokens(para: str) -> list[str]:
    """Break opportunities: an ASCII word stays whole, a space or any other char stands alone."""
    toks: list[str] = []
    word = ""
    for ch in para:
        if ord(ch) < 0x80 and ch != " ":
            word += ch
            continue
        if word:
            toks.append(word)
            word = ""
        toks.append(ch)
    if word:
        toks.append(word)
    return toks


def wrap(text: str, cols: int) -> list[str]:
    """Lines of at most ``cols`` columns; ``\\n`` starts a new line. Breaks between words and
    around Chinese characters, keeps closing punctuation off a line start and opening
    punctuation off a line end, splits a word only when it is longer than a line."""
    cols = max(cols, 2)
    lines: list[str] = []
    for para in _clean(text).split("\n"):
        lines.extend(_wrap_para(para, cols))
    return lines


def _wrap_para(para: str, cols: int) -> list[str]:
    out: list[str] = []
    line, w = "", 0

    def push(tok: str) -> None:
        nonlocal line, w
        line += tok
        w += text_cols(tok)

    def newline(carry: str = "") -> None:
        nonlocal line, w
        out.append(line.rstrip(" "))
        line, w = carry, text_cols(carry)

    for tok in _tokens(para):
        tw = text_cols(tok)
        if w + tw <= cols:
            push(tok)
            continue
        if tok == " ":
            newline()
            continue
        if tw > cols:  # a word longer than a line: fill this line, then carry on char by char
            for ch in tok:
                if w + char_cols(ch) > cols:
                    newline()
                push(ch)
            continue
        carry = ""
        if (len(line) >= 2 and line[-1] != " " and (tok[0] in NO_START or line[-1] in NO_END)
                and char_cols(line[-1]) + tw <= cols):
            carry, line = line[-1], line[:-1]
        newline(carry)
        push(tok)
    out.append(line.rstrip(" "))
    return out


def keyvalue_lines(key: str, value: str, cols: int) -> list[str]:
    """Key left and value right on one line when both fit; else the key, then the value
    wrapped below it, indented by one Chinese character."""
    key, value = _clean(key).replace("\n", " "), _clean(value).replace("\n", " ")
    kw, vw = text_cols(key), text_cols(value)
    if not value:
        return wrap(key, cols)
    if kw + vw <= cols:
        return [key + " " * (cols - kw - vw) + value]
    return wrap(key, cols) + ["  " + v for v in wrap(value, cols - 2)]


def raster(img: Image.Image, left: int = 0) -> bytes:
    """``GS v 0`` bit image(s) of an "L"/"1" image (dark = dot), shifted ``left`` dots.

    Alignment is baked in as left padding (the encoder keeps ``ESC a`` at left between lines),
    since printers differ on whether ``ESC a`` moves raster images. Slices of at most 255 rows. Bytes that would form
    a real-time command (DLE EOT/ENQ/DC4) inside the data lose one dot: printers act on those
    sequences even inside image data (spec section B).
    """
    gray = img.convert("L")
    width = left + gray.width
    width8 = (width + 7) // 8 * 8
    canvas = Image.new("L", (width8, gray.height), 255)
    canvas.paste(gray, (left, 0))
    bits = canvas.point(lambda v: 0 if v < 128 else 255).convert("1")
    packed = bytearray(bits.tobytes("raw", "1;I"))  # 1 = black dot, MSB leftmost
    _defuse_realtime(packed)
    xbytes = width8 // 8
    out = bytearray()
    y = 0
    while y < gray.height:
        h = min(255, gray.height - y)
        out += GS + b"v0\x00" + bytes([xbytes & 0xFF, xbytes >> 8, h & 0xFF, h >> 8])
        out += packed[y * xbytes:(y + h) * xbytes]
        y += h
    return bytes(out)


def _defuse_realtime(data: bytearray) -> None:
    for i in range(len(data) - 1):
        if data[i] == 0x10 and data[i + 1] in (0x04, 0x05, 0x14):
            data[i] = 0x00


def _qr(data: str, size: int, width_dots: int) -> tuple[qrcode.QRCode, int]:
    """The symbol and the largest module size ≤ size that fits the paper."""
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    q.add_data(data.encode("utf-8"))
    q.make(fit=True)
    size = max(1, min(16, size, width_dots // q.modules_count))
    return q, size


class _Encoder:
    def __init__(self, width_dots: int, cjk_text: bool, native_qr: bool, cutter: bool):
        self.width = width_dots
        self.cjk_text = cjk_text
        self.native_qr = native_qr
        self.cutter = cutter
        self.out = bytearray()

    def run(self, doc: Document) -> bytes:
        self.out += INIT
        if self.cjk_text:
            self.out += CHINESE_ON
        for el in doc.elements:
            if isinstance(el, Text):
                self.text(el)
            elif isinstance(el, KeyValue):
                for line in keyvalue_lines(el.key, el.value, columns(self.width)):
                    self.line(line, Align.LEFT, 1, False)
            elif isinstance(el, Rule):
                ch = (_clean(el.char) or "-")[0]
                self.line(ch * (columns(self.width) // char_cols(ch)), Align.LEFT, 1, False)
            elif isinstance(el, QRCode):
                self.qr(el)
            elif isinstance(el, Feed):
                self.out += ESC + b"d" + bytes([max(0, min(255, el.lines))])
            elif isinstance(el, Cut):
                self.out += CUT if self.cutter else ESC + b"d\x05"
            else:
                raise TypeError(f"unknown document element {el!r}")
        return bytes(self.out)

    def text(self, el: Text) -> None:
        scale = max(1, min(8, el.size))
        if el.bold:
            self.out += ESC + b"E\x01"
        if scale > 1:
            self.out += GS + b"!" + bytes([(scale - 1) << 4 | (scale - 1)])
            if self.cjk_text:
                self.out += FS + b"!\x0c"
            # Line spacing that clears the taller glyphs, so lines never touch on any printer.
            self.out += ESC + b"3" + bytes([line_height(scale)])
        for line in wrap(el.text, columns(self.width, scale)):
            self.line(line, el.align, scale, el.bold)
        if scale > 1:
            self.out += GS + b"!\x00" + ESC + b"2"
            if self.cjk_text:
                self.out += FS + b"!\x00"
        if el.bold:
            self.out += ESC + b"E\x00"

    def line(self, line: str, align: Align, scale: int, bold: bool) -> None:
        if any(needs_raster(ch, self.cjk_text) for ch in line):
            self.raster_line(line, align, scale, bold)
            return
        if align is not Align.LEFT:
            self.out += ESC + b"a" + bytes([_ALIGN[align]])
        self.out += line.encode("gb18030") + LF
        if align is not Align.LEFT:
            self.out += ESC + b"a\x00"

    def raster_line(self, line: str, align: Align, scale: int, bold: bool) -> None:
        w = sum(render.cell_width(ch, scale) for ch in line)
        left = {Align.LEFT: 0, Align.CENTER: (self.width - w) // 2, Align.RIGHT: self.width - w}[align]
        # Only the glyph rows go as image; the gap below is a paper feed, not blank data.
        img = render.draw_line(line, w, scale=scale, bold=bold)
        self.out += raster(img, max(0, left))
        self.out += ESC + b"J" + bytes([line_height(scale) - img.height])

    def qr(self, el: QRCode) -> None:
        q, size = _qr(el.data, el.size, self.width)
        quiet = bytes([min(255, 4 * size)])
        self.out += ESC + b"J" + quiet  # quiet zone above: 4 modules
        if self.native_qr:
            data = el.data.encode("utf-8")
            store = len(data) + 3
            self.out += ESC + b"a\x01"
            self.out += GS + b"(k\x04\x00\x31\x41\x32\x00"  # model 2
            self.out += GS + b"(k\x03\x00\x31\x43" + bytes([size])  # module size
            self.out += GS + b"(k\x03\x00\x31\x45" + bytes([QR_EC_M])  # error correction M
            self.out += GS + b"(k" + bytes([store & 0xFF, store >> 8]) + b"\x31\x50\x30" + data
            self.out += GS + b"(k\x03\x00\x31\x51\x30"  # print the stored symbol
            self.out += ESC + b"a\x00"
        else:
            img = q.make_image().get_image().convert("L")
            img = img.resize((img.width * size, img.height * size), Image.Resampling.NEAREST)
            self.out += raster(img, max(0, (self.width - img.width) // 2))
        self.out += ESC + b"J" + quiet


def encode(document: Document, width_dots: int = 576, cjk_text: bool = True, native_qr: bool = True,
           cutter: bool = True) -> bytes:
    """The whole job: ``ESC @``, Chinese mode, the elements, the cut."""
    return _Encoder(width_dots, cjk_text, native_qr, cutter).run(document)


# --- status (spec section B) -------------------------------------------------------------------


def status_query(n: int) -> bytes:
    """``DLE EOT n``: 1 printer, 2 offline cause, 3 error cause, 4 paper sensor."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, not {n}")
    return DLE + b"\x04" + bytes([n])


def is_status_reply(byte: int) -> bool:
    """A ``DLE EOT`` reply has bit0=0, bit1=1, bit4=1, bit7=0."""
    return byte & 0x93 == 0x12


def is_gs_r_reply(byte: int) -> bool:
    """A ``GS r 1`` reply has bit4=0 (and bit7=0), which tells it from ``DLE EOT`` replies."""
    return byte & 0x90 == 0


def parse_status(n: int, byte: int | None) -> dict[str, DeviceState | PaperState | CoverState]:
    """The status words one ``DLE EOT n`` reply tells; ``None`` (no reply) gives UNKNOWN words.

    1 → device online/offline; 2 → cover open/closed (+ paper out when stopped by paper end,
    device hardware_error when the error bit is set); 3 → device hardware_error for cutter or
    unrecoverable errors, offline for auto-recoverable ones; 4 → paper full/low/out.
    """
    status_query(n)  # validates n
    if byte is None:
        return {1: {"device": DeviceState.UNKNOWN}, 2: {"cover": CoverState.UNKNOWN}, 3: {},
                4: {"paper": PaperState.UNKNOWN}}[n]
    if not is_status_reply(byte):
        raise ProtocolError(f"not a DLE EOT {n} reply: 0x{byte:02x}")
    words: dict[str, DeviceState | PaperState | CoverState] = {}
    if n == 1:
        words["device"] = DeviceState.OFFLINE if byte & 0x08 else DeviceState.ONLINE
    elif n == 2:
        words["cover"] = CoverState.OPEN if byte & 0x04 else CoverState.CLOSED
        if byte & 0x20:
            words["paper"] = PaperState.OUT
        if byte & 0x40:
            words["device"] = DeviceState.HARDWARE_ERROR
    elif n == 3:
        if byte & 0x28:
            words["device"] = DeviceState.HARDWARE_ERROR
        elif byte & 0x40:
            words["device"] = DeviceState.OFFLINE
    else:
        if byte & 0x60:
            words["paper"] = PaperState.OUT
        elif byte & 0x0C:
            words["paper"] = PaperState.LOW
        else:
            words["paper"] = PaperState.FULL
    return words


def parse_gs_r1(byte: int) -> PaperState:
    """Paper word from a ``GS r 1`` reply (bits 0-1 near end, bits 2-3 paper end)."""
    if not is_gs_r_reply(byte):
        raise ProtocolError(f"not a GS r 1 reply: 0x{byte:02x}")
    if byte & 0x0C:
        return PaperState.OUT
    return PaperState.LOW if byte & 0x03 else PaperState.FULL
