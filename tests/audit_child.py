"""Small hand-built pages under the audit (screens/audit.py), in a Kivy window of their own.

``python -m tests.audit_child`` prints one JSON object: case name -> the violations the audit
reports on it. tests/test_audit.py runs it once under the suite's Xvfb and reads each case.
"""

from __future__ import annotations

import json
import sys

from devices.fonts import cjk_font
from screens.kivy_setup import configure

configure(800, 600, False, 1.0, str(cjk_font("regular")), str(cjk_font("bold")), headless=True)

from kivy.app import App  # noqa: E402  (Kivy is configured first)
from kivy.base import EventLoop  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.lang import Builder  # noqa: E402
from kivy.metrics import dp  # noqa: E402
from kivy.properties import NumericProperty, ObjectProperty, StringProperty  # noqa: E402

from kiosk.i18n import Translator  # noqa: E402
from screens.audit import ELDER, NORMAL, audit  # noqa: E402
from screens.theme import Theme  # noqa: E402
from screens.widgets import BreakingLabel  # noqa: E402, F401  (the kiosk's labels, for the cases' kv)

# Each case: one FloatLayout on a light page, the widgets placed by hand (sizes in px, dp(1) = 1).
CASES = {
    "grey_on_white": """
Label:
    id: faint
    text: 'grey on white'
    color: 0.8, 0.8, 0.8, 1
    font_size: 22
    pos: 20, 500
    size: 300, 40
Label:
    id: ink
    text: 'ink on white'
    color: 0.1, 0.1, 0.1, 1
    font_size: 22
    pos: 20, 400
    size: 300, 40
Widget:
    pos: 400, 300
    size: 300, 200
    canvas:
        Color:
            rgba: 0.1, 0.2, 0.4, 1
        Rectangle:
            pos: self.pos
            size: self.size
Label:
    id: white_on_dark
    text: 'white on dark'
    color: 1, 1, 1, 1
    font_size: 22
    pos: 420, 420
    size: 260, 40
Label:
    id: grey_on_dark
    text: 'grey on dark'
    color: 0.35, 0.4, 0.5, 1
    font_size: 22
    pos: 420, 340
    size: 260, 40
""",
    "targets": """
Button:
    id: small
    text: 'x'
    font_size: 20
    pos: 20, 500
    size: 30, 30
Button:
    id: fifty
    text: 'ok'
    font_size: 20
    pos: 100, 500
    size: 50, 50
Button:
    id: wide_but_flat
    text: 'flat'
    font_size: 20
    pos: 200, 500
    size: 300, 36
Button:
    id: hidden
    text: 'h'
    font_size: 20
    opacity: 0
    pos: 20, 400
    size: 10, 10
Button:
    id: off_screen
    text: 'o'
    font_size: 20
    pos: -200, 400
    size: 10, 10
""",
    "overflow": """
Label:
    id: spills
    text: 'Medical insurance and business licence'
    color: 0, 0, 0, 1
    font_size: 20
    pos: 20, 500
    size: 120, 40
Label:
    id: shortened
    text: 'A very long item name that ends with what tells it apart'
    color: 0, 0, 0, 1
    font_size: 20
    shorten: True
    text_size: self.width, None
    pos: 20, 400
    size: 200, 40
BreakingLabel:  # (screens/widgets.py: it lays its lines out before Kivy, which drops those past the height)
    id: line_lost
    size_hint: None, None
    text: 'Please tell us what went wrong'
    color: 0, 0, 0, 1
    font_size: 33
    text_size: self.size
    valign: 'middle'
    pos: 20, 250
    size: 330, 84
BreakingLabel:  # a long item name in a result row: two lines, the middle cut, its end kept
    id: tail_kept
    size_hint: None, None
    text: '居民身份证申领换领补领登记（十六周岁以上首次申领及有效期满换领）'
    max_lines: 2
    color: 0, 0, 0, 1
    font_size: 30
    text_size: self.width, None
    pos: 560, 380
    size: 240, self.texture_size[1]
BreakingLabel:  # the same, but its box is one line high: the second line is lost
    id: tail_cut
    size_hint: None, None
    text: '居民身份证申领换领补领登记（十六周岁以上首次申领及有效期满换领）'
    max_lines: 2
    color: 0, 0, 0, 1
    font_size: 30
    text_size: self.size
    pos: 560, 250
    size: 240, 45
Label:
    id: wraps
    text: 'A long text that wraps onto lines inside its box'
    color: 0, 0, 0, 1
    font_size: 20
    text_size: self.width, None
    pos: 300, 300
    size: 200, self.texture_size[1]
""",
    "edges": """
Button:
    id: white_on_page
    text: 'no edge'
    color: 0, 0, 0, 1
    font_size: 20
    background_normal: ''
    background_color: 1, 1, 1, 1
    pos: 20, 500
    size: 150, 60
Button:
    id: bordered
    text: 'border'
    color: 0, 0, 0, 1
    font_size: 20
    background_normal: ''
    background_color: 1, 1, 1, 1
    pos: 200, 500
    size: 150, 60
    canvas.after:
        Color:
            rgba: 0.43, 0.46, 0.52, 1
        Line:
            rectangle: self.x + 1, self.y + 1, self.width - 2, self.height - 2
            width: 1.5
Button:
    id: filled
    text: 'filled'
    color: 1, 1, 1, 1
    font_size: 20
    background_normal: ''
    background_color: 0.043, 0.361, 0.678, 1
    pos: 400, 500
    size: 150, 60
""",
    # Chips in a row that scrolls sideways, the last partly scrolled out of view; beside the row,
    # a white panel. A chip is judged on the edges that show, against what is beside them.
    "scrolled": """
Widget:
    size_hint: None, None
    pos: 330, 280
    size: 300, 220
    canvas:
        Color:
            rgba: 1, 1, 1, 1
        Rectangle:
            pos: self.pos
            size: self.size
ScrollView:
    size_hint: None, None
    pos: 20, 400
    size: 310, 60
    do_scroll_y: False
    bar_width: 0
    BoxLayout:
        size_hint_x: None
        width: self.minimum_width
        spacing: 10
        ToggleButton:  # (a Button here would get the cases' size_hint line)
            id: framed
            text: 'framed'
            size_hint_x: None
            width: 250
            color: 0, 0, 0, 1
            font_size: 20
            background_normal: ''
            background_color: 1, 1, 1, 1
            canvas.after:
                Color:
                    rgba: 0.43, 0.46, 0.52, 1
                Line:
                    rectangle: self.x + 1, self.y + 1, self.width - 2, self.height - 2
                    width: 1.5
        ToggleButton:
            id: framed_cut
            text: 'framed too'
            size_hint_x: None
            width: 200
            color: 0, 0, 0, 1
            font_size: 20
            background_normal: ''
            background_color: 1, 1, 1, 1
            canvas.after:
                Color:
                    rgba: 0.43, 0.46, 0.52, 1
                Line:
                    rectangle: self.x + 1, self.y + 1, self.width - 2, self.height - 2
                    width: 1.5
ScrollView:
    size_hint: None, None
    pos: 20, 300
    size: 310, 60
    do_scroll_y: False
    bar_width: 0
    BoxLayout:
        size_hint_x: None
        width: self.minimum_width
        spacing: 10
        Widget:
            size_hint_x: None
            width: 250
        ToggleButton:
            id: bare_cut
            text: 'bare'
            size_hint_x: None
            width: 200
            color: 0, 0, 0, 1
            font_size: 20
            background_normal: ''
            background_color: 1, 1, 1, 1
""",
    "words": """
Label:
    id: message_id
    text: 'common.ok'
    color: 0, 0, 0, 1
    font_size: 20
    pos: 20, 500
    size: 300, 40
Label:
    id: unknown_id
    text: 'guides.no_such_word'
    color: 0, 0, 0, 1
    font_size: 20
    pos: 20, 400
    size: 300, 40
Label:
    id: address
    text: 'www.gov.cn'
    color: 0, 0, 0, 1
    font_size: 20
    pos: 20, 300
    size: 300, 40
""",
}

