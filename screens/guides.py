"""Guide search and guide detail screens: pinyin-initial keyboard, result list, guide page."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout

from screens.widgets import PageScreen, act

# QWERTY because most citizens type pinyin on phones with it; digits for item codes.
KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


class ResultRow(ButtonBehavior, BoxLayout):
    code = StringProperty("")
    name = StringProperty("")
    department = StringProperty("")

    def on_release(self):
        act("open", code=self.code)


class CandidateChip(Button):
    index = NumericProperty(0)

    def on_release(self):
        act("pick", index=self.index)


class PinyinKeyboard(GridLayout):
    """Letters and digits; the guide journey edits its search text and searches on every key."""

    def __init__(self, **kw):
        super().__init__(cols=1, spacing=6, **kw)
        for row in KEY_ROWS:
            line = BoxLayout(spacing=6)
            for ch in row:
                line.add_widget(Factory.KeyButton(text=ch, on_release=lambda b: act("type", text=b.text)))
            self.add_widget(line)
        line = BoxLayout(spacing=6)
        self.backspace = Factory.KeyButton(on_release=lambda _b: act("backspace"))
        self.clear = Factory.KeyButton(on_release=lambda _b: act("clear"))
        line.add_widget(self.backspace)
        line.add_widget(self.clear)
        self.add_widget(line)



def _row(item) -> dict:
    return {"viewclass": "ResultRow", "code": item.code, "name": item.name, "department": item.department}


class GuidesScreen(PageScreen):
    def refresh(self, page) -> None:
        tr = App.get_running_app().tr
        data = [_row(i) for i in page.items]
        if page.mentions:  # guides that only mention the words among their materials: a group apart
            data.append({"viewclass": "ResultHeader", "text": tr("guides.in_materials"), "size": (0, dp(52))})
            data += [_row(i) for i in page.mentions]
        self.ids.results.data = data
        kb = self.ids.keyboard
        kb.backspace.text = "← " + tr("guides.backspace")  # the CJK font has no ⌫ glyph
        kb.clear.text = tr("guides.clear")
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
                box.add_widget(Factory.HotChip(text=label, query=query, font_size="22sp"))


class GuideScreen(PageScreen):
    def refresh(self, page) -> None:
        box = self.ids.materials
        box.clear_widgets()
        for i, line in enumerate(page.materials, 1):
            box.add_widget(Factory.KLabel(text=f"{i}. {line}", font_size="22sp"))
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in page.rows:
            rows.add_widget(Factory.KLabel(text=f"[b]{label}[/b]{value}", markup=True))
        self.ids.scroll.scroll_y = 1
