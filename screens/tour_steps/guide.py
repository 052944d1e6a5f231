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
    # Letters no item is called by: the page helps instead of just saying "nothing".
    for ch in "qxz":
        tour.tap(keys[ch])
        yield
    yield from tour.wait("the nothing-found help", lambda: shell.page.screen == "guides" and shell.page.nothing)
    tour.shot("guide", "nothing")
    # A topic offered there, in Chinese: guides that only mention it among their materials come
    # after the answers, under a heading of their own.
    yield from tour.wait("the catalogue's topics", lambda: shell.catalogue.ready, timeout=30)
    yield from tour.wait("the topics", lambda: any(q == "身份证" for q, _ in shell.page.topics))
    chip = next(c for c in tour.screen("guides").ids.topics.children if c.query == "身份证")
    tour.tap(chip)
    yield from tour.wait("answers and mentions", lambda: shell.page.query == "身份证" and not shell.page.loading
                         and bool(shell.page.mentions))
    yield  # laid out: scroll to the heading, as a finger would
    results = tour.screen("guides").ids.results
    header = next(i for i, d in enumerate(results.data) if d["viewclass"] == "ResultHeader")
    above = results.layout_manager.default_size[1] * max(0, header - 2)  # two answers above it
    scrollable = max(1.0, results.children[0].height - results.height)
    results.scroll_y = max(0.0, 1 - above / scrollable)
    yield
    tour.shot("guide", "groups")
    tour.tap(keyboard.clear)
    for ch in tour.query:
        tour.tap(keys[ch])
        yield
    yield from tour.wait(f"results for {tour.query!r}",
                         lambda: shell.page.screen == "guides" and shell.page.query == tour.query
                         and not shell.page.loading)
    if not shell.page.items:
        raise TourFailed(f"no results for {tour.query!r}")
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
