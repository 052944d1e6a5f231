"""The demo kiosk with a person who holds many e-certificates, for tests/test_certificate.py:
``python -m tests.certificates_child CONFIG OUT N``. Once the kiosk is assembled it puts the first
sample card on the emulated reader, gives that person N certificates more on the embedded platform,
opens "my e-certificates" as a finger would, counts the row widgets the list made, scrolls to its
end, taps the last certificate, takes the card away, looks for what the list kept of them and
writes what it saw as JSON to OUT. Exits 0 when it could."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path


def main(config: str, out: str, n: str) -> int:
    from kiosk.startup import first_frame
    from screens.run import run_ui

    result: dict = {}

    def started(app):
        from kivy.clock import Clock
        from kivy.tests.common import UnitTestTouch

        from screens.certificate import CertificateRowView

        shell = app.shell

        def tap(widget):
            x, y = widget.to_window(*widget.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()

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

        def steps():
            yield from until("the devices", lambda: all(ok for _n, _t, ok in shell.device_summary()))
            app.hardware.place_card(0)
            yield from until("the personal page", lambda: shell.session.identity is not None
                             and app.sm.current == "personal" and shell.page.screen == "personal")
            person = shell.session.identity.id_number
            with sqlite3.connect(shell.config.var_dir / "central.db") as db:
                db.executemany("INSERT INTO certificates (cert_id, id_number, name, number, issuer, issued_at, "
                               "valid_until) VALUES (?, ?, ?, ?, '广安市广安区行政审批局', ?, NULL)",
                               [(f"T-{i:04d}", person, f"《第 {i + 1} 件》办理结果", f"GA{i:010d}",
                                 f"2030-01-01T00:00:{i % 60:02d}+00:00") for i in range(int(n))])
            entry = next(w for w in app.sm.get_screen("personal").walk() if getattr(w, "journey", None) == "certificate")
            for _ in range(3):  # laid out and drawn before a finger can find it
                yield
            tap(entry)
            yield from until("the list", lambda: shell.page.screen == "certificates" and not shell.page.loading
                             and bool(shell.page.rows))
            certs = app.sm.get_screen("certificates")
            yield from until("rows in view", lambda: bool(in_view(certs)))
            result["rows"] = len(shell.page.rows)
            result["status"] = shell.page.status
            result["widgets"] = sum(isinstance(w, CertificateRowView) for w in certs.walk(restrict=True))
            result["first_in_view"] = [w.name for w in in_view(certs)]
            certs.ids.scroll.scroll_y = 0
            last = shell.page.rows[-1].name
            yield from until("the last row", lambda: any(w.name == last for w in in_view(certs)))
            result["widgets_at_end"] = sum(isinstance(w, CertificateRowView) for w in certs.walk(restrict=True))
            result["last_in_view"] = [w.name for w in in_view(certs)]
            from kivy.core.window import Window

            Window.screenshot(name=str(Path(out).parent / "certificates.png"))
            tap(next(w for w in in_view(certs) if w.name == last))
            yield from until("its page", lambda: shell.page.screen == "certificate")
            result["opened"] = shell.page.title
            # The person takes the card and goes: no row widget Kivy keeps for reuse may still hold
            # their certificates (as text, or drawn in a texture).
            app.hardware.remove_card()
            yield from until("the welcome page", lambda: shell.page.screen == "welcome" and shell.session.identity is None)
            for _ in range(5):
                yield
            import gc

            from kivy.uix.label import Label

            kept = [o for o in gc.get_objects() if isinstance(o, CertificateRowView)]
            result["views_kept"] = len(kept)
            result["texts_kept"] = [t for v in kept for t in (v.name, v.issuer, v.number, v.dates) if t] + [
                w.text for v in kept for w in v.walk() if isinstance(w, Label) and w.text
                and w.text not in ("›", shell.tr("certificate.expired"))]
            result["textures_kept"] = sum(1 for v in kept for w in v.walk() if isinstance(w, Label)
                                          and w.texture is not None and w.text not in ("›", shell.tr("certificate.expired")))

        run = steps()

        def advance(_dt):
            try:
                next(run)
            except StopIteration:
                Path(out).write_text(json.dumps(result, ensure_ascii=False))
                app.stop()
                return False
            except Exception as exc:  # said on stderr, for the test's message
                print(f"certificates_child: {exc!r}; so far: {result}", file=sys.stderr)
                app.stop()
                return False
            return True

        Clock.schedule_interval(advance, 0.05)

    first = first_frame(config)
    slips = Path(out).parent / "slips"

    def assemble(stack):  # as `kiosk demo` assembles it (kiosk.cli)
        from kiosk import config as cfgmod
        from kiosk.demo import DemoHardware
        from kiosk.runtime import running_kiosk

        cfg = cfgmod.load(config)
        hw = stack.enter_context(DemoHardware(cfg, slips))
        return stack.enter_context(running_kiosk(cfg, hw.device_overrides())), hw

    code, failure = run_ui(config, first, assemble, demo=True, on_started=started)
    if failure:
        print(failure, file=sys.stderr)
    return code if Path(out).exists() else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
