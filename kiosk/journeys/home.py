"""The bottom of every stack: the welcome page, or the personal page once someone is identified."""

from __future__ import annotations

from devices.identity import CardType
from kiosk.i18n import catalogue
from kiosk.journeys.base import Journey
from kiosk.pages import Entry, Page, PersonalPage, WelcomePage


class Home(Journey):
    name = "home"

    def entries(self, identified: bool) -> tuple[Entry, ...]:
        from kiosk.journeys import JOURNEYS  # not at the top: the registry imports this module

        words = catalogue(self.tr.lang)
        return tuple(Entry(j.name, self.tr(j.entry), words.get(f"{j.entry}_sub", ""))
                     for j in JOURNEYS.values() if j.entry and (identified or j.on_welcome))

    def page(self) -> Page:
        session, tr = self.shell.session, self.tr
        ident = session.identity
        if ident is None:
            return WelcomePage(entries=self.entries(False))
        return PersonalPage(
            greeting=tr("personal.greeting", name=ident.masked_name),
            number=tr("personal.number", number=ident.masked_number),
            card=tr(f"card.{ident.card_type.value}") if ident.card_type != CardType.CITIZEN_CODE else "",
            take_card=tr("personal.take_card") if session.data.get("card_present") else "",
            entries=self.entries(True))
