"""The welcome and personal pages: a button per journey, from the page's entries."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.button import Button

from screens.widgets import PageScreen


class EntryButton(Button):
    journey = StringProperty("")


class EntriesBase(PageScreen):
    _shown: tuple = ()

    def refresh(self, page) -> None:
        if page.entries == self._shown:
            return
        self._shown = page.entries
        box = self.ids.entries
        box.clear_widgets()
        for entry in page.entries:
            box.add_widget(self.button(entry))

    def button(self, entry) -> Button:
        text = entry.title + (f"\n[size=20sp]{entry.sub}[/size]" if entry.sub else "")
        return Factory.EntryButton(journey=entry.journey, text=text)


class PersonalScreen(EntriesBase):
    pass


class WelcomeScreen(EntriesBase):
    def button(self, entry) -> Button:
        # Without a card: the quieter look, one line each.
        button = Factory.KSecondaryButton(text=entry.title, font_size="22sp", size_hint_y=1,
                                          on_release=lambda _b, name=entry.journey: App.get_running_app().shell.start(name))
        button.journey = entry.journey  # what the tour looks for
        return button
