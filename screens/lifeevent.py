"""Life events (一件事): a big button per event; one event's items beside its combined materials."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.utils import escape_markup

from screens.widgets import BreakingButton, PageScreen


class EventTile(BreakingButton):
    code = StringProperty("")

    def on_release(self):
        App.get_running_app().shell.act("open", code=self.code)


class EventItemRow(ButtonBehavior, BoxLayout):
    code = StringProperty("")
    name = StringProperty("")
    department = StringProperty("")
    note = StringProperty("")

    def on_release(self):
        App.get_running_app().shell.act("guide", code=self.code)


class LifeEventsScreen(PageScreen):
    _shown: tuple = ()

    def refresh(self, page) -> None:
        small = App.get_running_app().theme.small
        if (page.events, small) == self._shown:
            return
        self._shown = (page.events, small)
        grid = self.ids.events
        grid.clear_widgets()
        for event in page.events:
            text = f"[b]{escape_markup(event.label)}[/b]\n[size={int(small)}]{escape_markup(event.sub)}[/size]"
            grid.add_widget(EventTile(code=event.code, text=text))


class LifeEventScreen(PageScreen):
    _shown: tuple = ()

    def refresh(self, page) -> None:
        if (page.items, page.materials) == self._shown:
            return
        self._shown = (page.items, page.materials)
        rows = self.ids.item_rows
        rows.clear_widgets()
        for item in page.items:
            rows.add_widget(EventItemRow(code=item.code, name=item.name, department=item.department, note=item.note))
        box = self.ids.materials
        box.clear_widgets()
        for line in page.materials:
            box.add_widget(Factory.KLabel(text=f"□ {line}"))
        self.ids.items_scroll.scroll_y = 1
        self.ids.materials_scroll.scroll_y = 1
