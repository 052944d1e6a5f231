"""Taking a queue number (取号): a large button per business type, with how many are waiting."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty

from screens.widgets import BreakingButton, PageScreen


class ServiceButton(BreakingButton):
    code = StringProperty("")

    def on_release(self):
        App.get_running_app().shell.act("take", code=self.code)


class TicketServicesScreen(PageScreen):
    _shown: tuple = ()

    def refresh(self, page) -> None:
        body = App.get_running_app().theme.body
        if (page.items, body) != self._shown:
            self._shown = (page.items, body)
            box = self.ids.services
            box.clear_widgets()
            for item in page.items:
                box.add_widget(Factory.ServiceButton(code=item.code,
                                                     text=f"{item.name}\n[size={int(body)}]{item.waiting}[/size]"))
        for button in self.ids.services.children:
            button.disabled = page.busy  # the ticket being taken: a second touch takes nothing


class TicketPrintedScreen(PageScreen):
    pass
