"""Small widgets shared by several screens."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.recycleview import RecycleView
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView
from kivy.uix.stacklayout import StackLayout

from kiosk.pages import PAGES
from screens.kivy_fixes import OneBarBinding
from screens.linebreak import breaking, line_room


def act(action: str, **args) -> None:
    """A touch forwarded to the journey on screen (screens only render and forward)."""
    App.get_running_app().shell.act(action, **args)


class PageScreen(Screen):
    """A screen that renders one page model; until its page is on display it holds an empty one."""

    page = ObjectProperty(None, rebind=True)  # kv reads root.page.<field>: follow a new page

    def __init__(self, **kw):
        kw.setdefault("page", PAGES[kw["name"]]())  # before the kv rule binds to it
        super().__init__(**kw)

    def refresh(self, page) -> None:
        """Screens with rows built in Python override this; the rest bind in their .kv rule."""


class Pages(FloatLayout):
    """Shows one screen, by name; each screen is built the first time it is asked for.

    A ScreenManager (even with NoTransition) draws a frame with the old and the new, not yet
    laid out, screen together, and a tap in that frame is lost. Here the switch is one step: the
    new screen replaces the old before the next frame, and Kivy lays it out before drawing it."""

    current = StringProperty("")

    def __init__(self, make_screen=None, **kw):
        super().__init__(**kw)
        self.make_screen = make_screen
        self._screens: dict[str, Screen] = {}

    @property
    def screens(self) -> list[Screen]:
        """Every screen built so far, on show or not."""
        return list(self._screens.values())

    def get_screen(self, name: str) -> Screen:
        screen = self._screens.get(name)
        if screen is None:
            screen = self._screens[name] = self.make_screen(name)
        return screen

    def build_one(self, names) -> bool:
        """Build the first of ``names`` not built yet; False once all are."""
        name = next((n for n in names if n not in self._screens), None)
        if name is None:
            return False
        # At this window's size: its labels are laid out now, not at their first showing.
        self.get_screen(name).size = self.size
        return True

    def on_current(self, _pages, name: str) -> None:
        screen = self.get_screen(name)
        if screen.parent is not self:
            self.clear_widgets()
            screen.pos_hint = {"x": 0, "y": 0}  # a FloatLayout places only what has a pos_hint
            self.add_widget(screen)


class LineBreaking:
    """Chinese line breaking (screens/linebreak.py) for a label or button that wraps its text."""

    def _create_label(self):
        super()._create_label()
        if not getattr(self._label, "breaks_lines", False):
            cls = _BREAKING.setdefault(type(self._label), breaking(type(self._label)))
            cls.breaks_lines = True
            self._label.__class__ = cls


_BREAKING: dict[type, type] = {}


class KScrollView(OneBarBinding, ScrollView):
    pass


class KRecycleView(OneBarBinding, RecycleView):
    def kept_views(self, viewclass) -> list:
        """Every row widget of ``viewclass`` Kivy keeps for reuse: those in this list, those it
        keeps by index once scrolled away, and those in its own cache shared by every list (up to
        1,000, for as long as the app runs). Each still holds the texts it last showed."""
        from kivy.uix.recycleview import views

        adapter = self.view_adapter
        kept = [v for v in adapter.views.values() if isinstance(v, viewclass)]
        kept += adapter.dirty_views.get(viewclass, {}).values()
        return kept + list(views._cached_views.get(viewclass, ()))


class BreakingLabel(LineBreaking, Label):
    pass


class BreakingButton(LineBreaking, Button):
    pass


class FitLabel(BreakingLabel):
    """A line of text in the largest of ``sizes`` at which it fits its width whole (a page title
    that would not fit at the title's size takes a heading's, rather than lose its end)."""

    sizes = ListProperty()

    def __init__(self, **kw):
        self._trigger_fit = Clock.create_trigger(self._fit, -1)
        super().__init__(**kw)
        self.fbind("text", self._trigger_fit)
        self.fbind("width", self._trigger_fit)
        self.fbind("sizes", self._trigger_fit)
        self.fbind("bold", self._trigger_fit)
        self.fbind("padding", self._trigger_fit)

    def _fit(self, *_):
        if not self.sizes:
            return
        from kivy.core.text import Label as CoreLabel

        room = line_room(self.width, self.padding)  # as the lines are broken: fits there, drawn on one line
        for size in sorted(self.sizes, reverse=True):
            line = CoreLabel(text=self.text, font_size=size, font_name=self.font_name, bold=self.bold)
            line.refresh()
            if line.texture is None or line.texture.size[0] <= room:
                break
        self.font_size = size


class DeviceChip(Label):
    ok = BooleanProperty(True)


class HotChip(BreakingButton):
    """A popular search, shown in words and searched as its pinyin."""

    query = StringProperty("")


class DeviceBar(StackLayout):
    """One chip per device: its name and plain status, green when ready, red otherwise. Chips that
    do not fit on the line go on to a second one, whole: four devices failing in English in elder
    size are wider than the screen."""

    devices = ListProperty()

    def on_devices(self, _inst, devices):
        self.clear_widgets()
        for name, text, ok in devices:
            self.add_widget(DeviceChip(text=f"{name}{text}", ok=ok))
