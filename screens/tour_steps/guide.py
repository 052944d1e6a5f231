"""Find a guide and print it, while the printer runs out of paper and staff refill it."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    tour.tap(tour.entry("guide"))
    yield from tour.wait("the guide list", tour.on_screen("guides", loading=False))
    tour.shot("guide", "search")
    keyboard = tour.screen("guides").ids.keyboard
    keys = {b.text: b for row in keyboard.children for b in row.children if hasattr(b, "text")}
    for ch in tour.query:
        tour.tap(keys[ch])
        yield
    yield from tour.wait(f"results for {tour.query!r}",
                         lambda: shell.page.screen == "guides" and shell.page.query == tour.query
                         and not shell.page.loading and bool(shell.page.items))
    tour.shot("guide", "results")
    yield from tour.in_other_languages("guide", "results")

    rows = tour.screen("guides").ids.results.layout_manager.children
    first = shell.page.items[0].code
    row = next((r for r in rows if r.code == first), None)
    if row is None:
        raise TourFailed("the first result is not on screen")
    tour.tap(row)
    yield from tour.wait("the guide page", tour.on_screen("guide"))
    tour.shot("guide", "guide")
    yield from tour.in_other_languages("guide", "guide")

    # The printer runs out of paper: the citizen is told, and the slip waits rather than being lost.
    printed_before = len(tour.demo.printer.slips)
    tour.demo.toggle_paper()
    yield from tour.wait("the printer to report no paper",
                         lambda: shell.device_states.get("printer", {}).get("paper") == "out", timeout=10)
    tour.tap(tour.screen("guide").ids.print_button)
    yield from tour.wait("the paper-out notice", lambda: shell.page.screen == "notice"
                         and shell.page.kind == "warning", timeout=15)
    tour.shot("guide", "paper-out")
    tour.demo.toggle_paper()  # staff refill it
    yield from tour.wait("the slip to print once paper is back", lambda: shell.page.screen == "notice"
                         and shell.page.kind == "info", timeout=20)
    yield from tour.wait("the printer emulator to render the slip",
                         lambda: len(tour.demo.printer.slips) == printed_before + 1, timeout=10)
    tour.shot("guide", "printed")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("back on the guide page", tour.on_screen("guide"))
