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

    def blank(self) -> None:
        self.cert_id = self.name = self.issuer = self.number = self.dates = ""
        self.expired = False


class CertificatesScreen(PageScreen):
    def refresh(self, page) -> None:
        scroll = self.ids.scroll
        scroll.data = [{"cert_id": r.cert_id, "name": r.name, "issuer": r.issuer, "number": r.number,
                        "dates": r.dates, "expired": r.expired} for r in page.rows]
        scroll.scroll_y = 1
        if not page.rows:  # the person has gone: no row widget kept for reuse holds their certificates
            for view in scroll.kept_views(CertificateRowView):
                view.blank()


class CertificateScreen(PageScreen):
    def refresh(self, page) -> None:
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in page.rows:
            rows.add_widget(Factory.KLabel(text=f"[b]{escape_markup(label)}[/b]{escape_markup(value)}", markup=True))
