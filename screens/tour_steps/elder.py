"""长辈模式: a citizen turns it on on the welcome page and goes through the kiosk with it: larger
text and targets on every page, fewer result rows. Pictures ``...-elder.png`` in 简体 and English.
Starts and ends on the welcome page (signed out, the card taken)."""

from __future__ import annotations

from screens.tour import TourFailed


def also_in_english(tour, journey: str, page: str):
    tour.shot(journey, page)
    yield from tour.language("en")
    tour.shot(journey, page)
    yield from tour.language("zh_CN")


def back_to(tour, screen: str):
    while tour.shell.page.screen != screen:
        left = tour.shell.page.screen
        ids = tour.screen(left).ids
        tour.tap(ids.back if "back" in ids else ids.header.ids.back)  # (rating pages: in their header)
        yield from tour.wait(f"back from {left}", lambda left=left: tour.shell.page.screen != left)


def script(tour):
    shell = tour.shell
    yield from tour.wait("the welcome page", tour.on_screen("welcome"))
    tour.tap(tour.screen("welcome").ids.elder)
    yield from tour.wait("elder mode", lambda: shell.elder and tour.app.theme.elder and shell.page.elder)
    yield from also_in_english(tour, "identify", "welcome")
    tour.demo.place_card(0)
    yield from tour.wait("the card to be read", tour.on_screen("personal"), timeout=10)
    if not shell.elder:
        raise TourFailed("elder mode was lost when the card was read")
    yield from also_in_english(tour, "identify", "personal")

    tour.tap(tour.entry("guide"))
    yield from tour.wait("the guide list", tour.on_screen("guides", loading=False))
    keyboard = tour.screen("guides").ids.keyboard
    keys = {b.text: b for row in keyboard.children for b in row.children if hasattr(b, "text")}
    for ch in tour.query:
        tour.tap(keys[ch])
        yield
    yield from tour.wait(f"results for {tour.query!r}", lambda: shell.page.screen == "guides"
                         and shell.page.query == tour.query and not shell.page.loading and bool(shell.page.items))
    yield from also_in_english(tour, "guide", "results")
    rows = tour.screen("guides").ids.results.layout_manager.children
    row = next((r for r in rows if r.code == shell.page.items[0].code), None)
    if row is None:
        raise TourFailed("the first result is not on screen in elder mode")
    tour.tap(row)
    yield from tour.wait("the guide page", tour.on_screen("guide"))
    yield from also_in_english(tour, "guide", "guide")

    # A notice in elder mode: the guide printed.
    tour.tap(tour.screen("guide").ids.print_button)
    yield from tour.wait("the printed notice", lambda: shell.page.screen == "notice" and shell.page.kind == "info",
                         timeout=20)
    yield from also_in_english(tour, "guide", "printed")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the guide page again", tour.on_screen("guide"))

    tour.tap(tour.screen("guide").ids.apply_button)
    yield from tour.wait("the apply page", tour.on_screen("apply"))
    yield from also_in_english(tour, "apply", "confirm")
    yield from back_to(tour, "personal")

    tour.tap(tour.entry("query"))
    yield from tour.wait("my cases", tour.on_screen("query_mine", loading=False), timeout=15)
    if not shell.page.rows:
        raise TourFailed("no case among my cases in elder mode")
    yield from also_in_english(tour, "query", "mine")
    case_no = shell.page.rows[0].case_no
    row = next((w for w in tour.screen("query_mine").ids.rows.children if w.case_no == case_no), None)
    if row is None:
        raise TourFailed("the newest case is not on screen in elder mode")
    tour.tap(row)
    yield from tour.wait("the timeline", tour.on_screen("query_timeline"))
    yield from also_in_english(tour, "query", "timeline")
    yield from back_to(tour, "personal")

    tour.tap(tour.entry("rating"))
    yield from tour.wait("the levels page", tour.on_screen("rating_levels"))
    yield from also_in_english(tour, "rating", "levels")
    yield from back_to(tour, "personal")

    tour.tap(tour.entry("ticket"))
    yield from tour.wait("the business types", tour.on_screen("ticket_services", busy=False, error=False),
                         timeout=15)
    yield from also_in_english(tour, "ticket", "services")
    yield from back_to(tour, "personal")

    # Elder mode off again from the personal page; signing out would end it anyway.
    tour.tap(tour.screen("personal").ids.elder)
    yield from tour.wait("elder mode off", lambda: not shell.elder and not tour.app.theme.elder)
    tour.tap(tour.screen("personal").ids.logout)
    yield from tour.wait("sign-out", lambda: shell.page.screen == "notice" and not shell.session.active)
    tour.tap(tour.screen("notice").ids.ok)
    tour.demo.remove_card()
    yield from tour.wait("the welcome page", lambda: shell.page.screen == "welcome" and not shell.page.use_card)
