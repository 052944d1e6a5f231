"""The one place the screens take their sizes and colours from.

Every .kv rule reads ``app.theme.<role>`` (a Kivy property, so a rule follows a change): text
sizes and target heights in pixels, colours as RGBA. Elder mode (长辈模式) is a runtime switch:
``theme.elder = True`` recomputes every role, and every rule bound to one redraws.
"""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty

# Text roles in sp, as (normal, elder). Elder mode: at least 1.5x, and never under 30 px.
TEXT = {
    "display": (120, 150),  # a queue number
    "hero": (44, 66),  # a page's one message: "place your card", a notice's title, a case number
    "title": (32, 48),  # a page's heading
    "heading": (26, 39),  # a section's heading, a primary button
    "body": (22, 33),  # what is read
    "small": (18, 30),  # the least: hints, status, chips
}
# Target heights in dp, as (normal, elder): every target at least 44 dp, 60 dp in elder mode.
TARGETS = {
    "button_h": (76, 96),  # a primary action
    "secondary_h": (64, 84),
    "key_h": (62, 64),  # a keyboard key (ten across half the page: more would not fit 1280 px)
    "chip_h": (52, 64),  # a popular topic, a pinyin candidate
    "row_h": (112, 164),  # a result row: two lines of name, one of department
    "header_h": (84, 96),
}


def text_px(size_sp: float) -> int:
    """A text size in whole pixels. Kivy opens a font object per (face, size) it is asked for, keyed
    by the size's text: a markup tag's [size=18] is an int, so 18.0 from sp() was a second copy
    (~2.5 MB each for a CJK face)."""
    return round(sp(size_sp))


def text_sizes() -> list[int]:
    """Every size a role takes, in normal and in elder mode: the font objects the kiosk needs."""
    return sorted({text_px(size) for sizes in TEXT.values() for size in sizes})


class Theme(EventDispatcher):
    elder = BooleanProperty(False)

    display = NumericProperty(0)
    hero = NumericProperty(0)
    title = NumericProperty(0)
    heading = NumericProperty(0)
    body = NumericProperty(0)
    small = NumericProperty(0)

    button_h = NumericProperty(0)
    secondary_h = NumericProperty(0)
    key_h = NumericProperty(0)
    chip_h = NumericProperty(0)
    row_h = NumericProperty(0)
    header_h = NumericProperty(0)
    unit = NumericProperty(0)  # a layout unit (padding, spacing, fixed widths): dp(1), more in elder mode
    panel_w = NumericProperty(dp(240))  # the demo panel beside the kiosk (not the kiosk's: never larger)
    per_page = NumericProperty(8)  # result rows on one page: fewer in elder mode

    # Colours: contrast of text against what it is drawn on >= 4.5:1, of a control's edge >= 3:1.
    bg = ColorProperty((0.957, 0.965, 0.976, 1))  # the page
    surface = ColorProperty((1, 1, 1, 1))  # cards, keys, rows
    ink = ColorProperty((0.102, 0.102, 0.102, 1))
    muted = ColorProperty((0.33, 0.33, 0.36, 1))
    primary = ColorProperty((0.043, 0.361, 0.678, 1))
    primary_dark = ColorProperty((0.031, 0.263, 0.502, 1))
    on_primary = ColorProperty((1, 1, 1, 1))
    edge = ColorProperty((0.43, 0.46, 0.52, 1))  # the border of a key, chip or field
    danger = ColorProperty((0.72, 0.11, 0.11, 1))
    ok = ColorProperty((0.09, 0.45, 0.2, 1))
    warn = ColorProperty((0.66, 0.33, 0.0, 1))
    # Fills behind text (each keeps ink, muted, primary, warn and danger at >= 4.5:1).
    pressed = ColorProperty((0.8, 0.86, 0.95, 1))  # a key, row or chip while touched
    tint = ColorProperty((0.88, 0.92, 0.98, 1))  # a chip, the current step, a picture's card
    bar = ColorProperty((0.9, 0.92, 0.95, 1))  # the status bar
    warn_bg = ColorProperty((1, 0.93, 0.75, 1))  # the idle warning, what a case still needs
    on_primary_soft = ColorProperty((0.86, 0.92, 1, 1))  # the hall's name under the title

    def __init__(self, **kw):
        super().__init__(**kw)
        self._apply()

    def on_elder(self, *_):
        self._apply()

    def _apply(self) -> None:
        pick = 1 if self.elder else 0
        for role, sizes in TEXT.items():
            setattr(self, role, text_px(sizes[pick]))
        for role, sizes in TARGETS.items():
            setattr(self, role, dp(sizes[pick]))
        self.unit = dp(1.25 if self.elder else 1)
        self.per_page = 3 if self.elder else 8
