"""Search-key helpers shared by the platform's guide store and the kiosk's local catalogue.

Standard library and pypinyin only, so the kiosk can import them without SQLAlchemy or the server.
"""

from __future__ import annotations

import functools
import unicodedata


def normalise(text: str) -> str:
    """What both stored names and typed queries go through before comparing.

    NFKC folds full-width letters, digits and brackets to half-width (ｓｂ→sb, （→( ); case is
    folded; every kind of space is removed, since touch keyboards and pasted names add them.
    """
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def ascii_alnum(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isalnum())


@functools.lru_cache(maxsize=8192)
def pinyin_syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin of ``text``, one lowercase ASCII string per syllable.

    Non-Chinese letters and digits become one "syllable" each (so "ABC12" gives a, b, c, 1, 2);
    punctuation is dropped. pypinyin's phrase dictionary picks the usual reading of 多音字
    (行政 → xing zheng, 银行 → yin hang). Cached: a province's catalogue repeats the same item
    names across its counties, and pypinyin is the slowest step of indexing a guide.
    """
    from pypinyin import lazy_pinyin  # imported late: loading its dictionaries takes ~0.3 s

    norm = unicodedata.normalize("NFKC", text).lower()
    return tuple(s for s in (ascii_alnum(p) for p in lazy_pinyin(norm, errors=list)) if s)
