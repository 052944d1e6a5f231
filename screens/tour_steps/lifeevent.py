"""Life events: the eight events, one event's items, a guide opened from it, the printed checklist."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    tour.tap(tour.entry("lifeevent"))
    yield from tour.wait("the life events", lambda: shell.page.screen == "life_events"
                         and not shell.page.loading and bool(shell.page.events), timeout=15)
    tour.shot("lifeevent", "events")
    yield from tour.in_other_languages("lifeevent", "events")

    tile = next((t for t in tour.screen("life_events").ids.events.children if t.code == "birth"), None)
    if tile is None:
        raise TourFailed("no 出生 button on the life events page")
    tour.tap(tile)
    yield from tour.wait("the event's items", lambda: shell.page.screen == "life_event"
                         and not shell.page.loading and bool(shell.page.items), timeout=15)
    tour.shot("lifeevent", "items")
    yield from tour.in_other_languages("lifeevent", "items")

    # A guide from the event, and back to the event's items.
    rows = tour.screen("life_event").ids.item_rows.children[::-1]
    row = next((r for r in rows if not r.note), None)
    if row is None:
        raise TourFailed("no item with a material list in the event")
    tour.tap(row)
    yield from tour.wait("the guide of the item", tour.on_screen("guide", code=row.code), timeout=15)
    tour.shot("lifeevent", "guide")
    tour.tap(tour.screen("guide").ids.back)
    yield from tour.wait("the event's items again", tour.on_screen("life_event"))

    yield from tour.print_with_notice(tour.screen("life_event").ids.print_button, "checklist")
    tour.shot("lifeevent", "printed")
    tour.tap(tour.screen("notice").ids.ok)
    yield from tour.wait("back on the event's items", tour.on_screen("life_event"))
    tour.tap(tour.screen("life_event").ids.back)
    yield from tour.wait("the life events again", tour.on_screen("life_events"))
    tour.tap(tour.screen("life_events").ids.back)
    yield from tour.wait("the personal page again", tour.on_screen("personal"))
