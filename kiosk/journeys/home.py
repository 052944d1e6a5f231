"""The bottom of every stack: the welcome page, or the personal page once someone is identified.

With a card left on the reader (after a sign-out or a timeout) the welcome page asks for it to be
taken, and "使用此证件" has the reader report it again.
"""

from __future__ import annotations

from devices.identity import CardType
from kiosk import guide_text, welcome
from kiosk.journeys.base import Journey, Result
from kiosk.pages import Entry, OutOfServicePage, Page, PersonalPage


class Home(Journey):
    name = "home"

    def entries(self, identified: bool) -> tuple[Entry, ...]:
        offered = tuple((j.name, j.entry) for j in self.shell.journeys.values()
                        if j.entry and (identified or j.on_welcome))
        return welcome.entries(self.tr, offered)

    def page(self) -> Page:
        session, tr, left = self.shell.session, self.tr, self.shell.card.left
        ident = session.identity
        # The hall's notice (a platform command) as staff wrote it; 繁體 converted like guides.
        notice = guide_text.in_language(self.shell.remote.notice(), tr.lang)
        if ident is None and self.shell.remote.out_of_service:
            return OutOfServicePage(title=tr("service.out_title"), message=tr("service.out_message"), notice=notice)
        if ident is None:
            return welcome.welcome_page(tr, self.entries(False), left, self.shell.takes_citizen_codes,
                                        self.shell.elder, notice)
        return PersonalPage(
            greeting=tr("personal.greeting", name=ident.masked_name),
            number=tr("personal.number", number=ident.masked_number),
            card=tr(f"card.{ident.card_type.value}") if ident.card_type != CardType.CITIZEN_CODE else "",
            take_card=tr("personal.take_card") if left else "",
            entries=self.entries(True),
            elder=self.shell.elder, elder_button=welcome.elder_button(tr, self.shell.elder))

    def do_use_card(self) -> Result:
        """The button "使用此证件": the reader reports its card again; that IdentityRead begins a session."""
        if self.shell.session.identity is None:
            self.shell.card.ask_again(self.shell.devices)
        return None
