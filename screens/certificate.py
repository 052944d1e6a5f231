"""My e-certificates: the list (a row per certificate, expired ones marked) and one certificate."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.utils import escape_markup

from screens.widgets import PageScreen


class CertificateRowView(ButtonBehavior, BoxLayout):
    cert_id = StringProperty("")
    name = StringProperty("")
    issuer = StringProperty("")
    number = StringProperty("")
    dates = StringProperty("")
    expired = BooleanProperty(False)

    def on_release(self):
        App.get_running_app().shell.act("open", cert_id=self.cert_id)


class CertificatesScreen(PageScreen):
    def refresh(self, page) -> None:
        self.ids.scroll.data = [{"cert_id": r.cert_id, "name": r.name, "issuer": r.issuer, "number": r.number,
                                 "dates": r.dates, "expired": r.expired} for r in page.rows]
        self.ids.scroll.scroll_y = 1


class CertificateScreen(PageScreen):
    def refresh(self, page) -> None:
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in page.rows:
            rows.add_widget(Factory.KLabel(text=f"[b]{escape_markup(label)}[/b]{escape_markup(value)}", markup=True))
