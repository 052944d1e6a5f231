"""Apply for the guide on screen: tick what was brought, submit, take the receipt."""

from __future__ import annotations


def script(tour):
    shell = tour.shell
    tour.tap(tour.screen("guide").ids.apply_button)
    yield from tour.wait("the apply page", tour.on_screen("apply"))
    tour.shot("apply", "confirm")
    yield from tour.in_other_languages("apply", "confirm")
    rows = tour.screen("apply").ids.materials.children[::-1]
    unticked = [r for r in rows if not r.ticked]
    if unticked:  # an optional material the citizen brought anyway
        tour.tap(unticked[0])
        yield from tour.wait("the tick", lambda: unticked[0].ticked, settle=1)
    printed_before = len(tour.demo.printer.slips)
    tour.tap(tour.screen("apply").ids.confirm)
    yield from tour.wait("the done page", tour.on_screen("done"), timeout=15)
    yield from tour.wait("the receipt to print", lambda: len(tour.demo.printer.slips) == printed_before + 1
                         and shell.page.receipt == shell.tr("done.take_receipt"), timeout=15)
    tour.shot("apply", "done")
    yield from tour.in_other_languages("apply", "done")
    tour.tap(tour.screen("done").ids.home)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
