"""The demo kiosk with a person who holds many e-certificates, for tests/test_certificate.py:
``python -m tests.certificates_child CONFIG OUT N``. Once the kiosk is assembled it puts the first
sample card on the emulated reader, gives that person N certificates more on the embedded platform,
opens "my e-certificates" as a finger would, counts the row widgets the list made, scrolls to its
end, taps the last certificate, takes the card away, looks for what the list kept of them and
writes what it saw as JSON to OUT. Exits 0 when every step happened."""

from __future__ import annotations

import gc
import sqlite3
import sys
from pathlib import Path

from tests.ui_child import drive, tap


def script(app, result: dict, n: int, shots: Path):
    from kivy.core.window import Window
    from kivy.uix.label import Label

    from screens.certificate import CertificateRowView

    shell = app.shell

    def until(what, cond, frames=600):
        for _ in range(frames):
            if cond():
                return
            yield
        raise TimeoutError(f"waited too long for {what} (on {shell.page.screen})")

    def in_view(screen):
        """The row widgets whose middle a finger can reach inside the list's frame."""
        scroll = screen.ids.scroll
        bottom = scroll.to_window(scroll.x, scroll.y)[1]
        return [w for w in screen.walk(restrict=True) if isinstance(w, CertificateRowView)
                and bottom <= w.to_window(*w.center)[1] <= bottom + scroll.height]

    def rows_made(screen):
        return sum(isinstance(w, CertificateRowView) for w in screen.walk(restrict=True))

    yield from until("the devices", lambda: all(ok for _n, _t, ok in shell.device_summary()))
    app.hardware.place_card(0)
    yield from until("the personal page", lambda: shell.session.identity is not None
                     and app.sm.current == "personal" and shell.page.screen == "personal")
    person = shell.session.identity.id_number
    with sqlite3.connect(shell.config.var_dir / "central.db") as db:
        db.executemany("INSERT INTO certificates (cert_id, id_number, name, number, issuer, issued_at, "
                       "valid_until) VALUES (?, ?, ?, ?, '广安市广安区行政审批局', ?, NULL)",
                       [(f"T-{i:04d}", person, f"《第 {i + 1} 件》办理结果", f"GA{i:010d}",
                         f"2030-01-01T00:00:{i % 60:02d}+00:00") for i in range(n)])
    entry = next(w for w in app.sm.get_screen("personal").walk() if getattr(w, "journey", None) == "certificate")
    for _ in range(3):  # laid out and drawn before a finger can find it
        yield
    tap(entry)
    yield from until("the list", lambda: shell.page.screen == "certificates" and not shell.page.loading
                     and bool(shell.page.rows))
    certs = app.sm.get_screen("certificates")
    yield from until("rows in view", lambda: bool(in_view(certs)))
    result.update(rows=len(shell.page.rows), status=shell.page.status, widgets=rows_made(certs),
                  first_in_view=[w.name for w in in_view(certs)])
    certs.ids.scroll.scroll_y = 0
    last = shell.page.rows[-1].name
    yield from until("the last row", lambda: any(w.name == last for w in in_view(certs)))
    result.update(widgets_at_end=rows_made(certs), last_in_view=[w.name for w in in_view(certs)])
    Window.screenshot(name=str(shots / "certificates.png"))
    tap(next(w for w in in_view(certs) if w.name == last))
    yield from until("its page", lambda: shell.page.screen == "certificate")
    result["opened"] = shell.page.title

    # The person takes the card and goes: no row widget Kivy keeps for reuse may still hold their
    # certificates (as text, or drawn in a texture).
    app.hardware.remove_card()
    yield from until("the welcome page", lambda: shell.page.screen == "welcome" and shell.session.identity is None)
    for _ in range(5):
        yield
    fixed = ("›", shell.tr("certificate.expired"))
    kept = [o for o in gc.get_objects() if isinstance(o, CertificateRowView)]
    labels = [w for v in kept for w in v.walk() if isinstance(w, Label) and w.text not in fixed]
    result.update(views_kept=len(kept),
                  texts_kept=[t for v in kept for t in (v.name, v.issuer, v.number, v.dates) if t]
                  + [w.text for w in labels if w.text],
                  textures_kept=sum(w.texture is not None for w in labels))


if __name__ == "__main__":
    config, out, n = sys.argv[1:4]
    sys.exit(drive(config, out, lambda app, result: script(app, result, int(n), Path(out).parent), interval=0.05))
