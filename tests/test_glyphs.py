"""No missing-glyph boxes: every character the UI or a slip can show exists in the CJK font."""

from __future__ import annotations

import re

from fontTools.ttLib import TTFont

from devices.fonts import cjk_font
from kiosk.i18n import LANGUAGES, catalogue
from tests.conftest import REPO


def _font_chars() -> set[int]:
    return set(TTFont(str(cjk_font("regular")), lazy=True).getBestCmap())


def _literal_strings() -> str:
    """String literals in the screens and slips that are shown as they are."""
    text = ""
    for path in list((REPO / "screens").glob("*.kv")) + list((REPO / "screens").glob("*.py")) + [
            REPO / "kiosk" / "slips.py"]:
        text += "".join(re.findall(r"""['"]([^'"\n]*)['"]""", path.read_text(encoding="utf-8")))
    return text


def test_every_catalogue_and_ui_character_has_a_glyph():
    have = _font_chars()
    shown = "".join("".join(catalogue(lang).values()) for lang in LANGUAGES) + _literal_strings()
    missing = sorted({ch for ch in shown if ord(ch) not in have and ch not in "\n\t"})
    assert not missing, [f"U+{ord(c):04X} {c}" for c in missing]


def test_the_face_is_simplified_chinese():
    # The collection's first face is Japanese; its 直 differs. The SC face must be the one used.
    name = TTFont(str(cjk_font("regular")), lazy=True)["name"].getDebugName(1)
    assert name.endswith("SC")
