"""The audit: what a citizen with weak eyes or unsteady fingers would trip over, read off the live
widget tree and the frame it draws.

Rules (issue 15): every touch target at least 44 dp both ways (60 dp in elder mode); every text at
least 18 px (30 px in elder mode); text contrast at least 4.5:1 and a control's edge at least 3:1
against what is actually drawn behind it; no text that overflows its box or is shortened; no
message id on screen, nor a Simplified Chinese fallback for a word missing from the catalogue.

Only what a person can see is audited: nothing under zero opacity, of zero size, outside the
window or scrolled out of its view, nor the demo panel (a developer's harness beside the kiosk).
Colours behind text and controls are sampled from the rendered frame (``Frame``), so every way of
drawing (rectangles, button backgrounds, lines, textures, opacity) counts as it looks.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from PIL import Image

from screens.linebreak import ELLIPSIS

RULES = ("target", "text_size", "contrast", "edge", "overflow", "untranslated")
SKIP = ("DemoPanel",)


@dataclass(frozen=True)
class Limits:
    target_dp: float = 44
    text_px: float = 18
    text_contrast: float = 4.5
    edge_contrast: float = 3.0


NORMAL = Limits()
ELDER = Limits(target_dp=60, text_px=30)


@dataclass(frozen=True)
class Violation:
    page: str  # the tour's picture name: <journey>-<NN>-<page>-<lang>[-elder]
    widget: str  # ids of its named ancestors, then its class, id and text
    rule: str
    measured: str
    required: str

    def __str__(self) -> str:
        return f"{self.page}  {self.widget}  {self.rule}: {self.measured} (needs {self.required})"

    def as_dict(self) -> dict:
        return asdict(self)


# -- colour ---------------------------------------------------------------------------------
def luminance(rgb: Iterable[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour with channels in 0..1."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: Iterable[float], b: Iterable[float]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def over(rgba: Iterable[float], alpha: float, bg: tuple[float, float, float]) -> tuple[float, float, float]:
    """``rgba`` drawn with ``alpha`` (its own times the widgets' opacity) over ``bg``."""
    r, g, b, a = rgba
    a *= alpha
    return tuple(a * c + (1 - a) * k for c, k in zip((r, g, b), bg, strict=True))


def hexcolour(rgb: Iterable[float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


# -- the frame --------------------------------------------------------------------------------
Rect = tuple[float, float, float, float]  # x, y (bottom-left, window coordinates), width, height


def intersect(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None or b is None:
        return None
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


class Frame:
    """The pixels of one rendered frame, addressed in window coordinates (origin bottom-left)."""

    def __init__(self, image: Image.Image):
        self.image = image.convert("RGB")
        self.width, self.height = self.image.size

    @classmethod
    def of(cls, widget) -> Frame:
        """Render ``widget`` (the app's root: the whole window) off screen and keep its pixels."""
        texture = widget.export_as_image().texture
        image = Image.frombytes("RGBA", texture.size, texture.pixels)
        # export_as_image flips the picture for saving: its first row is the top of the window.
        return cls(image.crop((0, 0, *texture.size)))

    def colours(self, rect: Rect | None) -> Counter:
        if rect is None:
            return Counter()
        x, y, w, h = rect
        box = (max(0, int(x)), max(0, int(self.height - y - h)), min(self.width, int(x + w)),
               min(self.height, int(self.height - y)))
        if box[2] <= box[0] or box[3] <= box[1]:
            return Counter()
        part = self.image.crop(box)
        # (maxcolors: at most one colour a pixel; a larger bound costs PIL a table that size)
        return Counter({rgb: n for n, rgb in part.getcolors(maxcolors=part.width * part.height)})

    def commonest(self, rects: Iterable[Rect | None], avoid: tuple[float, ...] | None = None):
        """The colour most pixels of ``rects`` have (0..1 channels), leaving out ``avoid`` (a text
        colour: big bold digits may cover more of their box than the background does)."""
        counts: Counter = Counter()
        for rect in rects:
            counts.update(self.colours(rect))
        if avoid is not None:
            near = [round(c * 255) for c in avoid[:3]]
            rest = Counter({rgb: n for rgb, n in counts.items()
                            if sum(abs(a - b) for a, b in zip(rgb, near, strict=True)) > 24})
            # Glyphs never cover most of their box: if that colour does, it is the background
            # (text drawn in the colour of what is behind it).
            if rest.total() >= counts.total() * 0.4:
                counts = rest
        if not counts:
            return None
        rgb = counts.most_common(1)[0][0]
        return tuple(c / 255 for c in rgb)


# -- what is visible ----------------------------------------------------------------------------
@dataclass
class Seen:
    widget: object
    box: Rect  # where it is on the window
    visible: Rect  # the part of it not clipped by the window or a scrolling view
    alpha: float  # its opacity times its ancestors'
    name: str
    disabled: bool
    parent_box: Rect | None = None
    scrolled: bool = False  # inside a scrolling view: its parent may extend beyond the window
    extra: dict = field(default_factory=dict)


def window_box(w) -> Rect:
    x0, y0 = w.to_window(w.x, w.y)
    x1, y1 = w.to_window(w.right, w.top)
    return (min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))


def _ids(root) -> dict[int, str]:
    names: dict[int, str] = {}
    for w in root.walk(restrict=True):
        for name, ref in getattr(w, "ids", {}).items():
            with contextlib.suppress(ReferenceError):  # a widget gone since
                names.setdefault(id(ref.__self__), name)
    return names


def describe(w, names: dict[int, str], trail: tuple[str, ...]) -> str:
    own = type(w).__name__ + (f"#{names[id(w)]}" if id(w) in names else "")
    text = getattr(w, "text", "")
    text = f" {text[:24]!r}" if isinstance(text, str) and text.strip() else ""
    return "/".join((*trail, own)) + text


def visible(root, window: Rect, skip: tuple[str, ...] = SKIP) -> list[Seen]:
    """Every widget a person can see under ``root``, parents before children."""
    from kivy.uix.scrollview import ScrollView
    from kivy.uix.stencilview import StencilView

    names = _ids(root)
    out: list[Seen] = []

    def walk(w, alpha: float, clip: Rect | None, trail: tuple[str, ...], parent_box, scrolled, disabled):
        if type(w).__name__ in skip:
            return
        alpha *= w.opacity
        if alpha <= 0.01:
            return
        box = window_box(w)
        disabled = disabled or w.disabled
        shown = intersect(box, clip)
        if w.width > 0 and w.height > 0 and shown is not None:
            out.append(Seen(w, box, shown, alpha, describe(w, names, trail), disabled, parent_box, scrolled))
        if isinstance(w, StencilView):
            clip = intersect(clip, box)
        if id(w) in names:
            trail = (*trail, names[id(w)])
        for child in reversed(w.children):
            walk(child, alpha, clip, trail, box, scrolled or isinstance(w, ScrollView), disabled)

    walk(root, 1.0, window, (), None, False, False)
    return out


def is_target(w) -> bool:
    from kivy.uix.behaviors import ButtonBehavior

    return isinstance(w, ButtonBehavior) or any(w.is_event_type(e) for e in ("on_press", "on_release"))


def has_text(w) -> bool:
    from kivy.uix.label import Label

    return isinstance(w, Label) and bool(w.text.strip())


def text_colour(w) -> tuple[float, ...]:
    return tuple(w.disabled_color if w.disabled else w.color)


def text_rect(s: Seen) -> Rect:
    """Where the label's texture is drawn: centred on its box (Kivy's Label rule)."""
    w = s.widget
    tw, th = w.texture_size
    x, y, bw, bh = s.box
    return (x + bw / 2 - tw / 2, y + bh / 2 - th / 2, tw, th)


# -- the rules ----------------------------------------------------------------------------------
def targets(seen: list[Seen], page: str, limits: Limits) -> list[Violation]:
    from kivy.metrics import dp

    out = []
    for s in seen:
        if s.disabled or not is_target(s.widget):
            continue
        w, h = s.box[2] / dp(1), s.box[3] / dp(1)
        if min(w, h) < limits.target_dp - 0.5:
            out.append(Violation(page, s.name, "target", f"{w:.0f}x{h:.0f} dp",
                                 f">= {limits.target_dp:.0f}x{limits.target_dp:.0f} dp"))
    return out


def text_sizes(seen: list[Seen], page: str, limits: Limits) -> list[Violation]:
    return [Violation(page, s.name, "text_size", f"{s.widget.font_size:.0f} px", f">= {limits.text_px:.0f} px")
            for s in seen if has_text(s.widget) and s.widget.font_size < limits.text_px - 0.5]


def text_contrasts(seen: list[Seen], page: str, limits: Limits, frame: Frame) -> list[Violation]:
    out = []
    for s in seen:
        if s.disabled or not has_text(s.widget):
            continue
        fg = text_colour(s.widget)
        area = intersect(text_rect(s), s.visible) or s.visible
        bg = frame.commonest([area], avoid=fg if fg[3] * s.alpha > 0.99 else None)
        if bg is None:
            continue
        seen_fg = over(fg, s.alpha, bg)
        ratio = contrast(seen_fg, bg)
        if ratio < limits.text_contrast - 0.005:
            out.append(Violation(page, s.name, "contrast",
                                 f"{ratio:.2f}:1 ({hexcolour(seen_fg)} on {hexcolour(bg)})",
                                 f">= {limits.text_contrast}:1"))
    return out


def _ring(r: Rect, inner: float, outer: float) -> list[Rect]:
    """Four strips around ``r`` from ``inner`` to ``outer`` px outside it (negative: inside):
    bottom, top, left, right."""
    x, y, w, h = r
    t = outer - inner
    return [(x - outer, y - outer, w + 2 * outer, t), (x - outer, y + h + inner, w + 2 * outer, t),
            (x - outer, y - inner, t, h + 2 * inner), (x + w + inner, y - inner, t, h + 2 * inner)]


def _shown_ring(s: Seen, inner: float, outer: float, window: Rect) -> list[Rect | None]:
    """``_ring`` of the control's box, on the sides of it that show. A side scrolled out of view
    (past the edge of a scrolling view, or of the window) has no edge to see, and what is drawn
    beyond it is not what the control stands on; the other sides are cut as the control is."""
    x, y, w, h = s.box
    vx, vy, vw, vh = s.visible
    shows = (vy <= y + 0.5, vy + vh >= y + h - 0.5, vx <= x + 0.5, vx + vw >= x + w - 0.5)  # as _ring's
    near = (vx - outer, vy - outer, vw + 2 * outer, vh + 2 * outer)
    return [intersect(intersect(r, near), window) for r, side in zip(_ring(s.box, inner, outer), shows, strict=True)
            if side]


def edges(seen: list[Seen], page: str, limits: Limits, frame: Frame, window: Rect) -> list[Violation]:
    """A control stands out from what is around it by its fill or by its border (WCAG 1.4.11)."""
    out = []
    for s in seen:
        if s.disabled or not is_target(s.widget):
            continue
        fg = text_colour(s.widget) if has_text(s.widget) else None
        x, y, w, h = s.box
        around = frame.commonest(_shown_ring(s, 3, 7, window))
        fill = frame.commonest([intersect((x + 4, y + 4, w - 8, h - 8), s.visible)], avoid=fg)
        if around is None or fill is None:
            continue
        # A border line is a ring a pixel or two wide, just inside the box or astride its edge.
        rings = [frame.commonest(_shown_ring(s, k, k + 1, window), avoid=fg) for k in (-3, -2, -1, 0, 1)]
        border = max((c for c in rings if c is not None), key=lambda c: contrast(c, around), default=fill)
        best = max(contrast(fill, around), contrast(border, around))
        if best < limits.edge_contrast - 0.005:
            out.append(Violation(page, s.name, "edge",
                                 f"{best:.2f}:1 (fill {hexcolour(fill)}, edge {hexcolour(border)} "
                                 f"on {hexcolour(around)})", f">= {limits.edge_contrast}:1"))
    return out


def inside(a: Rect, b: Rect, tol: float = 1.0) -> bool:
    return (a[0] >= b[0] - tol and a[1] >= b[1] - tol and a[0] + a[2] <= b[0] + b[2] + tol
            and a[1] + a[3] <= b[1] + b[3] + tol)


def _needed(w, width) -> tuple[float, float, int]:
    """The size the label's whole text takes at ``width`` (None: on one line), neither cut by a
    height nor shortened, and its number of lines."""
    opts = dict(w._label.options)
    opts.update(text=w.text, text_size=(width, None), shorten=False, max_lines=0)
    core = type(w._label)(**opts)  # (a markup label measures its markup as drawn)
    core.refresh()
    return (*(core.texture.size if core.texture else (0, 0)), len(core._cached_lines))


def _leading(w) -> float:
    """What a line's height has beyond the font size (the CJK face's is large): it may spill
    out of a box a little; the glyphs may not."""
    line_h = w._label.get_cached_extents()("国")[1]
    return max(0.0, line_h - w.font_size)


def keeps_tail(w) -> bool:
    """A declared shortening (screens/linebreak.py): a label with ``max_lines`` that drew all of
    them, the last one "…" and the real end of its text (what tells two long names apart). The
    rest of the overflow rule still holds: every line it draws must be inside its box."""
    lines = ["".join(word.text for word in line.words) for line in w._label._cached_lines]
    last = lines[-1].strip() if lines else ""
    return (bool(w.max_lines) and len(lines) == w.max_lines and last.startswith(ELLIPSIS)
            and len(last) > 1 and w.text.endswith(last[1:]))


def overflows(seen: list[Seen], page: str, window: Rect) -> list[Violation]:
    out = []
    for s in seen:
        w = s.widget
        if not has_text(w):
            continue
        x, y, bw, bh = s.box
        tw, th = w.texture_size
        text_w, text_h = w.text_size
        slack = _leading(w)
        if w.shorten:  # Kivy ends a line that does not fit with "…": the rest of the text is lost
            tw2, th2, _n = _needed(w, None)
            if tw2 > (text_w or bw) + 1:
                out.append(Violation(page, s.name, "overflow", f"text {tw2:.0f} px wide shortened to "
                                     f"{text_w or bw:.0f} px", "the whole text in its box"))
                continue
        if (text_h is not None or w.max_lines) and not keeps_tail(w):  # Kivy drops the lines that do not fit
            tw2, th2, lines = _needed(w, text_w)
            # (A line dropped whole may leave less height than the leading lets spill: count them.)
            drawn = len(w._label._cached_lines)
            if th2 - slack > max(bh, text_h or 0) + 1 or (text_w is None and tw2 > bw + 1) or drawn < lines:
                out.append(Violation(page, s.name, "overflow", f"text {tw2:.0f}x{th2:.0f} px cut to "
                                     f"{bw:.0f}x{bh:.0f} px", "the whole text in its box"))
                continue
        if tw > bw + 1 or th - slack > bh + 1:
            out.append(Violation(page, s.name, "overflow", f"text {tw:.0f}x{th:.0f} px in a {bw:.0f}x{bh:.0f} px box",
                                 "the whole text in its box"))
            continue
        if s.scrolled:  # partly scrolled out of view is not cut off: the rules below do not apply
            continue
        drawn = text_rect(s)
        if not inside(drawn, window, tol=slack / 2 + 1):
            out.append(Violation(page, s.name, "overflow", "text runs off the window", "the whole text on screen"))
            continue
        p = s.parent_box
        if p is not None and not inside(s.box, p):
            out.append(Violation(page, s.name, "overflow",
                                 f"box {bw:.0f}x{bh:.0f} px at ({x:.0f},{y:.0f}) out of its parent's "
                                 f"{p[2]:.0f}x{p[3]:.0f} px at ({p[0]:.0f},{p[1]:.0f})", "inside its parent"))
    return out


_MESSAGE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def _catalogue_words(lang: str) -> tuple[set[str], set[str], dict[str, str]]:
    from kiosk.i18n import LANGUAGES, catalogue

    keys = set().union(*(catalogue(x) for x in LANGUAGES))
    prefixes = {k.split(".", 1)[0] for k in keys}
    own, fallback = catalogue(lang), catalogue("zh_CN")
    # What a missing word falls back to: Simplified Chinese, in a 繁體 or English page.
    missing = {} if lang == "zh_CN" else {fallback[k]: k for k in set(fallback) - set(own) if "{" not in fallback[k]}
    return keys, prefixes, missing


def untranslated(seen: list[Seen], page: str, lang: str) -> list[Violation]:
    keys, prefixes, missing = _catalogue_words(lang)
    out = []
    for s in seen:
        if not has_text(s.widget):
            continue
        text = s.widget.text.strip()
        if text in keys or (_MESSAGE_ID.match(text) and text.split(".", 1)[0] in prefixes):
            out.append(Violation(page, s.name, "untranslated", f"message id {text!r} shown", f"its {lang} text"))
        elif text in missing:
            out.append(Violation(page, s.name, "untranslated", f"{missing[text]!r} missing in {lang}: "
                                 f"shown in zh_CN", f"its {lang} text"))
    return out


def audit(root, page: str, lang: str, limits: Limits = NORMAL, frame: Frame | None = None,
          skip: tuple[str, ...] = SKIP) -> list[Violation]:
    """Every rule on what ``root`` shows now (laid out and drawn: call it a frame after a change)."""
    window = (0.0, 0.0, float(root.width), float(root.height))
    frame = frame or Frame.of(root)
    seen = visible(root, window, skip)
    return [*targets(seen, page, limits), *text_sizes(seen, page, limits),
            *text_contrasts(seen, page, limits, frame), *edges(seen, page, limits, frame, window),
            *overflows(seen, page, window), *untranslated(seen, page, lang)]


def summary(violations: list[Violation]) -> Iterator[str]:
    """Counts per rule, then every violation, one a line."""
    counts = Counter(v.rule for v in violations)
    yield f"{len(violations)} violations: " + ", ".join(f"{r} {counts[r]}" for r in RULES if counts[r])
    yield from (str(v) for v in violations)
