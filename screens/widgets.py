"""Small widgets shared by several screens."""

from __future__ import annotations

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from kiosk.pages import PAGES


class PageScreen(Screen):
    """A screen that renders one page model; until its page is on display it holds an empty one."""

    page = ObjectProperty(None, rebind=True)  # kv reads root.page.<field>: follow a new page

    def __init__(self, **kw):
        kw.setdefault("page", PAGES[kw["name"]]())  # before the kv rule binds to it
        super().__init__(**kw)

    def refresh(self, page) -> None:
        """Screens with rows built in Python override this; the rest bind in their .kv rule."""


class DeviceChip(Label):
    ok = BooleanProperty(True)


class HotChip(Button):
    """A popular search, shown in words and searched as its pinyin."""

    query = StringProperty("")


class DeviceBar(BoxLayout):
    """One chip per device: its name and plain status, green when ready, red otherwise."""

    devices = ListProperty()

    def on_devices(self, _inst, devices):
        self.clear_widgets()
        for name, text, ok in devices:
            self.add_widget(DeviceChip(text=f"{name}{text}", ok=ok))
        self.add_widget(Factory.Widget())
