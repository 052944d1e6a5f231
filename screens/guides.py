"""Guide search and guide detail screens: pinyin-initial keyboard, result list, guide page."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.screenmanager import Screen

from screens import widgets  # noqa: F401  (DeviceBar for app.kv)

# QWERTY because most citizens type pinyin on phones with it; digits for item codes.
KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


class ResultRow(ButtonBehavior, BoxLayout):
    code = StringProperty("")
    name = StringProperty("")
    department = StringProperty("")

    def on_release(self):
        App.get_running_app().controller.open_guide(self.code)


class PinyinKeyboard(GridLayout):
    """Letters and digits that edit the search text; the controller searches on every key."""

    def __init__(self, **kw):
        super().__init__(cols=1, spacing=6, **kw)
        for row in KEY_ROWS:
            line = BoxLayout(spacing=6)
            for ch in row:
                line.add_widget(Factory.KeyButton(text=ch, on_release=lambda b: self._type(b.text)))
            self.add_widget(line)
        line = BoxLayout(spacing=6)
        self.backspace = Factory.KeyButton(on_release=lambda _b: self._edit(lambda q: q[:-1]))
        self.clear = Factory.KeyButton(on_release=lambda _b: self._edit(lambda q: ""))
        line.add_widget(self.backspace)
        line.add_widget(self.clear)
        self.add_widget(line)

    def _type(self, ch: str) -> None:
        self._edit(lambda q: (q + ch)[:40])

    def _edit(self, change) -> None:
        app = App.get_running_app()
        app.controller.search(change(app.view.get("query", "")))


class GuidesScreen(Screen):
    def refresh(self, view: dict) -> None:
        self.ids.results.data = [
            {"code": i["code"], "name": i["name"], "department": i["department"]} for i in view.get("items", [])
        ]
        kb = self.ids.keyboard
        tr = App.get_running_app().tr
        kb.backspace.text = "← " + tr("guides.backspace")  # the CJK font has no ⌫ glyph
        kb.clear.text = tr("guides.clear")
        hot = self.ids.hot
        hot.clear_widgets()
        for query, label in view.get("hot", []):
            hot.add_widget(Factory.HotChip(text=label, query=query))


class GuideScreen(Screen):
    def refresh(self, view: dict) -> None:
        box = self.ids.materials
        box.clear_widgets()
        for i, line in enumerate(view.get("materials", []), 1):
            box.add_widget(Factory.KLabel(text=f"{i}. {line}", font_size="22sp"))
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in view.get("rows", []):
            rows.add_widget(Factory.KLabel(text=f"[b]{label}[/b]{value}", markup=True))
        self.ids.scroll.scroll_y = 1
