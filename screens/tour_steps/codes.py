"""Codes held to the scanner, on the welcome page the last visitor left: the province app's citizen
code signs the person in (the applicant of the tour's case), the receipt printed earlier opens that
case, the guide slip printed earlier opens its guide, and a product's barcode is refused plainly.
Leaves the kiosk signed out, on the welcome page."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell, demo = tour.shell, tour.demo
    if demo.scanner is None:
        raise TourFailed("no emulated code scanner: add it to [demo] emulate")
    yield from tour.wait("the welcome page", tour.on_screen("welcome"))
    tour.shot("codes", "welcome")
    demo.show_code("citizen")
    yield from tour.wait("signed in by citizen code", tour.on_screen("personal"), timeout=15)
    tour.shot("codes", "personal")
    yield from tour.in_other_languages("codes", "personal")

    for what, page in (("receipt", "query_timeline"), ("guide", "guide")):
        if not demo.show_code(what):
            raise TourFailed(f"no {what} printed earlier in the tour to scan")
        yield from tour.wait(f"the {what}'s page", lambda page=page: shell.page.screen == page
                             and not getattr(shell.page, "loading", False), timeout=15)
        tour.shot("codes", page.replace("query_", ""))
        while shell.page.screen != "personal":  # the receipt's case: its number page is behind it
            left = shell.page.screen
            tour.tap(tour.screen(left).ids.back)
            yield from tour.wait(f"back from {left}", lambda left=left: shell.page.screen != left)

    demo.show_code("other")
    yield from tour.wait("the code refused", lambda: shell.page.screen == "notice" and shell.page.kind == "warning")
    tour.shot("codes", "unusable")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
    tour.tap(tour.screen("personal").ids.logout)
    yield from tour.wait("sign-out", lambda: shell.page.screen == "notice" and not shell.session.active)
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the welcome page", tour.on_screen("welcome"))
