"""The everyday-word table a query is read with: 社保卡 → 社会保障卡, 丢了 → 挂失/补领.

The table is data (the platform's reviewed file, served at GET /search/aliases and synced to the
kiosk, plus a hall's own words from its configuration). ``AliasTable`` indexes it the way names
are indexed: by the folded word, by its pinyin and by its initials, so "sbk", "shebaoka" and the
same-sound mistake 社宝卡 all reach 社保卡.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from contract.models import SearchAlias, SearchAliases
from contract.textkeys import fold, pinyin_syllables, words

MIN_SOUND = 2  # a same-sound match needs at least two syllables: one is too often another word


def _key(text: str) -> str:
    """A word of the table as a query word: folded, letters and digits only."""
    return "".join(words(fold(text)))


def preload() -> None:
    """Import what the typo matching uses (rapidfuzz, ~2 MB of code), for a warm-up: otherwise the
    first citizen of the day who mistypes a word brings it in."""
    from rapidfuzz import fuzz, process  # noqa: F401
    from rapidfuzz.distance import OSA  # noqa: F401


@functools.lru_cache(maxsize=4096)
def sound(text: str) -> str:
    return "".join(pinyin_syllables(text))


def initials(text: str) -> str:
    return "".join(s[0] for s in pinyin_syllables(text))


class AliasTable:
    def __init__(self, table: SearchAliases | None = None, local: Mapping[str, Iterable[str]] | None = None):
        table = table or SearchAliases(version="")
        entries = [*table.aliases, *(SearchAlias(words=[w], means=list(m), source="local")
                                     for w, m in (local or {}).items())]
        self.version = table.version
        self.hot = tuple(dict.fromkeys(h for h in map(_key, table.hot) if h))
        self.fillers = frozenset(f for f in map(_key, table.fillers) if f)
        self.means: dict[str, tuple[str, ...]] = {}
        for e in entries:
            means = [m for m in map(_key, e.means) if m]
            for w in map(_key, e.words):
                if w and means:
                    self.means[w] = tuple(dict.fromkeys([*self.means.get(w, ()), *means]))
        self.by_sound: dict[str, str] = {}
        self.by_initials: dict[str, str] = {}
        for w in sorted(self.means, key=len):  # the shortest word of a sound wins: the common one
            if not w.isascii() and len(w) >= MIN_SOUND:
                self.by_sound.setdefault(sound(w), w)
                self.by_initials.setdefault(initials(w), w)
        self.longest = max(map(len, [*self.means, *self.fillers]), default=0)

    def for_ascii(self, typed: str) -> str:
        """The alias word typed as pinyin or initials ("shebaoka", "sbk"), or "". Two initials
        stand for too many words (hy: 婚姻, 货运, 行业 ...) to pick one: they are left to ranking."""
        if len(typed) < 2:
            return ""
        return self.by_sound.get(typed) or (self.by_initials.get(typed, "") if len(typed) >= 3 else "")

    def near_ascii(self, typed: str, limit: int = 3) -> list[tuple[str, int]]:
        """(alias word, letters away) for words whose pinyin is one or two letters away from
        ``typed`` (shebaoak → 社保卡, 1), nearest first."""
        from rapidfuzz import process
        from rapidfuzz.distance import OSA  # two letters swapped is one slip of the finger

        if len(typed) < 4:
            return []
        cutoff = 1 if len(typed) < 8 else 2
        found = process.extract(typed, list(self.by_sound), scorer=OSA.distance,
                                score_cutoff=cutoff, limit=limit)
        return [(self.by_sound[s], int(d)) for s, d, _ in sorted(found, key=lambda f: f[1])]

    def like_ascii(self, typed: str, limit: int = 5) -> list[str]:
        """Alias words whose pinyin looks like ``typed`` (a looser "did you mean" for a page that
        found nothing: shebaoxxx → 社保), most alike first."""
        from rapidfuzz import fuzz, process

        if len(typed) < 3:
            return []
        found = process.extract(typed, list(self.by_sound), scorer=fuzz.ratio, score_cutoff=70, limit=limit)
        return [self.by_sound[s] for s, _, _ in found]
