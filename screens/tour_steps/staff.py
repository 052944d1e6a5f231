"""Maintenance mode (staff): five taps on the terminal id, the PIN pad, the tiles, a list, and
out again. Pictured in 简体 only: staff pages, not a citizen's (the audit still checks them in
every language and in elder mode). Starts and ends on the welcome page."""

from __future__ import annotations

DEMO_PIN = "2468"  # config/demo.toml


def script(tour):
    shell = tour.shell
    yield from tour.wait("the welcome page", tour.on_screen("welcome"))
    for _ in range(5):
        tour.tap(tour.app.root.ids.terminal_id)
    yield from tour.wait("the staff PIN pad", tour.on_screen("staff_pin"))
    pad = tour.screen("staff_pin")

    def key(text):
        return tour.widget(lambda w: getattr(w, "text", None) == text and hasattr(w, "on_release")
                           and w in pad.walk(), f"the key {text}")

    for d in DEMO_PIN[:2]:
        tour.tap(key(d))
    yield from tour.wait("two digits typed", lambda: shell.page.dots == "●●")
    tour.shot("staff", "pin")
    for d in DEMO_PIN[2:]:
        tour.tap(key(d))
    tour.tap(pad.ids.enter)
    yield from tour.wait("the tiles", lambda: shell.page.screen == "staff_tiles"
                         and shell.journey.central is not None, timeout=15)
    tour.shot("staff", "tiles")
    from screens.maintenance import StaffTile

    tile = tour.widget(lambda w: isinstance(w, StaffTile) and w.title == shell.tr("staff.outbox_title"),
                       "the outbox tile")
    tour.screen("staff_tiles").ids.scroll.scroll_to(tile, animate=False)  # as a finger scrolls down to it
    yield from tour.wait("the outbox tile in view", lambda: True)
    tour.tap(tile.ids.actions.children[-1])  # 查看
    yield from tour.wait("the outbox list", tour.on_screen("staff_list"))
    tour.shot("staff", "outbox")
    tour.tap(tour.screen("staff_list").ids.back)
    yield from tour.wait("the tiles again", tour.on_screen("staff_tiles"))
    tour.tap(tour.screen("staff_tiles").ids.leave)
    yield from tour.wait("the welcome page again", lambda: shell.page.screen == "welcome" and len(shell.stack) == 1)
