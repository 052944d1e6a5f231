"""My e-certificates: the list for the sample card on the reader, one certificate, a printed proof."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    tour.tap(tour.entry("certificate"))
    yield from tour.wait("the certificate list", lambda: shell.page.screen == "certificates"
                         and not shell.page.loading and bool(shell.page.rows), timeout=15)
    tour.shot("certificate", "list")
    yield from tour.in_other_languages("certificate", "list")

    rows = tour.screen("certificates").ids.rows.children[::-1]
    row = next((r for r in rows if r.name == "社会保障卡"), None)
    if row is None:
        raise TourFailed("no 社会保障卡 in the certificate list")
    tour.tap(row)
    yield from tour.wait("the certificate page", tour.on_screen("certificate"))
    tour.shot("certificate", "certificate")
    yield from tour.in_other_languages("certificate", "certificate")

    yield from tour.print_with_notice(tour.screen("certificate").ids.print_button, "proof")
    tour.shot("certificate", "printed")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("back on the certificate page", tour.on_screen("certificate"))
    tour.tap(tour.screen("certificate").ids.back)
    yield from tour.wait("the certificate list again", tour.on_screen("certificates"))
    tour.tap(tour.screen("certificates").ids.back)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
