"""The Kivy application: a shell (header, screens, status bar) that renders the controller's view."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import DictProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.controller import KioskController
from kiosk.i18n import catalogue
from screens import apply, demo_panel, guides  # noqa: F401  (register widget classes for the kv rules)

log = logging.getLogger("kiosk.ui")
HERE = Path(__file__).parent
KV_FILES = ("widgets.kv", "app.kv", "welcome.kv", "personal.kv", "guides.kv", "guide.kv", "apply.kv", "notice.kv",
            "demo_panel.kv")


class KioskApp(App):
    tr = ObjectProperty(None, rebind=True)
    view = DictProperty()
    screen = StringProperty("welcome")
    idle_left = NumericProperty(-1)
    devices_text = ListProperty()
    hall = StringProperty("")
    demo = ObjectProperty(None, allownone=True)

    def __init__(self, controller: KioskController, demo=None, on_started=None, **kw):
        super().__init__(**kw)
        self.controller = controller
        self.demo = demo
        self._on_started = on_started
        self.title = "hall-kiosk"
        self.hall = controller.config.terminal.hall
        self.tr = controller.tr

    def build(self):
        for name in KV_FILES:
            Builder.load_file(str(HERE / name))
        root = Factory.KioskRoot()
        sm: ScreenManager = root.ids.sm
        sm.transition = NoTransition()  # software GL: shader transitions stall the first frame
        for name in ("welcome", "personal", "guides", "guide", "apply", "done", "notice"):
            sm.add_widget(Factory.get(f"{name.capitalize()}Screen")(name=name))
        self.sm = sm
        self.controller.subscribe(self._sync)
        Window.bind(on_touch_down=lambda *_: self.controller.touch())
        Window.bind(on_key_down=self._on_key)
        Window.bind(on_request_close=lambda *a, **k: True)  # no closing the kiosk from a WM
        Clock.schedule_interval(lambda _dt: self.controller.tick(), 0.1)
        self._sync()
        return root

    def on_start(self):
        # systemd stops us with SIGTERM; SDL would turn it into a close request that we ignore.
        signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: self.stop()))
        if self._on_started:
            Clock.schedule_once(lambda _dt: self._on_started(self), 0.5)

    def on_stop(self):
        self.controller.shutdown()

    def _sync(self):
        c = self.controller
        if self.tr is not c.tr:
            self.tr = c.tr
        self.view = dict(c.view.data)
        self.idle_left = -1 if c.idle_warning is None else c.idle_warning
        labels = catalogue(self.tr.lang)
        self.devices_text = [(labels.get(f"device.{name}", name) + labels["common.colon"], text, ok)
                             for name, text, ok in c.device_summary()]
        if self.screen != c.view.screen:
            self.screen = c.view.screen
            self.sm.current = c.view.screen
        screen = self.sm.get_screen(c.view.screen)
        if hasattr(screen, "refresh"):
            screen.refresh(self.view)

    def _on_key(self, _window, key, _scancode, _codepoint, _modifiers):
        if self.demo is not None:
            return self.demo.on_key(key)
        return False
