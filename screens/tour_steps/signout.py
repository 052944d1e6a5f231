"""The citizen signs out leaving the card on the reader, comes back to it with "使用此证件", then
takes the card away and is signed out by that; the next one finds the welcome page."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    # Signed out with the card still on the reader: both pages ask for it to be taken.
    tour.tap(tour.screen("personal").ids.logout)
    yield from tour.wait("sign-out", lambda: shell.page.screen == "notice" and not shell.session.active)
    tour.shot("identify", "signed-out")
    # Nothing of the person is kept by a screen not on show, ready to be drawn (screens/app.py).
    from kiosk.pages import PAGES

    kept = [s.name for s in tour.app.sm.screens if s.name != "notice" and s.page != PAGES[s.name]()]
    if kept:
        raise TourFailed(f"screens still holding the person's pages after sign-out: {kept}")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the welcome page asking for the card", lambda: shell.page.screen == "welcome"
                         and bool(shell.page.use_card))
    tour.shot("identify", "card-left")
    yield from tour.in_other_languages("identify", "card-left")
    tour.tap(tour.screen("welcome").ids.use_card)  # the same card, read again
    yield from tour.wait("the personal page again", tour.on_screen("personal"), timeout=10)
    # The card taken away: after the grace the person is signed out, and the screen says why.
    tour.demo.remove_card()
    yield from tour.wait("the card-taken notice", lambda: shell.page.screen == "notice" and not shell.session.active,
                         timeout=shell.config.session.card_grace_s + 10)
    tour.shot("identify", "card-taken")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the welcome screen again", lambda: shell.page.screen == "welcome" and not shell.page.use_card)
    # A foreign permanent resident with a long English name: the greeting is masked to a bounded
    # length and fits; then the card goes and the next person finds the welcome page.
    tour.demo.place_card(6)
    yield from tour.wait("a foreigner's card to be read", tour.on_screen("personal"), timeout=10)
    yield from tour.language("en")
    tour.shot("identify", "foreigner")
    yield from tour.language("zh_CN")
    tour.demo.remove_card()
    yield from tour.wait("the card-taken notice", lambda: shell.page.screen == "notice" and not shell.session.active,
                         timeout=shell.config.session.card_grace_s + 10)
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the welcome screen again", lambda: shell.page.screen == "welcome" and not shell.page.use_card)
