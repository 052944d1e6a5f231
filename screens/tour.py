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


def _layout_pass() -> None:
    """What a frame does to widgets (clock events, layouts, labels' textures, canvas updates)
    without drawing the window or waiting out the frame rate: the audit renders what it looks at
    itself (export_as_image), and on a software-rendered display a window flip is the costliest
    part of a frame (a third of a tour's time when it flipped three frames per audited variant)."""
    from kivy.clock import Clock
    from kivy.lang import Builder

    Clock._process_events()  # (Clock.tick without its sleep to the frame rate)
    Builder.sync()
    Clock.tick_draw()  # the events due before a frame: layouts, label textures
    Builder.sync()


class Tour:
    def __init__(self, out_dir: Path, query: str = TOUR_QUERY, audit: bool = False):
        self.out = Path(out_dir)
        self.audit = audit  # audit every page pictured, in every language and in elder mode
        self.violations: list = []
        self.audited: list[str] = []  # <journey>-<NN>-<page>-<lang>[-elder], as audited
        self._audited_pages: set[tuple[str, str]] = set()
        self._busy = False
        self.demo = None  # the demo hardware, once the app has it
        self.query = query
        self.exit_code = 1
        self.shots: list[Path] = []
        self.failure = ""
        self._steps: Iterator | None = None
        self._counts: dict[str, int] = {}

    # -- driving ------------------------------------------------------------------------
    def start(self, app: App) -> None:
        self.app = app
        self.demo = app.hardware
        self.out.mkdir(parents=True, exist_ok=True)
        self._steps = self.script()
        self._event = Clock.schedule_interval(self._advance, 0.1)

    def _advance(self, _dt) -> None:
        if self._busy:  # the audit is drawing frames of its own inside a step
            return
        try:
            next(self._steps)
        except StopIteration:
            self.exit_code = 0
            self._finish()
        except TourFailed as exc:
            self.failure = str(exc)
            log.error("tour failed: %s", exc)
            self._save("FAILED")
            self._finish()

    def _finish(self) -> None:
        self._event.cancel()
        if self.audit:
            self._report()
        self.app.stop()

    def wait(self, what: str, cond: Callable[[], bool], timeout: float = 10.0, settle: int = 3):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise TourFailed(f"timed out after {timeout:.0f}s waiting for {what} "
                                 f"(screen {self.shell.page.screen!r})")
            yield
        for _ in range(settle):  # let a few frames render what changed
            yield

    def on_screen(self, name: str, **data) -> Callable[[], bool]:
        def cond() -> bool:
            page = self.shell.page
            return page.screen == name and all(getattr(page, k) == val for k, val in data.items())
        return cond

    def tap(self, widget) -> None:
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def shot(self, journey: str, page: str) -> Path:
        """``<journey>-<NN>-<page>-<lang>.png``, numbered per journey in the order taken;
        ``...-<lang>-elder.png`` in 长辈模式."""
        self._counts[journey] = n = self._counts.get(journey, 0) + 1
        pages = self.app.sm
        screen = pages.get_screen(pages.current)
        if [round(v) for v in (*screen.pos, *screen.size)] != [round(v) for v in (*pages.pos, *pages.size)]:
            raise TourFailed(f"screen {pages.current!r} at {screen.pos} {screen.size}, not where the pages are "
                             f"({pages.pos} {pages.size})")
        elder = "-elder" if self.shell.elder else ""
        shot = self._save(f"{journey}-{n:02d}-{page}-{self.shell.tr.lang}{elder}")
        if self.audit and (journey, page) not in self._audited_pages:  # not again in the next language
            self._audited_pages.add((journey, page))
            self._audit(f"{journey}-{n:02d}-{page}")
        return shot

    # -- the audit (screens/audit.py) --------------------------------------------------------
    def _audit(self, name: str) -> None:
        """The page on screen in each language, as it is and in elder mode, each audited a few
        frames after the switch; then back as it was, for the script to carry on.

        A step calls ``shot`` between two of its own yields, so the audit cannot wait for the
        next frames as a step does: it runs their layout passes here (``_layout_pass``; the tour's
        own clock event is held off meanwhile), and draws the window again only when it is done."""
        from kivy.base import EventLoop

        from kiosk.i18n import LANGUAGES
        from screens.audit import ELDER, NORMAL, audit

        shell = self.shell
        lang, elder, warning, touched = shell.tr.lang, shell.elder, shell.idle_warning, shell.session.last_touch
        self._busy = True
        fps, Clock._max_fps = Clock._max_fps, 0  # (no waiting out the frame rate between the audit's frames)
        try:
            for variant_lang in LANGUAGES:
                for variant_elder in (False, True):
                    self._show(variant_lang, variant_elder, warning)
                    for _ in range(3):  # a layout may set off another one in the pass after it
                        _layout_pass()
                    EventLoop.idle()  # and one frame drawn, as a person sees the page
                    page = f"{name}-{variant_lang}" + ("-elder" if variant_elder else "")
                    self.violations += audit(self.app.root, page, variant_lang, ELDER if variant_elder else NORMAL)
                    self.audited.append(page)
            self._show(lang, elder, warning)
            shell.session.last_touch = touched  # the audit's switches were no one's touches
            for _ in range(2):
                EventLoop.idle()
        finally:
            self._busy = False
            Clock._max_fps = fps

    def _show(self, lang: str, elder: bool, warning) -> None:
        shell = self.shell
        shell.set_language(lang)
        shell.set_elder(elder)
        if warning is not None:  # a switch is a touch, which takes the idle warning away
            shell.idle_warning = warning
            shell._changed()

    def _report(self) -> None:
        import json

        from screens.audit import summary

        (self.out / "audit.json").write_text(json.dumps(
            {"pages": self.audited, "violations": [v.as_dict() for v in self.violations]},
            ensure_ascii=False, indent=1), encoding="utf-8")
        lines = list(summary(self.violations))
        (self.out / "audit.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        log.info("audit of %d pages: %s", len(self.audited), lines[0])

    def _save(self, name: str) -> Path:
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

    @property
    def shell(self):
        return self.app.shell

    def widget(self, test: Callable[[object], bool], what: str):
        """The first widget on the window for which ``test`` is true."""
        found = next((w for w in self.app.root.walk() if test(w)), None)
        if found is None:
            raise TourFailed(f"no {what} on screen {self.shell.page.screen!r}")
        return found

    def entry(self, journey: str):
        """The welcome or personal page's button that starts ``journey``."""
        screen = self.screen(self.shell.page.screen)
        found = next((w for w in screen.walk() if getattr(w, "journey", None) == journey), None)
        if found is None:
            raise TourFailed(f"no button for {journey} on screen {screen.name!r}")
        return found

    def language(self, lang: str):
        self.tap(self.widget(lambda w: getattr(w, "lang", None) == lang, f"{lang} button"))
        yield from self.wait(f"the page in {lang}", lambda: self.shell.tr.lang == lang)

    def print_with_notice(self, button, what: str):
        """Tap a print button; wait for the "printed" notice and the slip out of the emulator."""
        before = len(self.demo.printer.slips)
        self.tap(button)
        yield from self.wait(f"the {what} to print", lambda: self.shell.page.screen == "notice"
                             and self.shell.page.kind == "info", timeout=20)
        yield from self.wait(f"the printer emulator to render the {what}",
                             lambda: len(self.demo.printer.slips) == before + 1, timeout=10)

    def in_other_languages(self, journey: str, page: str):
        """The page on screen again in 繁體 and English, then back in 简体."""
        for lang in ("zh_TW", "en"):
            yield from self.language(lang)
            self.shot(journey, page)
        yield from self.language("zh_CN")

    # -- the journeys ---------------------------------------------------------------------
    def script(self):
        from screens.tour_steps import STEPS

        for step in STEPS:
            yield from step(self)
