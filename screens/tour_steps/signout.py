"""The citizen takes the card and signs out; the next one finds the welcome page."""

from __future__ import annotations


def script(tour):
    shell = tour.shell
    tour.demo.remove_card()
    tour.tap(tour.screen("personal").ids.logout)
    yield from tour.wait("sign-out", lambda: shell.page.screen == "notice" and not shell.session.active)
    tour.shot("identify", "signed-out")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the welcome screen again", tour.on_screen("welcome"))
