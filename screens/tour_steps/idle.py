"""Idle: a citizen who walks away is warned with a countdown, may stay, and is signed out.

The tour stands in for the clock here: it moves the session's last touch back instead of waiting
two minutes, which is what the idle timer sees when nobody touches the screen.
"""

from __future__ import annotations

import time


def script(tour):
    shell = tour.shell
    session = shell.session
    yield from tour.wait("the personal page", tour.on_screen("personal"))
    session.last_touch -= session.idle_timeout_s - session.warning_s + 1  # nobody has touched it since
    yield from tour.wait("the idle warning", lambda: shell.idle_warning is not None)
    tour.shot("idle", "warning")
    yield from tour.in_other_languages("idle", "warning")
    session.last_touch -= session.idle_timeout_s - session.warning_s + 1
    yield from tour.wait("the idle warning again", lambda: shell.idle_warning is not None)
    tour.tap(tour.widget(lambda w: getattr(w, "text", None) == shell.tr("idle.stay"), "the stay button"))
    yield from tour.wait("the warning gone after 继续办理", lambda: shell.idle_warning is None)
    tour.shot("idle", "stayed")
    session.last_touch -= session.idle_timeout_s + 1
    yield from tour.wait("the sign-out", lambda: not session.active and shell.page.screen == "notice")
    tour.shot("idle", "signed-out")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("the welcome page", tour.on_screen("welcome"))
    # The card was left on the reader; the citizen comes back, takes it and lays it down again.
    tour.demo.remove_card()
    taken = time.monotonic()
    yield from tour.wait("the reader to see the card go", lambda: time.monotonic() - taken > 1.0)
    tour.demo.place_card(0)  # the next steps start signed in again
    yield from tour.wait("the card to be read", tour.on_screen("personal"), timeout=10)
