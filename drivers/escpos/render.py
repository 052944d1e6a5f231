"""Glyph cells as a Chinese-mode receipt printer lays them out, drawn with the kiosk's CJK font.

Shared by the encoder (lines it must send as raster) and the virtual printer (everything it
prints), so a raster line and a text line of the same words look alike on paper.

Geometry of font A on a 203 dpi head: ASCII in 12×24 cells, Chinese (every double-byte GB code,
punctuation included) in 24×24 cells. ASCII uses the font's half-width forms (OpenType ``hwid``)
so Latin letters sit in their 12-dot cells the way a printer's ROM font does.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from devices.fonts import cjk_font

CELL_H = 24
WIDE_W = 24
NARROW_W = 12
# Noto Sans CJK's ideographic em box runs from 0.88 em above the baseline to 0.12 em below.
_BASELINE = 0.88
INK = 0  # black on "L" images
PAPER = 255


class _FontFile:
    """A font file read once and handed to every size of it. Given a path, FreeType maps the file
    again for each size, and each mapping's pages count again in the resident size as new
    characters are drawn: the soak saw the bold face's grow in 2 MB steps, three mappings deep, to
    ~3x the file. Read once, a face costs its file's size (~17 MB) from the first glyph, and stays
    there."""

    def __init__(self, path: str):
        with open(path, "rb") as f:
            self.data = f.read()

    def read(self) -> bytes:  # what ImageFont.truetype reads a font from; every size shares the bytes
        return self.data


@lru_cache(maxsize=2)
def _font_file(bold: bool) -> _FontFile:
    return _FontFile(str(cjk_font("bold" if bold else "regular")))


@lru_cache(maxsize=32)
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_file(bold), size)  # type: ignore[arg-type]  (it only calls read())


@lru_cache(maxsize=1)
def _has_raqm() -> bool:
    from PIL import features

    return bool(features.check("raqm"))


def is_wide(ch: str) -> bool:
    """Wide (24-dot) the way a Chinese-mode printer prints it: any non-ASCII character that is
    double-byte GB18030 is a Hanzi-font glyph; others by their East Asian width."""
    if ord(ch) < 0x80:
        return False
    try:
        if len(ch.encode("gb18030")) == 2:
            return True
    except UnicodeEncodeError:
        pass
    return unicodedata.east_asian_width(ch) in ("W", "F")


@lru_cache(maxsize=8192)
def glyph(ch: str, wide: bool, sx: int = 1, sy: int = 1, bold: bool = False) -> Image.Image:
    """One character cell as an "L" image (black ink on white), 1-bit like a thermal head."""
    size = CELL_H * sy
    w = (WIDE_W if wide else NARROW_W) * sy  # drawn at the height's scale, stretched to sx below
    cell = Image.new("L", (w, size), 0)
    if ch.strip():
        draw = ImageDraw.Draw(cell)
        font = _font(bold, size)
        features = ["hwid"] if (not wide and ord(ch) < 0x80 and _has_raqm()) else None
        kwargs = {"features": features} if features else {}
        advance = font.getlength(ch, **kwargs)
        x = max(0.0, (w - advance) / 2)
        draw.text((x, round(size * _BASELINE)), ch, font=font, fill=255, anchor="ls", **kwargs)
        if advance > w + 1:  # a proportional glyph wider than its cell: squeeze it in
            wide_cell = Image.new("L", (int(advance) + 1, size), 0)
            ImageDraw.Draw(wide_cell).text((0, round(size * _BASELINE)), ch, font=font, fill=255,
                                           anchor="ls", **kwargs)
            cell = wide_cell.resize((w, size), Image.Resampling.LANCZOS)
    if sx != sy:
        cell = cell.resize(((WIDE_W if wide else NARROW_W) * sx, size), Image.Resampling.LANCZOS)
    # Threshold to dots; ink becomes 0 (black) on 255 (white).
    return cell.point(lambda v: INK if v >= 110 else PAPER)


def cell_width(ch: str, sx: int = 1) -> int:
    return (WIDE_W if is_wide(ch) else NARROW_W) * sx


def draw_line(text: str, width_dots: int, *, left: int = 0, scale: int = 1, bold: bool = False,
              height: int | None = None) -> Image.Image:
    """A printed line as an image: glyph cells from ``left`` on, cells at the top of the line."""
    h = height or CELL_H * scale
    img = Image.new("L", (width_dots, h), PAPER)
    x = left
    for ch in text:
        g = glyph(ch, is_wide(ch), scale, scale, bold)
        if x + g.width > width_dots:
            break
        img.paste(g, (x, 0))
        x += g.width
    return img
