"""The welcome page: what Home shows to nobody in particular, and the first frame start-up draws.

Start-up draws it before the journeys are loaded (kiosk.startup), so the buttons it offers without
a card are listed here by name and message id, in the journeys' order; a test checks this list
against the journeys themselves (``entry`` and ``on_welcome``).
"""

from __future__ import annotations

from kiosk.i18n import Translator, catalogue
from kiosk.pages import Entry, WelcomePage

# (journey, message id of its button): what JOURNEYS offers on the welcome page, in its order.
WELCOME_ENTRIES = (("guide", "menu.guides"), ("query", "query.entry"), ("lifeevent", "lifeevent.entry"),
                   ("rating", "rating.entry"), ("ticket", "ticket.entry"))


def entries(tr: Translator, offered: tuple[tuple[str, str], ...] = WELCOME_ENTRIES) -> tuple[Entry, ...]:
    words = catalogue(tr.lang)
    return tuple(Entry(name, tr(key), words.get(f"{key}_sub", "")) for name, key in offered)


def elder_button(tr: Translator, elder: bool) -> str:
    """The words on the 长辈模式 switch (welcome and personal pages): what a touch will do."""
    return tr("elder.off" if elder else "elder.on")


def welcome_page(tr: Translator, offered: tuple[Entry, ...], card_left: bool = False,
                 takes_codes: bool = False, elder: bool = False, notice: str = "") -> WelcomePage:
    """A card left on the reader after a sign-out or a timeout is not read again by itself: the
    page asks for it to be taken, or to be used again with a tap. ``takes_codes``: a scanner is
    there for the province app's citizen code. ``elder``: 长辈模式 is on."""
    switch = {"elder": elder, "elder_button": elder_button(tr, elder), "notice": notice}
    if card_left:
        return WelcomePage(entries=offered, prompt=tr("welcome.take_card"), prompt_sub=tr("welcome.take_card_sub"),
                           use_card=tr("welcome.use_card"), **switch)
    sub = f"{tr('code.or_code')}\n{tr('welcome.prompt_sub')}" if takes_codes else tr("welcome.prompt_sub")
    return WelcomePage(entries=offered, prompt=tr("welcome.prompt"), prompt_sub=sub, **switch)
