"""The Kivy application: header, screens and status bar around the shell's current page."""

from __future__ import annotations

import importlib
import logging
import signal
from contextlib import ExitStack
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.collector import IdleCollector
from kiosk.pages import PAGES
from kiosk.watchdog import Notifier
from screens import kivy_fixes
from screens.kivy_setup import peak_memory_mb, process_age
from screens.theme import Theme
from screens.warmup import Warmup
from screens.widgets import BreakingLabel  # noqa: F401  (the base of the rules' labels, before any rule loads)

log = logging.getLogger("kiosk.ui")
HERE = Path(__file__).parent
# Shared rules and colours first, and the first frame's page; then each other screen's own file,
# whatever screens there are, once the kiosk is assembled.
FIRST_KV = ("widgets.kv", "demo_panel.kv", "app.kv", "welcome.kv")
PREBUILD_EVERY_S = 0.1  # a screen or a font a tenth of a second after start, the welcome page answering in between
NOT_SCREENS = {"app", "audit", "run", "tour", "kivy_setup", "widgets", "warmup"}


def screen_class(name: str) -> str:
    """``case_query`` -> ``CaseQueryScreen``: the rule or class that renders that page."""
    return "".join(part.capitalize() for part in name.split("_")) + "Screen"


def use_face(lang: str, *roots) -> bool:
    """Draw Chinese in the face of ``lang``'s script: Traditional (TC) for zh_TW, Simplified (SC)
    otherwise - 返 連 請 育 are the same characters in both, drawn differently. The default font
    (every rule's, kivy_setup.configure) is registered again with the other face, and every label
    under ``roots`` draws again: one whose text did not change would keep the old glyphs.
    Returns whether the face changed."""
    from kivy.core.text import DEFAULT_FONT, LabelBase
    from kivy.uix.label import Label

    from devices.fonts import cjk_font

    variant = "TC" if lang == "zh_TW" else "SC"
    if _face[0] == variant:
        return False
    _face[0] = variant
    LabelBase.register(DEFAULT_FONT, str(cjk_font("regular", variant)), None, str(cjk_font("bold", variant)), None)
    for root in filter(None, roots):
        for widget in root.walk(restrict=True):
            if isinstance(widget, Label) and widget.font_name == DEFAULT_FONT:
                widget.texture_update()
    return True


_face = ["SC"]  # kivy_setup.configure registers the SC face


def _load_screen_modules() -> None:
    # A screen's .py registers its widget classes for the kv rules; a new journey's screen is found
    # without an edit here.
    for module in sorted(p.stem for p in HERE.glob("*.py")):
        if module not in NOT_SCREENS and not module.startswith("_"):
            importlib.import_module(f"screens.{module}")


