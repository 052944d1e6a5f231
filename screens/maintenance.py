"""Maintenance mode's screens: the PIN pad's digits, the tiles and the list rows, built from the page."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.widgets import PageScreen


class StaffTile(BoxLayout):
    row_h = NumericProperty(0)
    title = StringProperty("")
    lines = StringProperty("")
    ok = BooleanProperty(True)


class StaffListRow(BoxLayout):
    text = StringProperty("")
    sub = StringProperty("")
    action = StringProperty("")
    label = StringProperty("")
    ref = StringProperty("")
    ok = BooleanProperty(True)


class StaffPinScreen(PageScreen):
    _built = False

    def refresh(self, page) -> None:
        keys = self.ids.pad
        if not self._built:  # 1-9 above the last row of the kv rule
            self._built = True
            for d in "987654321":  # each one before the last: 1 2 3 on top
                key = Factory.KSecondaryButton(text=d)
                key.bind(on_release=lambda _b, d=d: App.get_running_app().shell.act("digit", d=d))
                keys.add_widget(key, index=len(keys.children))
            theme = App.get_running_app().theme
            for key in keys.children:  # every key the row's height, the digits large
                key.size_hint_y = 1
                if key.text.isdigit():
                    key.font_size = theme.title
                    theme.bind(title=lambda _t, size, key=key: setattr(key, "font_size", size))
        for key in keys.children:
            key.disabled = page.locked


class StaffTilesScreen(PageScreen):
    _shown: tuple = ()

    def __init__(self, **kw):
        super().__init__(**kw)
        self._even = Clock.create_trigger(self._even_rows)

    def _even_rows(self, *_):
        """Tiles of one row as tall as its tallest: a grid of cards, not a staircase."""
        box = self.ids.tiles
        tiles = list(reversed(box.children))
        for start in range(0, len(tiles), box.cols):
            row = tiles[start:start + box.cols]
            tallest = max(t.minimum_height for t in row)
            for t in row:
                t.row_h = tallest

    def refresh(self, page) -> None:
        if page.tiles == self._shown:
            return
        self._shown = page.tiles
        box = self.ids.tiles
        box.clear_widgets()
        shell = App.get_running_app().shell
        for tile in page.tiles:
            card = StaffTile(title=tile.title, lines="\n".join(tile.lines), ok=tile.ok)
            for action, label in tile.actions:
                button = Factory.StaffAction(text=label)
                button.bind(on_release=lambda _b, a=action: shell.act(a))
                card.ids.actions.add_widget(button)
            card.bind(minimum_height=self._even)
            box.add_widget(card)
        box.bind(cols=self._even)
        self._even()


class StaffListScreen(PageScreen):
    _shown: tuple = ()

    def refresh(self, page) -> None:
        if page.rows == self._shown:
            return
        self._shown = page.rows
        box = self.ids.rows
        box.clear_widgets()
        for row in page.rows:
            box.add_widget(StaffListRow(text=row.text, sub=row.sub, action=row.action, label=row.label, ref=row.ref,
                                        ok=row.ok))