# A page built as the kiosk's are, every size and colour from app.theme: sound, it passes in
# both modes; with a broken theme each rule must name its widget.
THEMED = """
BoxLayout:
    orientation: 'vertical'
    padding: app.theme.unit * 20
    spacing: app.theme.unit * 10
    canvas.before:
        Color:
            rgba: app.theme.bg
        Rectangle:
            pos: self.pos
            size: self.size
    Label:
        id: heading
        text: app.tr('common.home')
        color: app.theme.ink
        font_size: app.theme.title
        size_hint_y: None
        height: self.texture_size[1]
    Label:
        id: hint
        text: app.tr('common.loading')
        color: app.theme.muted
        font_size: app.theme.small
        size_hint_y: None
        height: self.texture_size[1]
    Label:
        id: label
        text: app.tr(app.label_key)
        color: app.theme.ink
        font_size: app.theme.body
        size_hint_y: None
        height: self.texture_size[1]
    BoxLayout:
        size_hint_y: None
        height: app.theme.key_h
        spacing: app.theme.unit * 8
        Button:
            id: key
            text: 'a'
            size_hint_x: None
            width: app.theme.key_h
            font_size: app.theme.heading
            color: app.theme.ink
            background_normal: ''
            background_color: app.theme.surface
            canvas.after:
                Color:
                    rgba: app.theme.edge
                Line:
                    rectangle: self.x + 1, self.y + 1, self.width - 2, self.height - 2
                    width: 1.5
        Button:
            id: chip
            text: app.tr('common.back')
            size_hint_x: None
            width: max(self.texture_size[0], app.theme.key_h) + app.chip_pad
            font_size: app.theme.body
            color: app.theme.on_primary
            background_normal: ''
            background_color: app.theme.primary
        Widget:
    Widget:
"""


