"""Small widgets shared by several screens."""

from __future__ import annotations

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label


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
