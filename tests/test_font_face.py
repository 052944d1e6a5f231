"""繁體 is drawn with the Traditional face: 返 連 請 育 are the same characters in both scripts and
differ only in the face's glyphs. A real Kivy window on the suite's Xvfb, in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = r"""
import sys
from devices.fonts import cjk_font
from screens.kivy_setup import configure
configure(400, 200, False, 1.0, str(cjk_font("regular")), str(cjk_font("bold")), headless=True)
from kivy.core.window import Window  # noqa: F401  (opens the window)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from screens.app import use_face

TEXT = "返連請育"

def pixels(label):
    label.texture_update()
    return bytes(label.texture.pixels)

def drawn(font):
    return pixels(Label(text=TEXT, font_size=60, font_name=font))

sc, tc = drawn(str(cjk_font("regular", "SC"))), drawn(str(cjk_font("regular", "TC")))
assert sc != tc, "the faces draw these characters alike"
root = BoxLayout()
shown = Label(text=TEXT, font_size=60)  # the default font, as every rule's label
root.add_widget(shown)
assert pixels(shown) == sc
assert use_face("zh_TW", root) and bytes(shown.texture.pixels) == tc  # redrawn, text unchanged
assert pixels(Label(text=TEXT, font_size=60)) == tc  # and a label made afterwards
assert use_face("en", root)  # back to SC for the other languages
assert pixels(shown) == sc
print("ok")
"""


def test_traditional_is_drawn_with_the_tc_face(display):
    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
