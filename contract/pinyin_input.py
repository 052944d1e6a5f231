"""Candidates for a pinyin keyboard (issue #15): the Chinese a citizen may mean by the letters typed
so far, the catalogue's own words first, so "jieh" offers 结婚 and "sbk" offers 社保卡.

Typed letters are toneless pinyin, whole or cut short: full syllables (jiehun), a last syllable
begun (jieh), initials (jh, sbk, zh/ch/sh count as one), or a mix (shebaok). A candidate says how
many typed letters it covers (``consumed``): picking 结婚 for "jiehundengji" leaves "dengji".

The words are the catalogue's, from the index a search reads (contract.guide_index), not a
general dictionary:

- the alias table's everyday words and what they mean (结婚, 社保卡, 户口本 ...);
- the guides' keywords and the short forms of their names (户口登记, 临时救助);
- words *inside* names, which have no spaces: substrings of two to six characters that at least
  two guides hold, unless they only ever occur inside one longer such substring (口登 only occurs
  in 户口登记, so it is no word; 户口 also occurs in 户口迁移, so it is one).

Words are ranked by how many guides they reach (an everyday word reaches what it means), then
by those guides' popularity. After the words come single characters of the first syllable: the
catalogue's own characters by how many guides use them, then the rest of GB 2312's common
characters (level 1), so a citizen's name can be typed too.

Order of the bar: words that are what was typed, then the first few characters of a syllable
that is all that was typed ("hu": 户 before 户口), then the other words, then characters for part of it. Among
words, more of the typed letters covered first; then fewer syllables typed short
("hang": 行业 before 含概算 typed han-g); then words that are exactly what was typed before longer
words that start with it ("hukou": 户口, then 户口迁移); then the word's rank. The vocabulary is built once, on the first keystroke, and
again after the index changes (a sync); a keystroke walks a trie of syllables.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from contract.aliases import AliasTable
from contract.ranking import SEP
from contract.textkeys import pinyin_syllables

MIN_GUIDES = 2  # a substring of names is a word when this many guides hold it
WORD_CHARS = (2, 6)  # substrings of names counted (how many guides hold them)
MINED_CHARS = (2, 4)  # substrings of names that may be words of their own
NAME_FORM_CHARS = 8  # a whole name form up to this long is a word of its own (户口登记)
INITIALS = ("zh", "ch", "sh")  # typed for a syllable like one letter
CHARACTERS_FIRST = 5  # characters of a syllable typed whole shown before the words it begins
COMPLETIONS = 40  # longer words kept per trie node for a prefix typed whole


class PinyinInputError(ValueError):
    """What was typed is not pinyin letters."""


@dataclass(frozen=True)
class Candidate:
    text: str
    consumed: int  # how many typed letters it stands for: the rest is typed[consumed:]


class _Node:
    __slots__ = ("kids", "words", "_below")

    def __init__(self) -> None:
        self.kids: dict[str, list[tuple[str, _Node]]] = {}  # first letter -> (syllable, node)
        self.words: list[int] = []  # word ranks ending here
        self._below: list[int] | None = None

    def child(self, syllable: str) -> _Node:
        for s, node in self.kids.get(syllable[0], ()):
            if s == syllable:
                return node
        node = _Node()
        self.kids.setdefault(syllable[0], []).append((syllable, node))
        return node

    def below(self) -> list[int]:
        """The best COMPLETIONS word ranks strictly below this node (cached)."""
        if self._below is None:
            found = [w for kids in self.kids.values() for _, n in kids for w in (*n.words[:COMPLETIONS], *n.below())]
            self._below = heapq.nsmallest(COMPLETIONS, set(found))
        return self._below


class Candidates:
    """Candidates from ``index`` (a contract.guide_index.GuideIndex: the kiosk's catalogue or the
    platform's index). Safe from several threads; built on first use."""

    def __init__(self, index):
        self.index = index
        self._lock = threading.Lock()
        self._built: tuple[int, _Vocabulary] | None = None

    def vocabulary(self) -> _Vocabulary:
        generation = self.index.generation
        built = self._built
        if built is None or built[0] != generation:
            with self._lock:
                built = self._built
                if built is None or built[0] != generation:
                    built = (generation, _Vocabulary.of(self.index))
                    self._built = built
        return built[1]

    def suggest(self, typed: str, limit: int = 20) -> list[Candidate]:
        """Words, then single characters, for the letters ``typed`` (a-z, any case); [] for none.
        Raises PinyinInputError for anything else."""
        letters = typed.lower()
        if not (letters.isascii() and letters.isalpha()) and letters:
            bad = next(c for c in typed if not (c.isascii() and c.isalpha()))
            raise PinyinInputError(f"pinyin input takes the letters a-z only, not {bad!r}")
        if not letters or limit <= 0:
            return []
        return self.vocabulary().suggest(letters, limit)


class _Vocabulary:
    def __init__(self, ranked: list[str], chars: tuple[dict[str, list[str]], list[str]]):
        self.words = ranked
        self.root = _Node()
        for rank, word in enumerate(ranked):
            node = self.root
            for s in pinyin_syllables(word):
                node = node.child(s)
            node.words.append(rank)
        self.chars, order = chars  # syllable -> characters, most used first; all of them so
        self.char_rank = {ch: i for i, ch in enumerate(order)}
        self.syllables = frozenset(self.chars)
        self._begun_cache: dict[str, list[str]] = {}

    @classmethod
    def of(cls, index) -> _Vocabulary:
        rows = index._db().execute("SELECT forms, keywords, popularity FROM guides").fetchall()
        return cls(*_ranked(rows, index.aliases()))

    def suggest(self, s: str, limit: int) -> list[Candidate]:
        best: dict[int, tuple[int, int, int]] = {}  # word rank -> (-consumed, typed short, longer)

        def offer(rank: int, key: tuple[int, int, int]) -> None:
            if key < best.get(rank, (1, 0, 0)):
                best[rank] = key

        def walk(node: _Node, i: int, short: int) -> None:
            if i == len(s):
                for w in node.words:
                    offer(w, (-i, short, 0))
                for w in node.below():
                    offer(w, (-i, short, 1))
                return
            for w in node.words:
                offer(w, (-i, short, 0))
            for syllable, kid in node.kids.get(s[i], ()):
                for m in _typed_as(s, i, syllable):
                    walk(kid, i + m, short + (m < len(syllable)))

        for syllable, kid in self.root.kids.get(s[0], ()):
            for m in _typed_as(s, 0, syllable):
                walk(kid, m, m < len(syllable))
        ranked = sorted(best, key=lambda w: (*best[w], w))
        words = [Candidate(self.words[w], -best[w][0]) for w in ranked[:limit]]
        exact = [c for w, c in zip(ranked, words, strict=False) if best[w][0] == -len(s) and not best[w][2]]
        out: dict[str, Candidate] = {}
        for c in exact:  # words that are what was typed, then characters that are ...
            out.setdefault(c.text, c)
        chars = list(itertools.islice(self._characters(s), limit))
        for c in [c for c in chars if c.consumed == len(s)][:CHARACTERS_FIRST]:
            out.setdefault(c.text, c)
        for c in [*words, *chars]:  # ... then longer words, words for less of it, other characters
            out.setdefault(c.text, c)
        return list(out.values())[:limit]

    def _characters(self, s: str) -> Iterator[Candidate]:
        """Characters of the first syllable: a whole syllable typed (the longest first), then one
        begun at the end of the input, then one given by its initial."""
        whole = [s[:n] for n in range(min(len(s), 6), 0, -1) if s[:n] in self.syllables]
        for syllable in whole:
            for ch in self.chars[syllable]:
                yield Candidate(ch, len(syllable))
        for prefix in dict.fromkeys([s, *(i for i in INITIALS if s.startswith(i)), s[0]]):
            if prefix == s or len(prefix) < len(s):
                for ch in self._begun(prefix):
                    yield Candidate(ch, len(prefix))

    def _begun(self, prefix: str) -> list[str]:
        """Characters of every syllable starting with ``prefix``, most used first (cached: the
        prefixes are the few hundred beginnings of syllables)."""
        found = self._begun_cache.get(prefix)
        if found is None:
            chars = {ch for syllable in self.syllables if syllable.startswith(prefix) for ch in self.chars[syllable]}
            found = self._begun_cache[prefix] = sorted(chars, key=self.char_rank.__getitem__)
        return found


def _typed_as(s: str, i: int, syllable: str) -> list[int]:
    """How many letters at s[i:] may stand for ``syllable``: all of it, what is left of the input
    when that begins it, or its initial: one letter, or zh/ch/sh (s also stands for sh: sbk)."""
    k = 0
    while k < len(syllable) and i + k < len(s) and s[i + k] == syllable[k]:
        k += 1
    if k == 0:
        return []
    out = {k} if k == len(syllable) or i + k == len(s) else set()
    out.add(1)
    if k >= 2 and syllable[:2] in INITIALS and len(syllable) > 2:
        out.add(2)
    return sorted(out, reverse=True)


def _ranked(rows: list[tuple[str, str, int]], aliases: AliasTable) -> tuple[list[str], tuple[dict[str, list[str]], list[str]]]:
    """(words best first, (syllable -> characters most used first, every character so)) from the
    guides' columns and the alias table."""
    texts, popularity = [], []  # per guide: its name forms and keywords; its popularity
    keywords: set[str] = set()
    for forms, kws, pop in rows:
        kw = [k for k in kws.split(SEP) if k]
        keywords.update(kw)
        texts.append([*(f for f in forms.split(SEP) if f), *kw])
        popularity.append(pop)
    holders = _substring_holders(texts)
    means = {w: m for w, m in aliases.means.items() if not w.isascii()}
    # Reviewed words before mined ones: the everyday words citizens use, then the keywords and
    # what the everyday words mean, then the names' own words.
    tiers: dict[str, int] = {}
    for tier, found in enumerate((means, {*keywords, *(x for m in means.values() for x in m)},
                                  {*_mined(texts, holders), *(t for ts in texts for t in ts if len(t) <= NAME_FORM_CHARS)})):
        for w in found:
            if len(w) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in w):  # c1驾照 is typed as c1 ...
                tiers.setdefault(w, tier)

    def reached(word: str) -> set[int]:
        found: set[int] = set()
        for w in (word, *means.get(word, ())):
            found |= holders[w] if w in holders else _holding(texts, w) if len(w) > WORD_CHARS[1] else set()
        return found

    scored = []
    for w, tier in tiers.items():
        guides = reached(w)
        scored.append((tier, -len(guides), -sum(popularity[g] for g in guides), len(w), w))
    return [w for *_, w in sorted(scored)], _characters(texts, means)


