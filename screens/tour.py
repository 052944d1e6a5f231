"""The headless tour: a scripted citizen going through the real app, with a screenshot per screen.

It acts only as a person would: hardware through the demo harness (placing a card), the app by
tapping its widgets. Each step waits for what a person would wait for, bounded by a timeout;
the first step that does not happen ends the tour with a non-zero exit code.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

log = logging.getLogger("kiosk.tour")

TOUR_QUERY = os.environ.get("KIOSK_TOUR_QUERY", "hunyin")


class TourFailed(Exception):
    pass


class Tour:
    def __init__(self, out_dir: Path, demo, query: str = TOUR_QUERY):
        self.out = Path(out_dir)
        self.demo = demo
        self.query = query
        self.exit_code = 1
        self.shots: list[Path] = []
        self.failure = ""
        self._steps: Iterator | None = None

    # -- driving ------------------------------------------------------------------------
    def start(self, app: App) -> None:
        self.app = app
        self.out.mkdir(parents=True, exist_ok=True)
        self._steps = self.script()
        self._event = Clock.schedule_interval(self._advance, 0.1)

    def _advance(self, _dt) -> None:
        try:
            next(self._steps)
        except StopIteration:
            self.exit_code = 0
            self._finish()
        except TourFailed as exc:
            self.failure = str(exc)
            log.error("tour failed: %s", exc)
            self.shot("FAILED")
            self._finish()

    def _finish(self) -> None:
        self._event.cancel()
        self.app.stop()

    def wait(self, what: str, cond: Callable[[], bool], timeout: float = 10.0, settle: int = 3):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise TourFailed(f"timed out after {timeout:.0f}s waiting for {what} "
                                 f"(screen {self.app.shell.page.screen!r})")
            yield
        for _ in range(settle):  # let a few frames render what changed
            yield

    def on_screen(self, name: str, **data) -> Callable[[], bool]:
        def cond() -> bool:
            page = self.app.shell.page
            return page.screen == name and all(getattr(page, k) == val for k, val in data.items())
        return cond

    def tap(self, widget) -> None:
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def shot(self, name: str) -> Path:
        made = Window.screenshot(name=str(self.out / f"{name}.png"))
        # Kivy appends a counter to the name it is given ("x0001.png"); keep our own name.
        target = self.out / f"{name}.png"
        if made and Path(made) != target:
            os.replace(made, target)
        self.shots.append(target)
        log.info("screenshot %s", target)
        return target

    def screen(self, name: str):
        return self.app.sm.get_screen(name)

    # -- the journey ----------------------------------------------------------------------
    def script(self):
        c = self.app.shell
        yield from self.wait("the welcome screen", self.on_screen("welcome"))
        yield from self.wait("the devices to come online",
                             lambda: all(ok for _n, _t, ok in c.device_summary()), timeout=15)
        self.shot("01-welcome")

        self.demo.place_card(0)
        yield from self.wait("the card to be read", self.on_screen("personal"), timeout=10)
        self.shot("02-identified")

        self.tap(self.screen("personal").ids.guides)
        yield from self.wait("the guide list", self.on_screen("guides", loading=False))
        self.shot("03-guides")

        keyboard = self.screen("guides").ids.keyboard
        keys = {b.text: b for row in keyboard.children for b in row.children if hasattr(b, "text")}
        for ch in self.query:
            self.tap(keys[ch])
            yield
        yield from self.wait(f"results for {self.query!r}",
                             lambda: c.page.screen == "guides" and c.page.query == self.query
                             and not c.page.loading and bool(c.page.items))
        self.shot("04-search")

        rows = self.screen("guides").ids.results.layout_manager.children
        first = c.page.items[0].code
        row = next((r for r in rows if r.code == first), None)
        if row is None:
            raise TourFailed("the first result is not on screen")
        self.tap(row)
        yield from self.wait("the guide page", self.on_screen("guide"))
        self.shot("05-guide")

        # The printer runs out of paper: the citizen is told, and the slip waits rather than being lost.
        printed_before = len(self.demo.printer.slips)
        self.demo.toggle_paper()
        yield from self.wait("the printer to report no paper",
                             lambda: c.device_states.get("printer", {}).get("paper") == "out", timeout=10)
        self.tap(self.screen("guide").ids.print_button)
        yield from self.wait("the paper-out notice", lambda: c.page.screen == "notice"
                             and c.page.kind == "warning", timeout=15)
        self.shot("06-paper-out")
        self.demo.toggle_paper()  # staff refill it
        yield from self.wait("the slip to print once paper is back", lambda: c.page.screen == "notice"
                             and c.page.kind == "info", timeout=20)
        yield from self.wait("the printer emulator to render the slip",
                             lambda: len(self.demo.printer.slips) == printed_before + 1, timeout=10)
        self.shot("07-printed")

        self.tap(self.screen("notice").ids.ok)
        yield from self.wait("back on the guide page", self.on_screen("guide"))
        lang_buttons = [w for w in self.app.root.walk() if getattr(w, "lang", None) == "en"]
        self.tap(lang_buttons[0])
        yield from self.wait("the English guide page", lambda: c.tr.lang == "en")
        self.shot("08-guide-english")

        # Back in Chinese, the citizen applies for it: ticks what they brought, submits, takes the receipt.
        self.tap(next(w for w in self.app.root.walk() if getattr(w, "lang", None) == "zh_CN"))
        yield from self.wait("the Chinese guide page", lambda: c.tr.lang == "zh_CN")
        self.tap(self.screen("guide").ids.apply_button)
        yield from self.wait("the apply page", self.on_screen("apply"))
        self.shot("09-apply")
        rows = self.screen("apply").ids.materials.children[::-1]
        unticked = [r for r in rows if not r.ticked]
        if unticked:  # an optional material the citizen brought anyway
            self.tap(unticked[0])
            yield from self.wait("the tick", lambda: unticked[0].ticked, settle=1)
        printed_before = len(self.demo.printer.slips)
        self.tap(self.screen("apply").ids.confirm)
        yield from self.wait("the done page", self.on_screen("done"), timeout=15)
        yield from self.wait("the receipt to print", lambda: len(self.demo.printer.slips) == printed_before + 1
                             and c.page.receipt == c.tr("done.take_receipt"), timeout=15)
        self.shot("10-submitted")

        self.tap(self.screen("done").ids.home)
        yield from self.wait("the personal page again", self.on_screen("personal"))
        self.demo.remove_card()
        self.tap(self.screen("personal").ids.logout)
        yield from self.wait("sign-out", lambda: c.page.screen == "notice" and not c.session.active)
        self.shot("11-signed-out")
        self.tap(self.screen("notice").ids.ok)
        yield from self.wait("the welcome screen again", self.on_screen("welcome"))
