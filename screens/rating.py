"""Rating the service (好差评): the five levels as large buttons, the reasons as tick rows."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import NumericProperty

from screens.apply import MaterialRow
from screens.widgets import BreakingButton, PageScreen

STAR_ON, STAR_OFF = "a85400", "b8bcc4"  # the kit's ORANGE; a grey that still shows the empty stars


class LevelButton(BreakingButton):
    level = NumericProperty(0)

    def on_release(self):
        App.get_running_app().shell.act("choose", level=self.level)


class RatingLevelsScreen(PageScreen):
    _shown: tuple = ()

    def refresh(self, page) -> None:
        if page.levels == self._shown:
            return
        self._shown = page.levels
        box = self.ids.levels
        box.clear_widgets()
        for level, stars, label in page.levels:
            on, off = stars.count("★"), stars.count("☆")
            text = f"[color={STAR_ON}]{'★' * on}[/color][color={STAR_OFF}]{'☆' * off}[/color]    {label}"
            box.add_widget(Factory.LevelButton(level=level, text=text))


class RatingReasonsScreen(PageScreen):
    """Reasons, then phrases: one list of tick rows for the journey ("toggle" takes an index into both)."""

    _shown: tuple = ()

    def refresh(self, page) -> None:
        lines = (page.reasons, page.phrases)
        if lines != self._shown:
            self._shown = lines
            self._rows = []
            for box, texts, first in ((self.ids.reasons, page.reasons, 0),
                                      (self.ids.phrases, page.phrases, len(page.reasons))):
                box.clear_widgets()
                for i, text in enumerate(texts):
                    row = MaterialRow(index=first + i, text=text)
                    box.add_widget(row)
                    self._rows.append(row)
        for row, on in zip(self._rows, page.ticked, strict=False):
            row.ticked = on


class RatingThanksScreen(PageScreen):
    pass
