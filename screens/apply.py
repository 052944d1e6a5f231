"""Applying for a service (申报): the confirm page with a tick per material, and the done page."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from screens.widgets import PageScreen


class MaterialRow(ButtonBehavior, BoxLayout):
    """One material, the whole row a touch target; the tick box is drawn (the CJK font has no ballot-box glyph)."""

    index = NumericProperty(0)
    text = StringProperty("")
    ticked = BooleanProperty(False)

    def on_release(self):
        App.get_running_app().shell.act("toggle", index=self.index)


class ApplyScreen(PageScreen):
    _code = ""

    def refresh(self, page) -> None:
        box = self.ids.materials
        rows = box.children[::-1]
        lines, ticked = page.materials, page.ticked
        if page.code != self._code or len(rows) != len(lines):  # a tick only updates the rows
            self._code = page.code
            box.clear_widgets()
            rows = [Factory.MaterialRow(index=i) for i in range(len(lines))]
            for row in rows:
                box.add_widget(row)
            self.ids.scroll.scroll_y = 1
        for i, (row, line, on) in enumerate(zip(rows, lines, ticked, strict=True), 1):
            row.text, row.ticked = f"{i}.\u00a0{line}", on  # no break: Kivy would wrap after "3."


class DoneScreen(PageScreen):
    pass
