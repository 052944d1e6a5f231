"""The bottom of every stack: the welcome page, or the personal page once someone is identified.

With a card left on the reader (after a sign-out or a timeout) the welcome page asks for it to be
taken, and "使用此证件" has the reader report it again.
"""

from __future__ import annotations

from devices.identity import CardType
from kiosk.i18n import catalogue
from kiosk.journeys.base import Journey, Result
from kiosk.pages import Entry, Page, PersonalPage, WelcomePage


class Home(Journey):
    name = "home"

    def entries(self, identified: bool) -> tuple[Entry, ...]:

        words = catalogue(self.tr.lang)
        return tuple(Entry(j.name, self.tr(j.entry), words.get(f"{j.entry}_sub", ""))
                     for j in self.shell.journeys.values() if j.entry and (identified or j.on_welcome))

    def page(self) -> Page:
        session, tr, left = self.shell.session, self.tr, self.shell.card.left
        ident = session.identity
        if ident is None:
            # A card left on the reader after a sign-out or a timeout is not read again by itself:
            # the page asks for it to be taken, or to be used again with a tap.
            return WelcomePage(entries=self.entries(False),
                               prompt=tr("welcome.take_card" if left else "welcome.prompt"),
                               prompt_sub=tr("welcome.take_card_sub") if left else self._prompt_sub(),
                               use_card=tr("welcome.use_card") if left else "")
        return PersonalPage(
            greeting=tr("personal.greeting", name=ident.masked_name),
            number=tr("personal.number", number=ident.masked_number),
            card=tr(f"card.{ident.card_type.value}") if ident.card_type != CardType.CITIZEN_CODE else "",
            take_card=tr("personal.take_card") if left else "",
            entries=self.entries(True))

    def _prompt_sub(self) -> str:
        if not self.shell.takes_citizen_codes:
            return self.tr("welcome.prompt_sub")
        return f"{self.tr('code.or_code')}\n{self.tr('welcome.prompt_sub')}"

    def do_use_card(self) -> Result:
        """The button "使用此证件": the reader reports its card again; that IdentityRead begins a session."""
        if self.shell.session.identity is None:
            self.shell.card.ask_again(self.shell.devices)
        return None
