"""The demo kiosk's maintenance mode as staff use it, for tests/test_maintenance_ui.py:
``python -m tests.staff_child CONFIG OUT PHASE``.

``main``: five taps on the terminal id, a wrong PIN and the right one on the pad; the emulated
faults (paper out, the scanner unplugged, the platform unreachable: the config points at a fault
proxy) read off the tiles on screen; leave; a staff card on the emulated ID card reader; leave;
then five wrong PINs. ``again`` (a restarted app on the same var dir): the PIN pad is still
locked. Everything is done by tapping widgets and by the demo hardware's hands. What was on
screen goes to OUT as JSON; exits 0 when every step happened."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.ui_child import drive, tap

STAFF_CARD = 1  # the demo's second sample card: on the allow-list of the test's config


def script(app, result: dict, phase: str, out: str):
    result["steps"] = []
    shell = app.shell

    def wait(what, cond, timeout=15.0):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} (screen {shell.page.screen}: {shell.page})")
            yield
        for _ in range(3):
            yield
        result["steps"].append(what)

    def screen():
        return app.sm.get_screen(app.sm.current)

    def key(text):
        return next(w for w in screen().walk() if getattr(w, "text", None) == text and hasattr(w, "on_release"))

    def pin(digits):
        for d in digits:
            tap(key(d))
        tap(screen().ids.enter)

    def tiles():
        from screens.maintenance import StaffTile

        return {w.title: {"lines": w.lines, "ok": w.ok} for w in screen().walk() if isinstance(w, StaffTile)}

    def gesture():
        for _ in range(5):
            tap(app.root.ids.terminal_id)

    yield from wait("the welcome page", lambda: shell.page.screen == "welcome")
    if phase == "again":
        # Nobody at the kiosk since the start: every page's screen is built meanwhile, so a
        # citizen's first visit to one is not slower than the next (screens/app.py).
        yield from wait("every screen built", lambda: app.prebuilt, 60)
        result["built"] = sorted(s.name for s in app.sm.screens)
        result["preloaded"] = [m for m in ("opencc", "rapidfuzz.process", "rapidfuzz.fuzz") if m in sys.modules]
        app._forget_pages("welcome")  # as when a person goes: every screen takes its empty page
        gesture()
        yield from wait("the PIN pad", lambda: app.sm.current == "staff_pin")
        result["locked"] = {"message": screen().ids.message.text, "enter": screen().ids.enter.disabled}
        pin("2468")
        yield
        result["after_right_pin"] = app.sm.current
        return
    gesture()
    yield from wait("the PIN pad", lambda: app.sm.current == "staff_pin")
    pin("1111")
    yield from wait("wrong PIN said", lambda: "还可再试" in screen().ids.message.text)
    result["wrong"] = screen().ids.message.text
    pin("2468")
    yield from wait("the tiles", lambda: app.sm.current == "staff_tiles")
    hw = app.hardware
    hw.printer.set_paper("out")
    hw.scanner.close()  # unplugged
    shown = {}

    def faults_shown():
        # The tiles as they were when all three faults showed: an unplugged pty's number
        # may be given to another test's pty, and the scanner then comes back "online".
        now = tiles()
        if (any("缺纸" in t["lines"] and not t["ok"] for t in now.values())
                and any("scanner" in k and not t["ok"] for k, t in now.items())
                and any("无法连接" in t["lines"] and not t["ok"] for t in now.values())):
            shown.update(now)
        return bool(shown)

    yield from wait("the faults on the tiles", faults_shown, timeout=30)
    result["tiles"] = shown
    result["pictured"] = str(Path(out).with_suffix(".png"))
    from kivy.core.window import Window

    Window.screenshot(name=result["pictured"])
    tap(screen().ids.leave)
    yield from wait("the welcome page after leaving", lambda: shell.page.screen == "welcome")
    hw.place_card(STAFF_CARD)
    yield from wait("the tiles by staff card", lambda: app.sm.current == "staff_tiles")
    result["who"] = screen().ids.who.text
    result["identity_after_card"] = shell.session.identity is not None
    tap(screen().ids.leave)
    yield from wait("the welcome page again", lambda: shell.page.screen == "welcome")
    gesture()
    yield from wait("the PIN pad again", lambda: app.sm.current == "staff_pin")
    for _ in range(5):
        pin("0000")
        yield from wait("the PIN checked", lambda: not getattr(shell.journey, "verifying", False))
    yield from wait("the lock", lambda: "已锁定" in screen().ids.message.text)
    result["locked"] = {"message": screen().ids.message.text, "enter": screen().ids.enter.disabled}


if __name__ == "__main__":
    config, out, phase = sys.argv[1:4]
    sys.exit(drive(config, out, lambda app, result: script(app, result, phase, out)))
