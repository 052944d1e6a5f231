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


@functools.lru_cache(maxsize=1)
def _converter():
    import opencc  # imported late: only a search needs it

    # tw2sp also converts Taiwan/Hong Kong phrases (計程車 → 出租车), not only characters.
    return opencc.OpenCC("tw2sp")


@functools.lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """A query as the catalogue spells it: Traditional to Simplified Chinese (OpenCC), then
    ``normalise``. Spaces are kept as one: they separate the words of a query."""
    simple = _converter().convert(unicodedata.normalize("NFKC", text))
    return " ".join(normalise(w) for w in simple.split())


_OPEN, _CLOSE = "([{<《〈【〔「『“‘", ")]}>》〉】〕」』”’"


def words(text: str) -> tuple[str, ...]:
    """Normalised text split at anything that is not a letter or a digit (brackets, commas, ...)."""
    out, cur = [], []
    for ch in normalise(text):
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return tuple(out)


def outside_brackets(text: str) -> str:
    """``text`` without what its brackets enclose, letters and digits only:
    食品(含保健食品)经营许可 → 食品经营许可, the name a citizen says."""
    depth, out = 0, []
    for ch in normalise(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and ch.isalnum():
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=16384)
def name_forms(name: str) -> tuple[str, ...]:
    """The forms of an item name a query may be a part of: the name without its brackets'
    content, then each of its words (split at punctuation). A query inside any of them is
    inside the name; pinyin and initials are taken per form, so they never run into or out of
    a bracket."""
    return tuple(dict.fromkeys(f for f in (outside_brackets(name), *words(name)) if f))
