"""Identify: the welcome page, a card on the reader, the personal page."""

from __future__ import annotations


def script(tour):
    shell = tour.shell
    yield from tour.wait("the welcome screen", tour.on_screen("welcome"))
    yield from tour.wait("the devices to come online", lambda: all(ok for _n, _t, ok in shell.device_summary()),
                         timeout=15)
    tour.shot("identify", "welcome")
    yield from tour.in_other_languages("identify", "welcome")
    tour.demo.place_card(0)
    yield from tour.wait("the card to be read", tour.on_screen("personal"), timeout=10)
    tour.shot("identify", "personal")
    yield from tour.in_other_languages("identify", "personal")
