"""Rate the hall's service from the personal page, badly: the reasons page, then the thanks."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    tour.tap(tour.entry("rating"))
    yield from tour.wait("the levels page", tour.on_screen("rating_levels"))
    tour.shot("rating", "levels")
    yield from tour.in_other_languages("rating", "levels")

    buttons = {b.level: b for b in tour.screen("rating_levels").ids.levels.children}
    if 2 not in buttons:
        raise TourFailed("no 不满意 button on the levels page")
    tour.tap(buttons[2])
    yield from tour.wait("the reasons page", tour.on_screen("rating_reasons"))
    screen = tour.screen("rating_reasons")
    rows = [*screen.ids.reasons.children[::-1], *screen.ids.phrases.children[::-1]]
    for row in (rows[0], rows[2], rows[-2]):  # slow, unfriendly, "please fix this soon"
        tour.tap(row)
    yield from tour.wait("the ticks", lambda: sum(shell.page.ticked) == 3, settle=1)
    tour.shot("rating", "reasons")
    yield from tour.in_other_languages("rating", "reasons")

    tour.tap(screen.ids.submit)
    yield from tour.wait("the rating to reach the platform", lambda: shell.page.screen == "rating_thanks"
                         and shell.page.status == shell.tr("rating.status_sent"), timeout=15)
    tour.shot("rating", "thanks")
    yield from tour.in_other_languages("rating", "thanks")
    tour.tap(tour.screen("rating_thanks").ids.home)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
