"""Chinese without pinyin: on the guides page a citizen opens the handwriting pad and writes 结 and
婚 with a finger (stroke medians of the two characters, as touches on the pad), picks each from the
candidate bar, and finds 结婚; then types pinyin and picks from the same bar. Ends on the welcome page."""

from __future__ import annotations

import json
from pathlib import Path

from kivy.tests.common import UnitTestTouch

from screens.tour import TourFailed

# Make Me a Hanzi's stroke medians (Arphic Public License; see the folder's README).
MEDIANS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "handwriting" / "medians.json"


def script(tour):
    shell = tour.shell
    if not MEDIANS.exists():
        raise TourFailed(f"no stroke data at {MEDIANS}")
    medians = json.loads(MEDIANS.read_text())
    yield from tour.wait("the welcome page", tour.on_screen("welcome"))
    tour.tap(tour.entry("guide"))
    yield from tour.wait("the guide list", tour.on_screen("guides", loading=False))
    screen = tour.screen("guides")
    tour.tap(screen.ids.keyboard.handwrite)
    yield from tour.wait("the handwriting pad", lambda: shell.page.handwriting)
    pad = screen.pad
    for char in "结婚":
        for stroke in medians[char]:  # a finger: down, along the stroke, up
            side = min(pad.width, pad.height) * 0.9
            left, top = pad.x + (pad.width - side) / 2, pad.top - (pad.height - side) / 2
            points = [(left + x * side / 1024, top - (900 - y) * side / 1024) for x, y in stroke]
            touch = UnitTestTouch(*points[0])
            touch.touch_down()
            for x, y in points[1:]:
                touch.touch_move(x, y)
            touch.touch_up()
            yield
        yield from tour.wait(f"{char} among the candidates", lambda char=char: char in shell.page.candidates)
        if char == "结":
            tour.shot("handwriting", "pad")
            yield from tour.in_other_languages("handwriting", "pad")
        chip = next((c for c in screen.ids.hot.children if c.text == char), None)
        if chip is None:
            raise TourFailed(f"no chip for {char}")
        tour.tap(chip)
        yield from tour.wait(f"{char} searched", lambda char=char: shell.page.query.endswith(char)
                             and not shell.page.loading)
    if not shell.page.items:
        raise TourFailed("nothing found for 结婚 written by hand")
    tour.shot("handwriting", "results")
    # Back to the keyboard: pinyin initials, and the same bar offers the words.
    tour.tap(screen.writing_box.ids.to_keyboard)
    yield from tour.wait("the keyboard again", lambda: not shell.page.handwriting)
    tour.tap(screen.ids.keyboard.clear)
    keys = {b.text: b for row in screen.ids.keyboard.children for b in row.children if hasattr(b, "text")}
    for ch in "sbk":
        tour.tap(keys[ch])
        yield
    yield from tour.wait("candidates for sbk", lambda: "社保卡" in shell.page.candidates and not shell.page.loading)
    tour.shot("handwriting", "pinyin")
    tour.tap(screen.ids.back)
    yield from tour.wait("the welcome page", tour.on_screen("welcome"))