class AuditApp(App):
    theme = ObjectProperty(None)
    label_key = StringProperty("common.back")
    chip_pad = NumericProperty(dp(24))  # the broken case makes the chip narrower than its word

    def build(self):
        self.tr = Translator("en")
        self.theme = Theme()
        return Builder.load_string("FloatLayout:")

    def on_start(self):
        Clock.schedule_once(self.check, 0)

    def frames(self, n=3):
        for _ in range(n):
            EventLoop.idle()

    def page(self, kv: str):
        root = self.root
        root.clear_widgets()
        page = Builder.load_string(kv)
        root.add_widget(page)
        self.frames()
        return page

    def check(self, _dt):
        results = {}
        for name, body in CASES.items():
            kv = "FloatLayout:\n    canvas.before:\n        Color:\n            rgba: 0.957, 0.965, 0.976, 1\n" \
                 "        Rectangle:\n            pos: self.pos\n            size: self.size\n"
            kv += "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
            kv = kv.replace("    Label:\n", "    Label:\n        size_hint: None, None\n").replace(
                "    Button:\n", "    Button:\n        size_hint: None, None\n")
            self.page(kv)
            for limits, suffix in ((NORMAL, ""), (ELDER, "-elder")):
                results[name + suffix] = [v.as_dict() for v in audit(self.root, name + suffix, "en", limits)]
        # The themed page: sound in both modes, then broken.
        for elder in (False, True):
            self.theme.elder = elder
            self.page(THEMED)
            name = "themed" + ("-elder" if elder else "")
            results[name] = [v.as_dict() for v in audit(self.root, name, "en", ELDER if elder else NORMAL)]
        theme = self.theme
        theme.elder = True
        theme.muted = theme.bg  # a hint drawn in the page's own colour
        theme.small = 10  # text too small to read
        theme.key_h = 30  # a key too small to hit
        theme.surface = theme.edge = theme.bg  # a key that does not stand out from the page
        self.label_key = "guides.no_such_word"  # a word missing from every catalogue
        self.chip_pad = -dp(40)  # a chip narrower than its word
        self.page(THEMED)
        results["broken"] = [v.as_dict() for v in audit(self.root, "broken", "en", ELDER)]
        print(json.dumps(results, ensure_ascii=False))
        self.stop()


if __name__ == "__main__":
    AuditApp().run()
    sys.exit(0)
