"""Follow the case just submitted: "my cases", its timeline, its progress on paper; then the same
case by the number on its receipt, typed on the keypad; and back home."""

from __future__ import annotations

from kiosk.slips import group_number as grouped
from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    tour.tap(tour.entry("query"))
    yield from tour.wait("my cases", tour.on_screen("query_mine", loading=False), timeout=15)
    if not shell.page.rows:
        raise TourFailed("the case just submitted is not among my cases")
    tour.shot("query", "mine")
    yield from tour.in_other_languages("query", "mine")

    case_no = shell.page.rows[0].case_no  # newest first: the one just submitted
    row = next((w for w in tour.screen("query_mine").ids.rows.children if w.case_no == case_no), None)
    if row is None:
        raise TourFailed("the newest case is not on screen")
    tour.tap(row)
    yield from tour.wait("the timeline", tour.on_screen("query_timeline"))
    tour.shot("query", "timeline")
    yield from tour.in_other_languages("query", "timeline")

    printed_before = len(tour.demo.printer.slips)
    tour.tap(tour.screen("query_timeline").ids.print_button)
    yield from tour.wait("the progress slip to print", lambda: len(tour.demo.printer.slips) == printed_before + 1
                         and shell.page.screen == "notice" and shell.page.kind == "info", timeout=20)
    tour.shot("query", "printed")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("back on the timeline", tour.on_screen("query_timeline"))

    # The keypad: the same case by the number on its receipt.
    tour.tap(tour.screen("query_timeline").ids.back)
    yield from tour.wait("my cases again", tour.on_screen("query_mine"))
    tour.tap(tour.screen("query_mine").ids.by_number)
    yield from tour.wait("the keypad", tour.on_screen("query_number"))
    screen = tour.screen("query_number")
    keys = {k.text: k for pad in (screen.ids.digits, screen.ids.letters) for k in pad.children
            if getattr(k, "text", "")}
    for ch in case_no:
        if ch not in keys:
            raise TourFailed(f"no key {ch!r} on the keypad")
        tour.tap(keys[ch])
        yield
    yield from tour.wait("the number typed", tour.on_screen("query_number", typed=grouped(case_no)))
    tour.shot("query", "number")
    yield from tour.in_other_languages("query", "number")
    tour.tap(screen.ids.search)
    yield from tour.wait("the case by its number", tour.on_screen("query_timeline"), timeout=15)

    for page in ("query_timeline", "query_number", "query_mine"):
        tour.tap(tour.screen(page).ids.back)
        yield from tour.wait(f"back from {page}", lambda page=page: shell.page.screen != page)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
