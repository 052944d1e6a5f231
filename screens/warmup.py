"""What the kiosk prepares while nobody is at it after a start, so that the first citizen waits no
longer than the next: every page's screen, then every font object the theme's sizes need,
OpenCC's dictionaries for 繁體 and the typo matching's library.

Kivy builds a screen the first time it is shown (20-50 ms on software GL) and opens a font object
the first time a (face, size) is drawn: ~3.5 MB for a CJK face, kept in Kivy's own cache of 64.
Both happen here instead, one per step, while the welcome page is idle. The memory a day of
citizens (elder mode, 繁體) would bring in bit by bit is there from the start, so a terminal's
resident size stays flat once it is up (bench/SOAK.md). The files and dictionaries are found and
loaded in a thread of their own; fonts are opened on the UI thread, as Kivy's text provider wants.
"""

from __future__ import annotations

import logging
import threading

from kivy.core.text import Label as CoreLabel
from kivy.core.text import LabelBase
from kivy.uix.label import Label

from screens.theme import text_sizes

log = logging.getLogger("kiosk.screens")
FACES = ("SC", "TC")  # every terminal offers 简体 and 繁體 (kivy_setup registers SC as the default)


class Warmup:
    def __init__(self, pages, names, root):
        self.pages, self.names, self.root = pages, names, root
        self._faces: list[str] | None = None  # the font names registered for each face, once found
        self._fonts: list[tuple[str, float, bool]] | None = None  # (font name, size, bold) still to open
        # The faces' files may still have to be extracted from Debian's collections (seconds): not here.
        threading.Thread(target=self._find_faces, name="font-faces", daemon=True).start()

    def _find_faces(self) -> None:
        from contract.aliases import preload
        from devices.fonts import FontMissing, cjk_font
        from kiosk.guide_text import load_converter

        try:
            load_converter()  # 繁體's converter: ~45 MB, otherwise loaded by the first 繁體 page
        except Exception as exc:  # noqa: BLE001 (the 繁體 page says so itself when it needs it)
            log.warning("OpenCC not loaded ahead: %s", exc)
        try:
            preload()  # the typo matching's library, otherwise loaded by the first mistyped word
        except ImportError as exc:  # the fonts must still be found: the search says so when it needs it
            log.warning("typo matching not loaded ahead: %s", exc)

        faces = []
        try:
            for variant in FACES:
                name = f"KioskCJK-warm-{variant}"
                LabelBase.register(name, str(cjk_font("regular", variant)), None, str(cjk_font("bold", variant)))
                faces.append(name)
        except (FontMissing, OSError) as exc:  # the screens say so where they draw; nothing to warm
            log.warning("fonts not opened ahead: %s", exc)
            faces = []
        self._faces = faces

    def _sizes(self) -> list[tuple[float, bool]]:
        """(size, bold) of every role in normal and elder mode, and of every label built (the demo
        panel's own sizes among them). The size as the label has it: its text is part of Kivy's
        key, so 18 and 18.0 are two font objects."""
        used = {(str(size), bold): (size, bold) for size in text_sizes() for bold in (False, True)}
        for root in (self.root, *self.pages.screens):
            for w in root.walk(restrict=True):
                if isinstance(w, Label):
                    used[str(w.font_size), bool(w.bold)] = (w.font_size, bool(w.bold))
        return list(used.values())

    def step(self) -> bool:
        """One more screen built or font opened; False once everything is."""
        if self.pages.build_one(self.names):
            return True
        if self._faces is None:
            return True  # the faces are still being found
        if self._fonts is None:
            self._fonts = [(face, size, bold) for face in self._faces for size, bold in self._sizes()]
        if not self._fonts:
            return False
        name, size, bold = self._fonts.pop()
        label = CoreLabel(font_name=name, font_size=size, bold=bold)
        label.resolve_font_name()
        label.get_extents("中")  # opens the font object (the cache key is the file, size and weight)
        return True