def _substring_holders(texts: list[list[str]]) -> dict[str, set[int]]:
    """Each substring of WORD_CHARS characters of the guides' texts -> the guides holding it."""
    lo, hi = WORD_CHARS
    holders: dict[str, set[int]] = {}
    for g, ts in enumerate(texts):
        seen = {t[i:i + n] for t in ts for n in range(lo, hi + 1) for i in range(len(t) - n + 1)}
        for sub in seen:
            holders.setdefault(sub, set()).add(g)
    return holders


def _mined(texts: list[list[str]], holders: dict[str, set[int]]) -> Iterable[str]:
    """Substrings of MINED_CHARS that MIN_GUIDES guides hold and that are seen with two different
    characters (or the text's start or end) on each side: a word, not a piece of one (口登 is only
    ever in 户口登记; 户口 is also in 注销户口 and 户口迁移)."""
    lo, hi = MINED_CHARS
    left: dict[str, set[str]] = {}
    right: dict[str, set[str]] = {}
    for ts in texts:
        for t in ts:
            for n in range(lo, min(hi, len(t)) + 1):
                for i in range(len(t) - n + 1):
                    sub = t[i:i + n]
                    left.setdefault(sub, set()).add(t[i - 1] if i else "^")
                    right.setdefault(sub, set()).add(t[i + n] if i + n < len(t) else "$")
    return (w for w, ls in left.items() if len(ls) > 1 and len(right[w]) > 1 and len(holders[w]) >= MIN_GUIDES)


