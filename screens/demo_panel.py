"""Demo hardware panel: buttons that act on the emulators (not on the app), as hands on hardware would."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout


class DemoPanel(BoxLayout):
    state_text = StringProperty("")

    def on_parent(self, *_):
        Clock.schedule_once(self._build, 0)
        app = App.get_running_app()
        if app is not None:  # the hardware comes once the kiosk is assembled, after the first frame
            app.bind(demo=lambda *_: self._build(0))

    def _build(self, _dt):
        app = App.get_running_app()
        if app is None or app.demo is None or self.ids.cards.children:
            return
        for i, (name, card_type) in enumerate(app.demo.card_labels(), 1):
            self.ids.cards.add_widget(Factory.DemoButton(
                text=f"{i}  {name}  {app.tr('demo.card.' + card_type)}",
                on_release=lambda _b, n=i - 1: app.demo.place_card(n)))
        for what, name in app.demo.code_labels():
            self.ids.codes.add_widget(Factory.DemoButton(
                text=app.tr("demo.code." + what, name=name), on_release=lambda _b, w=what: app.demo.show_code(w)))
        if app.demo.ss_reader is not None:
            self.ids.codes.add_widget(Factory.DemoButton(text=app.tr("demo.ss_card"),
                                                         on_release=lambda _b: app.demo.toggle_ss_card()))
        Clock.schedule_interval(lambda _dt: setattr(self, "state_text", app.demo.describe()), 0.5)