class KioskApp(App):
    """Shows ``first`` (kiosk.startup.FirstShell) until ``assemble`` has built the kiosk, which it
    does right after the first frame; a configuration that fails then stops the app (``failure``)."""

    tr = ObjectProperty(None, rebind=True)
    theme = ObjectProperty(None, rebind=True)  # sizes and colours of every rule (screens/theme.py)
    screen = StringProperty("welcome")
    idle_left = NumericProperty(-1)
    devices_text = ListProperty()
    hall = StringProperty("")
    demo = ObjectProperty(None, allownone=True)  # the demo hardware the panel acts on
    panel = BooleanProperty(False)  # the demo panel has its place from the first frame
    voice = BooleanProperty(False)  # voice guidance is on: the header has 朗读 and 停止

    def __init__(self, first, assemble, panel: bool = False, on_started=None, **kw):
        super().__init__(**kw)
        self.shell = first
        self._assemble = assemble
        self._stack = ExitStack()  # what assemble starts, stopped when the app stops
        self.panel = panel
        self._on_started = on_started
        self.failure = ""
        self.prebuilt = False  # every screen built and font opened (see _prebuild)
        self._sessions_ended = 0  # the shell's count when the screens last forgot a person (_forget_pages)
        self.exit_code = 0  # kiosk.commands.RESTART_EXIT once the platform asked for a restart
        self.title = "hall-kiosk"
        self.hall = first.hall
        self.tr = first.tr
        self.theme = Theme()
        self.collector: IdleCollector | None = None
        self.hardware = None  # the demo hardware, panel or not (the tour's hands)
        self.notifier = Notifier()  # systemd's watchdog (kiosk/watchdog.py); idle outside systemd
        self.bind(screen=lambda _app, screen: self.notifier.status(screen))

    def build(self):
        kivy_fixes.apply()  # before the first label draws
        use_face(self.tr.lang)  # a terminal whose language is 繁體 starts in the TC face
        for name in FIRST_KV:
            Builder.load_file(str(HERE / name))
        from screens import demo_panel, home  # noqa: F401  (the first frame's widget classes)

        root = Factory.KioskRoot()
        sm = root.ids.sm
        sm.make_screen = lambda name: Factory.get(screen_class(name))(name=name)  # built when first shown
        self.sm = sm
        Window.bind(on_touch_down=self._touched)
        Window.bind(on_key_down=self._on_key)
        Window.bind(on_request_close=lambda *a, **k: True)  # no closing the kiosk from a WM
        Window.bind(on_flip=self._first_frame)
        self._sync()
        return root

    def _first_frame(self, *_):
        """Start-up time in the log (staff see a slow start; bench/ui_bench.py reads it); then the
        kiosk is assembled, in the next frame."""
        Window.unbind(on_flip=self._first_frame)
        log.info("first frame drawn %.3f s after the process started (screen %s, peak memory %.0f MB)",
                 process_age(), self.screen, peak_memory_mb())
        self.notifier.ready()
        self.notifier.status(self.screen)
        if self.notifier.interval_s:  # from this loop's clock: a hung UI stops the pings, systemd restarts it
            Clock.schedule_interval(lambda _dt: self.notifier.alive(), self.notifier.interval_s)
        Clock.schedule_once(self._assembled, 0)

    def _assembled(self, _dt) -> None:
        from kiosk.config import ConfigError

        try:
            shell, demo = self._assemble(self._stack)
        except ConfigError as exc:
            self.failure = f"config error: {exc}"
            log.error("%s", self.failure)
            return self.stop()
        _load_screen_modules()
        for name in sorted(p.name for p in HERE.glob("*.kv") if p.name not in FIRST_KV):
            Builder.load_file(str(HERE / name))
        self.shell, self.hardware = shell, demo
        self.demo = demo if self.panel else None
        self.collector = IdleCollector(shell)
        shell.subscribe(self._sync)
        Clock.schedule_interval(lambda _dt: self.shell.tick(), 0.1)
        # An answer from the platform, or a case delivered, is shown in the frame it arrives in,
        # not at the next tick (scheduling from the worker thread delayed it by up to half a second).
        Clock.schedule_interval(self._answers, 0)
        self._sync()
        self.collector.started()  # full garbage collections only while nobody is here
        Clock.schedule_interval(self._collect, 0.5)
        self.warmup = Warmup(self.sm, PAGES, self.root)
        Clock.schedule_interval(self._prebuild, PREBUILD_EVERY_S)
        log.info("kiosk ready %.3f s after the process started (peak memory %.0f MB)",
                 process_age(), peak_memory_mb())
        if self._on_started:
            Clock.schedule_once(lambda _dt: self._on_started(self), 0.5)

    def _prebuild(self, _dt):
        """One more screen or font prepared while nobody is at the kiosk (screens/warmup.py)."""
        if self.shell.page.screen != "welcome" or not self.collector.nobody_here():
            return None
        if self.warmup.step():
            return None
        self.prebuilt = True
        log.info("every screen built and every font opened ahead (peak memory %.0f MB)", peak_memory_mb())
        return False  # (Kivy unschedules it)

    def _touched(self, *_):
        if self.collector is not None:
            self.collector.touched()
        self.shell.touch()

    def _collect(self, _dt) -> None:
        self.collector.tick()  # (a callback returning False would be unscheduled by Kivy)

    def _answers(self, _dt):
        if self.shell.news():
            self.shell.tick()

    def on_start(self):
        # systemd stops us with SIGTERM; SDL would turn it into a close request that we ignore.
        signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: self.stop()))

    def on_stop(self):
        self.notifier.stopping()
        self._stack.close()  # the shell, the devices, the platform's client, the demo hardware

    def _sync(self):
        shell = self.shell
        if getattr(shell, "stop_requested", "") and not self.exit_code:  # a restart asked for (the platform, or staff)
            from kiosk.commands import RESTART_EXIT

            self.exit_code = RESTART_EXIT
            Clock.schedule_once(lambda _dt: self.stop())
        if self.tr is not shell.tr:
            # Screens not on show are not in the root's tree: their labels are redrawn too.
            use_face(shell.tr.lang, self.root, *self.sm.screens)
            self.tr = shell.tr
        self.theme.elder = shell.elder
        self.voice = getattr(shell, "speaker", None) is not None  # (not before the kiosk is assembled)
        self.hall = shell.hall
        self.idle_left = -1 if shell.idle_warning is None else shell.idle_warning
        self.devices_text = shell.device_summary()
        page = shell.page
        if getattr(shell, "sessions_ended", 0) != self._sessions_ended:
            self._sessions_ended = shell.sessions_ended
            self._forget_pages(page.screen)
        screen = self.sm.get_screen(page.screen)
        screen.page = page  # before the switch: the new screen is drawn with its page, not the last one
        screen.refresh(page)
        if self.sm.current != page.screen:
            self.screen = page.screen
            self.sm.current = page.screen

    def _forget_pages(self, showing: str) -> None:
        """The person has gone: every screen not on show goes back to its empty page. A screen keeps
        the last page it drew, and the person's pages (their cases, certificates, masked name) would
        stay in memory, ready to be drawn, until the next visit to each. So do the drawn glyphs kept
        by the font objects nobody drew with since the last person (kivy_fixes.empty_glyph_caches)."""
        for screen in self.sm.screens:
            if screen.name != showing:
                screen.page = PAGES[screen.name]()
                screen.refresh(screen.page)
        kivy_fixes.empty_glyph_caches()

    def staff_tap(self) -> None:
        """A tap on the terminal id (the hidden way into maintenance mode); not before the kiosk is assembled."""
        tap = getattr(self.shell, "staff_tap", None)
        if tap is not None:
            tap()

    def _on_key(self, _window, key, _scancode, _codepoint, _modifiers):
        if self.demo is not None:
            return self.demo.on_key(key)
        return False
