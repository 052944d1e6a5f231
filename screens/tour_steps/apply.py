"""Apply for the guide on screen: untick a required material (the kiosk asks), tick what was
brought, see the page warn while the printer has no paper, submit, take the receipt."""

from __future__ import annotations


def script(tour):
    shell = tour.shell
    tour.tap(tour.screen("guide").ids.apply_button)
    yield from tour.wait("the apply page", tour.on_screen("apply"))
    tour.shot("apply", "confirm")
    yield from tour.in_other_languages("apply", "confirm")
    rows = tour.screen("apply").ids.materials.children[::-1]
    unticked = [r for r in rows if not r.ticked]  # optional ones
    # A required material is never unticked silently: will it be brought to the counter?
    tour.tap(next(r for r in rows if r.ticked))
    yield from tour.wait("the question about a required material", tour.on_screen("question"))
    tour.shot("apply", "required")
    yield from tour.in_other_languages("apply", "required")
    tour.tap(tour.screen("question").ids.yes)  # it will be brought: the receipt lists it to bring
    yield from tour.wait("the apply page again", tour.on_screen("apply"))
    if unticked:  # an optional material the citizen brought anyway
        tour.tap(unticked[0])
        yield from tour.wait("the tick", lambda: unticked[0].ticked, settle=1)
    # No paper: before 确认提交 the page says the receipt cannot print now, and what to do.
    tour.demo.toggle_paper()
    yield from tour.wait("the printer note", lambda: shell.page.screen == "apply" and bool(shell.page.printer_note),
                         timeout=10)
    tour.shot("apply", "no-paper")
    tour.demo.toggle_paper()  # staff refill it
    yield from tour.wait("the note to go", lambda: shell.page.screen == "apply" and not shell.page.printer_note,
                         timeout=10)
    printed_before = len(tour.demo.printer.slips)
    tour.tap(tour.screen("apply").ids.confirm)
    yield from tour.wait("the done page", tour.on_screen("done"), timeout=15)
    yield from tour.wait("the receipt to print", lambda: len(tour.demo.printer.slips) == printed_before + 1
                         and shell.page.receipt == shell.tr("done.take_receipt"), timeout=15)
    tour.shot("apply", "done")
    yield from tour.in_other_languages("apply", "done")
    tour.tap(tour.screen("done").ids.home)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
