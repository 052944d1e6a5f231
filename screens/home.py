"""The welcome and personal pages: a button per journey, from the page's entries."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.button import Button

from screens.widgets import BreakingButton, PageScreen


class EntryButton(BreakingButton):
    journey = StringProperty("")


class EntriesBase(PageScreen):
    _shown: tuple = ()

    def refresh(self, page) -> None:
        if (page.entries, page.elder) == self._shown:
            return
        self._shown = (page.entries, page.elder)
        box = self.ids.entries
        box.clear_widgets()
        for entry in page.entries:
            box.add_widget(self.button(entry))

    def button(self, entry) -> Button:
        # The line under the title, in the smallest text; in elder mode the title alone, larger.
        small = App.get_running_app().theme.small
        sub = f"\n[size={int(small)}]{entry.sub}[/size]" if entry.sub and not self.page.elder else ""
        return Factory.EntryButton(journey=entry.journey, text=entry.title + sub)


class PersonalScreen(EntriesBase):
    pass


class WelcomeScreen(EntriesBase):
    def button(self, entry) -> Button:
        # Without a card: the quieter look, one line each.
        button = Factory.KSecondaryButton(text=entry.title, size_hint_y=1,
                                          on_release=lambda _b, name=entry.journey: App.get_running_app().shell.start(name))
        button.journey = entry.journey  # what the tour looks for
        return button