def _holding(texts: list[list[str]], word: str) -> set[int]:
    return {g for g, ts in enumerate(texts) if any(word in t for t in ts)}


def _characters(texts: list[list[str]], means: dict[str, tuple[str, ...]]) -> tuple[dict[str, list[str]], list[str]]:
    """(syllable -> characters, every character so): the catalogue's and the alias table's read as
    they are there (行 in 银行 is hang, in 行政 xing), by how many guides use them so, then the rest
    of GB 2312 level 1 with its usual reading, in GB order."""
    used: Counter[tuple[str, str]] = Counter()
    for ts in [*texts, list(means)]:
        read = set()
        for t in ts:
            syllables = pinyin_syllables(t)
            if len(syllables) == len(t):  # one syllable per character: they line up
                read.update(zip(t, syllables, strict=True))
        used.update(read)
    pairs = [p for p, _ in used.most_common() if "\u4e00" <= p[0] <= "\u9fff"]
    known = {c for c, _ in pairs}
    pairs += [(c, pinyin_syllables(c)[0]) for c in _gb2312_level1() if c not in known and pinyin_syllables(c)]
    out: dict[str, list[str]] = {}
    for c, syllable in pairs:
        out.setdefault(syllable, []).append(c)
    return out, list(dict.fromkeys(c for c, _ in pairs))


@functools.lru_cache(maxsize=1)
def _gb2312_level1() -> tuple[str, ...]:
    """The 3,755 common characters of GB 2312 (level 1, rows 16-55)."""
    out = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                out.append(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return tuple(out)

