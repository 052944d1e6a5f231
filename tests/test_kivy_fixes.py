"""screens/kivy_fixes.py: what Kivy 2.3.1 keeps that it has no use for, and the kiosk drops.

- Kivy's ScrollView binds ``bar_color`` on every scroll update and unbinds it once, half a second
  after the last: the soak found the search's list holding hundreds of stale bindings after a few
  dozen citizens. The kiosk's scroll views keep one binding however often they scroll.
- Kivy's SDL2 text provider keeps each label's last SDL surface (a CPU copy of its text bitmap):
  the kiosk's labels let it go once the pixels are copied, and draw exactly the same.
- SDL_ttf keeps the last 256 glyphs drawn in each font object: once a person has gone, the kiosk
  empties the caches of the font objects nobody drew with since the last person, the memory comes
  back, and labels draw the same pixels after.

Real Kivy windows on the suite's Xvfb, each in a process of its own; Kivy's own behaviour is run
too, so that each test says when Kivy no longer needs the fix."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = r"""
import time
from devices.fonts import cjk_font
from screens.kivy_setup import configure
configure(400, 300, False, 1.0, str(cjk_font("regular")), str(cjk_font("bold")), headless=True)
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from screens.widgets import KRecycleView, KScrollView

def frames(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        EventLoop.idle()

def scrolled(view):
    Window.add_widget(view)
    frames(0.2)
    for i in range(40):  # a swipe: a scroll update each frame
        view.scroll_y = 1 - i / 40
        EventLoop.idle()
    lit = list(view._bar_color) == list(view.bar_color)
    bindings = len(view.get_property_observers("bar_color"))
    frames(1.5)  # the bar fades once the scrolling stops
    faded = [round(c, 2) for c in view._bar_color] == [round(c, 2) for c in view.bar_inactive_color]
    Window.remove_widget(view)
    return bindings, lit, faded

def rows(view):
    box = BoxLayout(orientation="vertical", size_hint_y=None, height=3000)
    for i in range(30):
        box.add_widget(Label(text=f"第{i}行"))
    view.add_widget(box)
    return view

recycled = KRecycleView(viewclass="Label", data=[{"text": f"第{i}行"} for i in range(200)])
from kivy.uix.recycleboxlayout import RecycleBoxLayout
recycled.add_widget(RecycleBoxLayout(orientation="vertical", default_size=(None, 60), default_size_hint=(1, None),
                                     size_hint_y=None, height=200 * 60))
for name, view in (("KScrollView", rows(KScrollView())), ("KRecycleView", recycled), ("ScrollView", rows(ScrollView()))):
    print(name, *scrolled(view))
"""


def run_script(display, script: str = SCRIPT) -> list[str]:
    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=90)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.splitlines()


def test_a_swipe_leaves_one_bar_binding_and_the_bar_still_lights_and_fades(display):
    seen = {}
    for line in run_script(display):
        name, bindings, lit, faded = line.split()
        seen[name] = (int(bindings), lit == "True", faded == "True")
    for name in ("KScrollView", "KRecycleView"):
        bindings, lit, faded = seen[name]
        assert bindings <= 1, f"{name}: {bindings} bindings of bar_color after one swipe"
        assert lit and faded, f"{name}: the bar lit {lit}, faded {faded}"
    # Kivy's own ScrollView still leaks them; when it no longer does, OneBarBinding can go.
    assert seen["ScrollView"][0] > 10, seen["ScrollView"]


SURFACES = r"""
from devices.fonts import cjk_font
from screens.kivy_setup import configure
configure(400, 300, False, 1.0, str(cjk_font("regular")), str(cjk_font("bold")), headless=True)
from kivy.core.window import Window  # noqa: F401  (opens the window)
from kivy.uix.label import Label
from screens.kivy_fixes import release_text_surfaces

TEXTS = ("办件查询 第2024号", "[b]长辈模式[/b] Elder mode", "繁體 申報材料\n第二行")

def drawn(release):
    if release:
        release_text_surfaces()
    out = []
    for text in TEXTS:
        label = Label(text=text, font_size=40, markup=text.startswith("["))
        label.texture_update()
        out.append((bytes(label.texture.pixels), getattr(label._label, "_surface", None) is not None))
        label.text = text + "!"  # drawn again, at another size: a new texture from the same label
        label.texture_update()
        out.append((bytes(label.texture.pixels), getattr(label._label, "_surface", None) is not None))
    return out

kept, released = drawn(False), drawn(True)
print("same pixels", [k[0] == r[0] and len(k[0]) > 0 for k, r in zip(kept, released)])
print("kept surface", [k[1] for k in kept])
print("released surface", [r[1] for r in released])
"""


def test_labels_let_their_text_surface_go_and_draw_the_same(display):
    lines = {line.split(" [")[0]: line.split(" [")[1].rstrip("]").split(", ") for line in run_script(display, SURFACES)}
    assert lines["same pixels"] == ["True"] * 6, lines
    assert lines["released surface"] == ["False"] * 6, lines
    # Kivy's own provider keeps each label's surface; when it no longer does, the fix can go.
    assert lines["kept surface"] == ["True"] * 6, lines


EMPTIED = r"""
from devices.fonts import cjk_font
from screens.kivy_setup import configure
configure(400, 300, False, 1.0, str(cjk_font("regular")), str(cjk_font("bold")), headless=True)
from kivy.core.window import Window  # noqa: F401  (opens the window)
from kivy.uix.label import Label
from screens.kivy_fixes import drop_emptied_textures

def emptied(fix):
    if fix:
        drop_emptied_textures()
    label = Label(text="王小明 110105********0011", font_size=40)
    label.texture_update()
    before = bytes(label.texture.pixels)
    label.text = ""
    label.texture_update()
    held = label._label.texture is not None
    label.text = "王小明 110105********0011"  # the same label shows text again
    label.texture_update()
    return held, label.texture is not None and bytes(label.texture.pixels) == before

print("kivy", *emptied(False))
print("kiosk", *emptied(True))
"""


def test_an_emptied_label_lets_its_texture_go_and_draws_again(display):
    seen = {name: (held, again) for name, held, again in (line.split() for line in run_script(display, EMPTIED))}
    assert seen["kiosk"] == ("False", "True"), seen
    # Kivy's own label keeps the last text's texture; when it no longer does, the fix can go.
    assert seen["kivy"] == ("True", "True"), seen


GLYPHS = r"""
import ctypes, gc
from devices.fonts import cjk_font
from screens.kivy_setup import configure
configure(400, 300, False, 1.0, str(cjk_font("regular")), str(cjk_font("bold")), headless=True)
from kivy.core.window import Window  # noqa: F401  (opens the window)
from kivy.uix.label import Label
from screens import kivy_fixes

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo2.restype = Mallinfo2

def in_use_mb():
    gc.collect()
    m = mallinfo2()
    return (m.uordblks + m.hblkhd) / 2**20

def drawn(text, markup):
    label = Label(text=text, font_size=40, markup=markup)
    label.texture_update()
    return bytes(label.texture.pixels), tuple(label.texture.size)

kivy_fixes.apply()
SAMPLES = (("[b]办件[/b]查询 第2024号 Elder", True), ("陳大文 申報材料 No.7", False))
before = [drawn(*s) for s in SAMPLES]  # (opens the regular and bold font objects)
line = Label(font_size=40, markup=True)

def day(first):  # a day's names and titles: characters not drawn before
    for i in range(0, 1500, 30):
        line.text = "[b]号[/b]" + "".join(chr(first + i + k) for k in range(30))
        line.texture_update()

day(0x5000)  # (what FreeType and HarfBuzz load once per font is in from here)
kivy_fixes.empty_glyph_caches()
kivy_fixes.empty_glyph_caches()
start = in_use_mb()
day(0x6000)
filled = in_use_mb()
print("emptied while drawn with", kivy_fixes.empty_glyph_caches())  # this person's fonts: kept
kept = in_use_mb()
print("emptied after", kivy_fixes.empty_glyph_caches())  # the next person drew nothing with them
emptied = in_use_mb()
print("kept by kivy", round(filled - start, 2))
print("kept while drawn with", round(kept - start, 2))
print("given back", round(filled - emptied, 2))
print("same after", all(a == b for a, b in zip(before, [drawn(*s) for s in SAMPLES])))
"""


def test_glyph_caches_not_drawn_with_are_emptied_and_labels_draw_the_same(display):
    seen = dict(line.rsplit(" ", 1) for line in run_script(display, GLYPHS))
    assert int(seen["emptied while drawn with"]) == 0, seen  # what a person drew with stays quick to draw
    assert int(seen["emptied after"]) >= 2, seen  # the regular face and the bold one, at least
    assert seen["same after"] == "True", seen  # every pixel and size as before: the font is as it was
    kept, given_back = float(seen["kept by kivy"]), float(seen["given back"])
    assert float(seen["kept while drawn with"]) >= 0.8 * kept, seen
    assert given_back >= 0.8 * kept, seen
    # SDL_ttf keeps each font's last 256 glyphs as Kivy draws markup; when it no longer does, the fix can go.
    assert kept >= 0.5, seen
