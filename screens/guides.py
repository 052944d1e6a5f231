"""Guide search and guide detail screens: pinyin-initial keyboard, result list, guide page."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.graphics import Color, Line
from kivy.metrics import dp
from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from screens.widgets import BreakingButton, PageScreen, act

# QWERTY because most citizens type pinyin on phones with it; digits for item codes.
KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


class ResultRow(ButtonBehavior, BoxLayout):
    code = StringProperty("")
    name = StringProperty("")
    department = StringProperty("")

    def on_release(self):
        act("open", code=self.code)


class CandidateChip(BreakingButton):
    index = NumericProperty(0)

    def on_release(self):
        act("pick", index=self.index)


class HandwritingPad(Widget):
    """Draw a character with a finger; a moment after the finger lifts, the strokes so far go to
    the journey (``strokes``), y pointing down as the recogniser expects."""

    strokes = ListProperty()
    PAUSE_S = 0.5

    def __init__(self, **kw):
        super().__init__(**kw)
        self._send = Clock.create_trigger(self._recognise, self.PAUSE_S)

    def on_touch_down(self, touch):
        if self.disabled or not self.collide_point(*touch.pos):
            return False
        touch.grab(self)
        self._send.cancel()
        with self.canvas:
            Color(0.1, 0.1, 0.1, 1)
            touch.ud["line"] = Line(points=list(touch.pos), width=dp(3))
        self.strokes.append([touch.pos])
        return True

    def on_touch_move(self, touch):
        if touch.grab_current is not self:
            return False
        x, y = min(max(touch.x, self.x), self.right), min(max(touch.y, self.y), self.top)
        touch.ud["line"].points += [x, y]
        self.strokes[-1].append((x, y))
        return True

    def on_touch_up(self, touch):
        if touch.grab_current is not self:
            return False
        touch.ungrab(self)
        self._send()
        return True

    def _recognise(self, _dt) -> None:
        if self.strokes:
            drawn = [[(x - self.x, self.top - y) for x, y in stroke] for stroke in self.strokes]
            act("strokes", strokes=drawn, width=self.width, height=self.height)

    def clear(self) -> None:
        self._send.cancel()
        self.canvas.clear()
        self.strokes = []


class PinyinKeyboard(GridLayout):
    """Letters and digits; the guide journey edits its search text and searches on every key."""

    def __init__(self, **kw):
        super().__init__(cols=1, **kw)
        theme = App.get_running_app().theme
        for row in KEY_ROWS:
            line = BoxLayout()
            for ch in row:
                line.add_widget(Factory.KeyButton(text=ch, on_release=lambda b: act("type", text=b.text)))
            self.add_widget(line)
        line = BoxLayout()
        # Backspace and clear in a row of their own, wide and marked (hard to miss).
        self.backspace = Factory.EditKey(on_release=lambda _b: act("backspace"))
        self.clear = Factory.EditKey(on_release=lambda _b: act("clear"))
        self.handwrite = Factory.KeyButton(font_size=theme.body, on_release=lambda _b: act("handwriting", on=True))
        theme.bind(unit=self._spaced, body=self._spaced)
        self._spaced(theme)
        line.add_widget(self.backspace)
        line.add_widget(self.clear)
        line.add_widget(self.handwrite)
        self.add_widget(line)

    def _spaced(self, theme, *_):
        self.spacing = theme.unit * 6
        for line in self.children:
            line.spacing = theme.unit * 6
        self.handwrite.font_size = theme.body



def _row(item) -> dict:
    return {"viewclass": "ResultRow", "code": item.code, "name": item.name, "department": item.department}


class GuidesScreen(PageScreen):
    _pad_round = 0
    _writing_box = None

    @property
    def writing_box(self):
        if self._writing_box is None:
            self._writing_box = Factory.HandwritingBox()
        return self._writing_box

    @property
    def pad(self):
        return self.writing_box.ids.pad

    def _show_input(self, handwriting: bool) -> None:
        """One of the two in the input area: a hidden one must not take touches meant for the other."""
        area, shown = self.ids.input_area, self.writing_box if handwriting else self.ids.keyboard
        if shown not in area.children:
            area.clear_widgets()
            area.add_widget(shown)

    def refresh(self, page) -> None:
        tr = App.get_running_app().tr
        data = [_row(i) for i in page.items]
        if page.mentions:  # guides that only mention the words among their materials: a group apart
            header = App.get_running_app().theme.small * 2.4
            data.append({"viewclass": "ResultHeader", "text": tr("guides.in_materials"), "size": (0, header)})
            data += [_row(i) for i in page.mentions]
        results = self.ids.results
        if data != results.data:  # new answers: from the first one (a scroll kept from before could show none)
            results.data = data
            results.scroll_y = 1
        kb = self.ids.keyboard
        kb.backspace.text = "← " + tr("guides.backspace")  # the CJK font has no ⌫ glyph
        kb.clear.text = tr("guides.clear")
        kb.handwrite.text = tr("guides.handwrite")
        self._show_input(page.handwriting)
        if page.pad_round != self._pad_round:  # a pick, a rewrite, the pad opened or closed
            self._pad_round = page.pad_round
            self.pad.clear()
        hot = self.ids.hot
        hot.clear_widgets()
        if page.candidates:  # while pinyin is typed, its Chinese takes the popular topics' place
            for i, text in enumerate(page.candidates):
                hot.add_widget(Factory.CandidateChip(text=text, index=i))
        else:
            for query, label in page.hot:
                hot.add_widget(Factory.HotChip(text=label, query=query))
        for box, chips in ((self.ids.suggestions, page.suggestions), (self.ids.topics, page.topics)):
            box.clear_widgets()
            for query, label in chips:
                box.add_widget(Factory.HotChip(text=label, query=query))


class GuideScreen(PageScreen):
    def refresh(self, page) -> None:
        box = self.ids.materials
        box.clear_widgets()
        for i, line in enumerate(page.materials, 1):
            box.add_widget(Factory.KLabel(text=f"{i}. {line}"))
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in page.rows:
            rows.add_widget(Factory.KLabel(text=f"[b]{label}[/b]{value}", markup=True))
        self.ids.scroll.scroll_y = 1
