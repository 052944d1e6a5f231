"""Take a queue number from the personal page: the business types, the printed ticket."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    tour.tap(tour.entry("ticket"))
    yield from tour.wait("the business types", tour.on_screen("ticket_services", busy=False, error=False),
                         timeout=15)
    tour.shot("ticket", "services")
    yield from tour.in_other_languages("ticket", "services")

    buttons = {b.code: b for b in tour.screen("ticket_services").ids.services.children}
    if "B" not in buttons:
        raise TourFailed("no 社保医保 button on the business types page")
    printed_before = len(tour.demo.printer.slips)
    tour.tap(buttons["B"])
    yield from tour.wait("the ticket page", tour.on_screen("ticket_printed"), timeout=15)
    yield from tour.wait("the ticket to print", lambda: len(tour.demo.printer.slips) == printed_before + 1
                         and shell.page.slip == shell.tr("ticket.take"), timeout=15)
    tour.shot("ticket", "printed")
    yield from tour.in_other_languages("ticket", "printed")
    tour.tap(tour.screen("ticket_printed").ids.home)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
