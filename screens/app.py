"""The Kivy application: header, screens and status bar around the shell's current page."""

from __future__ import annotations

import importlib
import logging
import signal
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import ListProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.collector import IdleCollector
from kiosk.journeys import JOURNEYS  # noqa: F401  (registers every journey's pages)
from kiosk.shell import Shell
from screens.kivy_setup import peak_memory_mb, process_age

log = logging.getLogger("kiosk.ui")
HERE = Path(__file__).parent
# Shared rules and colours first; then each screen's own file, whatever screens there are.
FIRST_KV = ("widgets.kv", "app.kv")
NOT_SCREENS = {"app", "run", "tour", "kivy_setup", "widgets"}


def screen_class(name: str) -> str:
    """``case_query`` -> ``CaseQueryScreen``: the rule or class that renders that page."""
    return "".join(part.capitalize() for part in name.split("_")) + "Screen"


def _load_screen_modules() -> None:
    # A screen's .py registers its widget classes for the kv rules; a new journey's screen is found
    # without an edit here.
    for module in sorted(p.stem for p in HERE.glob("*.py")):
        if module not in NOT_SCREENS and not module.startswith("_"):
            importlib.import_module(f"screens.{module}")


class KioskApp(App):
    tr = ObjectProperty(None, rebind=True)
    screen = StringProperty("welcome")
    idle_left = NumericProperty(-1)
    devices_text = ListProperty()
    hall = StringProperty("")
    demo = ObjectProperty(None, allownone=True)

    def __init__(self, shell: Shell, demo=None, on_started=None, **kw):
        super().__init__(**kw)
        self.shell = shell
        self.demo = demo
        self._on_started = on_started
        self.title = "hall-kiosk"
        self.hall = shell.config.terminal.hall
        self.tr = shell.tr
        self.collector = IdleCollector(shell)

    def build(self):
        _load_screen_modules()
        rest = sorted(p.name for p in HERE.glob("*.kv") if p.name not in FIRST_KV)
        for name in (*FIRST_KV, *rest):
            Builder.load_file(str(HERE / name))
        root = Factory.KioskRoot()
        sm = root.ids.sm
        sm.make_screen = lambda name: Factory.get(screen_class(name))(name=name)  # built when first shown
        self.sm = sm
        self.shell.subscribe(self._sync)
        Window.bind(on_touch_down=self._touched)
        Window.bind(on_key_down=self._on_key)
        Window.bind(on_request_close=lambda *a, **k: True)  # no closing the kiosk from a WM
        Clock.schedule_interval(lambda _dt: self.shell.tick(), 0.1)
        # An answer from the platform is applied in the frame it arrives in, not at the next tick
        # (scheduling from the worker thread instead delayed it by up to half a second).
        Clock.schedule_interval(self._answers, 0)
        Window.bind(on_flip=self._first_frame)
        self._sync()
        return root

    def _touched(self, *_):
        self.collector.touched()
        self.shell.touch()

    def _collect(self, _dt) -> None:
        self.collector.tick()  # (a callback returning False would be unscheduled by Kivy)

    def _answers(self, _dt):
        if self.shell.background.answered():
            self.shell.tick()

    def _first_frame(self, *_):
        """Start-up time in the log (staff see a slow start; bench/ui_bench.py reads it)."""
        Window.unbind(on_flip=self._first_frame)
        self.collector.started()  # full garbage collections only while nobody is here
        Clock.schedule_interval(self._collect, 0.5)
        log.info("first frame drawn %.3f s after the process started (screen %s, peak memory %.0f MB)",
                 process_age(), self.screen, peak_memory_mb())

    def on_start(self):
        # systemd stops us with SIGTERM; SDL would turn it into a close request that we ignore.
        signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: self.stop()))
        if self._on_started:
            Clock.schedule_once(lambda _dt: self._on_started(self), 0.5)

    def on_stop(self):
        self.shell.shutdown()

    def _sync(self):
        shell = self.shell
        if self.tr is not shell.tr:
            self.tr = shell.tr
        self.idle_left = -1 if shell.idle_warning is None else shell.idle_warning
        self.devices_text = shell.device_summary()
        page = shell.page
        screen = self.sm.get_screen(page.screen)
        screen.page = page  # before the switch: the new screen is drawn with its page, not the last one
        screen.refresh(page)
        if self.sm.current != page.screen:
            self.screen = page.screen
            self.sm.current = page.screen

    def _on_key(self, _window, key, _scancode, _codepoint, _modifiers):
        if self.demo is not None:
            return self.demo.on_key(key)
        return False
