"""The demo kiosk in 长辈模式 and out of it, for tests/test_layout.py: ``python -m tests.elder_child
CONFIG OUT``. Once the kiosk is assembled it measures the welcome and guides pages (text sizes,
target heights, the keys' sizes), taps the welcome page's 长辈模式 button as a finger would, measures
again, and writes both as JSON to OUT. Exits 0 when it could measure."""

from __future__ import annotations

import sys
from pathlib import Path

from kivy.metrics import dp

from tests.ui_child import drive, tap


def measure(app) -> dict:
    from kivy.uix.label import Label

    screen = app.sm.get_screen(app.sm.current)
    labels = [w for w in screen.walk(restrict=True) if isinstance(w, Label) and w.text and w.opacity > 0 and w.width > 0]
    targets = [w for w in screen.walk(restrict=True) if hasattr(w, "on_release") and w.opacity > 0 and w.width > 0]
    return {"screen": app.sm.current, "elder": app.theme.elder,
            "smallest_text_px": min(w.font_size for w in labels),
            "smallest_target_dp": min(min(w.height, w.width) for w in targets) / dp(1),
            "prompt_px": max(w.font_size for w in labels),
            "smallest_text": min(((w.font_size, w.text) for w in labels), key=lambda t: t[0])[1]}


def measure_bar(app) -> dict:
    """Whether each device chip is whole and inside the status bar, which is inside the window."""
    bar = app.root.ids.devices
    chips = list(bar.children)
    outside = [c.text for c in chips if c.x < bar.x - 1 or c.right > bar.right + 1 or c.y < bar.y - 1
               or c.top > bar.top + 1 or c.width < c.texture_size[0]]
    return {"chips": [c.text for c in reversed(chips)], "outside": outside,
            "lines": len({round(c.y) for c in chips}), "bar_width": bar.width,
            "chips_width": sum(c.width for c in chips), "bar_in_window": bar.y >= 0 and bar.parent.y >= 0}


def script(app, result: dict, shots: Path):
    result["normal"] = measure(app)
    tap(app.sm.get_screen("welcome").ids.elder)
    for _ in range(5):
        yield
    result["elder"] = measure(app)
    app.shell.start("guide")
    for _ in range(10):
        yield
    keys = app.sm.get_screen("guides").ids.keyboard
    sizes = [(b.width, b.height) for row in keys.children for b in row.children]
    result["elder_keys_dp"] = min(min(s) for s in sizes) / dp(1)
    result["guides_elder"] = measure(app)
    app.shell.set_elder(False)
    for _ in range(5):
        yield
    result["guides_normal"] = measure(app)
    # The status bar in English in elder size with every device needing attention: the
    # longest words it may have to show.
    for _ in range(200):  # the devices' own reports first (they come as each opens)
        if all(ok for _n, _t, ok in app.shell.device_summary()):
            break
        yield
    for name in app.shell.upkeep.devices.workers:
        app.shell.upkeep.device_states[name] = {"state": "user_error"}
    app.shell.set_language("en")  # (which redraws the bar)
    app.shell.set_elder(True)
    for _ in range(5):
        yield
    result["bar"] = measure_bar(app)
    from kivy.core.window import Window

    Window.screenshot(name=str(shots / "statusbar.png"))


if __name__ == "__main__":
    config, out = sys.argv[1:3]
    sys.exit(drive(config, out, lambda app, result: script(app, result, Path(out).parent)))
