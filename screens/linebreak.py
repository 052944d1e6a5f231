"""Line breaking for Chinese (and mixed) text, done before Kivy lays a label out.

Kivy's own wrapping breaks only at spaces, and a run without spaces (all of Chinese) anywhere it
runs out of room: a line may then start with "，" or "。", or end with "（" or "《". ``break_lines``
measures with the label's own font (``measure``) and puts each line break where Chinese typesetting
allows one (between two CJK characters, after a space), never before closing punctuation nor after
opening punctuation; the lines it returns already fit, so Kivy keeps them as they are.

``BreakingLabel`` and ``BreakingButton`` do it for every label of the kiosk (widgets.kv).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Never at the start of a line (closing punctuation, and marks that belong to what precedes them).
CLOSING = set("，。、；：？！）」』】》〉〕］｝”’…—·～%,.;:?!)]}»›‥・ー々〃")
# Never at the end of a line.
OPENING = set("（「『【《〈〔［｛“‘([{«‹")
ELLIPSIS = "…"
_TAG = re.compile(r"\[/?[a-z_]+(?:=[^\]]*)?\]")  # Kivy markup: takes no room


def _cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
            or 0xFF00 <= o <= 0xFFEF or 0x20000 <= o <= 0x3FFFF)


def may_break(before: str, after: str) -> bool:
    """A line may end with ``before`` and the next start with ``after``."""
    if after in CLOSING or before in OPENING:
        return False
    if before == " ":
        return True
    return (_cjk(before) or _cjk(after)) and after != " "


def break_lines(text: str, width: float, measure: Callable[[str], float], max_lines: int = 0) -> list[str]:
    """``text`` as lines no wider than ``width``; explicit newlines kept. With ``max_lines`` the text
    that does not fit is cut from the middle of the last line, so its end (what tells two long
    names apart) stays: "…" and as much of the tail as fits."""
    lines: list[str] = []
    for para in text.split("\n"):
        lines += _paragraph(para, width, measure)
    if max_lines and len(lines) > max_lines:
        kept = lines[:max_lines - 1]
        rest = "".join(lines[max_lines - 1:]) if _cjk_text(text) else " ".join(lines[max_lines - 1:])
        kept.append(_tail(rest, width, measure))
        lines = kept
    return lines


def _cjk_text(text: str) -> bool:
    return any(_cjk(ch) for ch in text)


def _tail(rest: str, width: float, measure) -> str:
    start = 0
    while start < len(rest) and measure(ELLIPSIS + rest[start:]) > width:
        start += 1
    while start < len(rest) and rest[start] in CLOSING | {" "}:  # nor after the ellipsis
        start += 1
    return ELLIPSIS + rest[start:]


def _paragraph(text: str, width: float, measure) -> list[str]:
    if not text or measure(text) <= width:
        return [text]
    lines = []
    start = 0
    while start < len(text):
        end = start + 1
        while end < len(text) and measure(text[start:end + 1].rstrip()) <= width:
            end += 1
        if end >= len(text):
            lines.append(text[start:])
            break
        # text[start:end] fits and text[end] does not: the last place a line may end, at or before end.
        cut = next((i for i in range(end, start, -1) if may_break(text[i - 1], text[i])), None)
        if cut is None:  # one word longer than the line: cut it where it fills the line
            cut = end
            while cut - 1 > start and text[cut] in CLOSING:
                cut -= 1  # the mark takes the character before it along
        lines.append(text[start:cut].rstrip())
        start = cut
        while start < len(text) and text[start] == " ":
            start += 1
    return lines


def break_markup(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``break_lines`` for Kivy markup: tags take no room and stay where they were."""
    tags = []  # (index into the visible text, tag)
    visible, pos = [], 0
    for m in _TAG.finditer(text):
        visible.append(text[pos:m.start()])
        tags.append((sum(map(len, visible)), m.group()))
        pos = m.end()
    visible.append(text[pos:])
    plain = "".join(visible)
    lines = break_lines(plain, width, measure)
    out, i, t = [], 0, 0
    for n, line in enumerate(lines):
        if n:
            while i < len(plain) and plain[i] in " \n":  # what the break took the place of
                i += 1
            out.append("\n")
        for ch in line:
            while t < len(tags) and tags[t][0] <= i:
                out.append(tags[t][1])
                t += 1
            out.append(ch)
            i += 1
    out += [tag for _, tag in tags[t:]]
    return "".join(out)


def line_room(width: float, padding) -> float:
    """The width a line of a label ``width`` wide may take (slack: Kivy measures word by word,
    bold a bit wider)."""
    return (width - padding[0] - padding[2]) * 0.99 - 2


def breaking(core_cls):
    """A subclass of Kivy's core label class that lays its text out with ``break_lines`` first."""

    class Breaking(core_cls):
        def render(self, real=False):
            # The layout pass (real=False) lays out our lines; the drawing pass draws what it laid out.
            raw = self._text
            width = (self.usersize or (None, None))[0]
            if real or not raw or not width or self.options.get("shorten"):
                return super().render(real)
            self.resolve_font_name()
            room = line_room(width, self.options.get("padding") or (0, 0, 0, 0))
            if "[" in raw and core_cls.__name__ == "MarkupLabel":
                self._text = break_markup(raw, room, self._plain_width)
            else:
                self._text = "\n".join(break_lines(raw, room, self._plain_width, self.options.get("max_lines") or 0))
            try:
                return super().render(real)
            finally:
                self._text = raw

        def _plain_width(self, text: str) -> float:
            return self.get_extents(text)[0]

    Breaking.__name__ = f"Breaking{core_cls.__name__}"
    return Breaking
