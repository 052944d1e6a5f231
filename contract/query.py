"""What a citizen's query means: the words it is made of and every way to read each of them.

``analyse`` folds the query (繁→简, full-width, case), then splits it into segments, each a word
that may match a different field of a guide. Chinese has no spaces, so the split is made against
what exists: at each position the longest of

- an everyday word of the alias table (社保卡, 丢了), read as itself and as what it means;
- a filler (我要, 怎么办), dropped;
- text that occurs somewhere in the catalogue (``frequency``: in how many guides), read as itself;
- a span that *sounds* like an alias word or like a catalogue word (结昏 → 结婚, 婚因 → hunyin,
  ``present_sound`` given its syllables), tried only where nothing is spelt right: people
  mistype Chinese by sound.

The split is the cheapest reading of the whole query (see ``_chinese_segments``).

ASCII words (pinyin, initials, item codes) are segments of their own; one that is also the pinyin
or initials of an alias word reads as that word too, and one that matches nothing is tried as the
nearest alias word within one or two letters. Both the platform and the kiosk call this with their
own catalogue behind ``frequency``, so one query means the same on both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from contract.aliases import MIN_SOUND, AliasTable, sound
from contract.textkeys import fold, pinyin_syllables

TYPED, ALIAS, SOUND, NEAR = 1.0, 0.9, 0.8, 0.6
SINGLE = 0.5  # a one-character segment says little: it counts half
MAX_SOUND_SPAN = 6


@dataclass(frozen=True)
class Term:
    """One reading of a segment: Chinese text, or ASCII (pinyin, initials, code) when ``ascii``."""

    text: str
    weight: float
    ascii: bool = False


@dataclass(frozen=True)
class Segment:
    typed: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Query:
    typed: str
    segments: tuple[Segment, ...]
    unknown: tuple[str, ...] = ()  # what matched nothing at all (for "did you mean")

    @property
    def terms(self) -> list[Term]:
        return list(dict.fromkeys(t for s in self.segments for t in s.terms))


def _runs(chunk: str) -> list[str]:
    """Split a chunk into runs of ASCII and of other characters: "c1驾照" → c1, 驾照."""
    out: list[str] = []
    for ch in chunk:
        if not ch.isalnum():
            out.append("")
        elif out and out[-1] and out[-1][-1].isascii() == ch.isascii():
            out[-1] += ch
        else:
            out.append(ch)
    return [r for r in out if r]


def _chunks(folded: str) -> list[str]:
    """Words split at spaces, except between Chinese characters: 社 保 is 社保 (the split of
    Chinese is the segmentation's to find: 身份证 补办 and 身份证补办 read alike)."""
    out: list[str] = []
    for w in folded.split():
        if out and not out[-1][-1].isascii() and not w[0].isascii():
            out[-1] += w
        else:
            out.append(w)
    return out


def _code_or_runs(chunk: str) -> list[str]:
    """An item code typed whole (511A0064100070-511602000000-...) is one word, its letters and
    digits; anything else splits into runs."""
    return ["".join(c for c in chunk if c.isalnum())] if _is_code(chunk) else _runs(chunk)


def _is_code(chunk: str) -> bool:
    code = "".join(c for c in chunk if c.isalnum())
    return chunk.isascii() and len(code) >= 8 and any(c.isdigit() for c in code)


def analyse(q: str, aliases: AliasTable, frequency: Callable[[str], int],
            present_sound: Callable[[str], bool]) -> Query:
    segments: list[Segment] = []
    unknown: list[str] = []
    fillers: list[str] = []
    folded = fold(q)
    if _is_code(folded.replace(" ", "")):
        folded = folded.replace(" ", "")  # an item code typed with spaces in it is still one code
    for run in (r for chunk in _chunks(folded) for r in _code_or_runs(chunk)):
        if run.isascii():
            segments.append(_ascii_segment(run, aliases, frequency, unknown))
        else:
            segments.extend(_chinese_segments(run, aliases, frequency, present_sound, unknown, fillers))
    if not segments and fillers:  # nothing but "办理": search for it after all
        segments = [Segment(f, (Term(f, TYPED),)) for f in fillers if frequency(f)]
    return Query(q, tuple(segments), tuple(unknown))


def _ascii_segment(word: str, aliases: AliasTable, frequency, unknown: list[str]) -> Segment:
    terms = [Term(word, TYPED, ascii=True)]
    alias = aliases.for_ascii(word)
    if alias:
        terms += _alias_terms(alias, aliases, ALIAS)
    elif not frequency(word):
        near = aliases.near_ascii(word)
        for w, letters in near:
            terms += _alias_terms(w, aliases, NEAR - 0.1 * (letters - 1))
        if not near:
            unknown.append(word)
    return Segment(word, tuple(dict.fromkeys(terms)))


def _alias_terms(word: str, aliases: AliasTable, weight: float) -> list[Term]:
    """The word itself, then what it means (a meaning equal to the word is not repeated)."""
    return [Term(word, weight), *(Term(m, weight * ALIAS) for m in aliases.means[word] if m != word)]


# What each way of reading a span costs; the query is read the cheapest way (fewest, surest words).
_ALIAS, _WORD, _SINGLE, _SOUND, _UNKNOWN = 0.95, 1.0, 2.5, 2.2, 3.5
COUNT_CAP = 500  # ``frequency`` may stop counting here


def _word_cost(found: int) -> float:
    """A catalogue word costs 1 to 2: the more guides hold it, the more it is a word people use
    (经营许可 in 80 names beats 品经营许可 in 20, so 危险化学品经营许可 splits after 品)."""
    return 1.0 + math.log(COUNT_CAP / max(1, min(found, COUNT_CAP))) / math.log(COUNT_CAP)


def _chinese_segments(text: str, aliases: AliasTable, frequency, present_sound,
                      unknown: list[str], fillers: list[str]) -> list[Segment]:
    """The cheapest split of ``text`` (dynamic programming over positions): an everyday word 0.95
    (two of them beat one rare catalogue word: 社保卡 + 丢了), a filler 1, a catalogue word 1-2 (``_word_cost``), a same-sound word 2.2, a single
    character 2.5, a character found nowhere 3.5 (and is dropped). So 补领证件 is 补领 + 证件 (not
    补 + 领证 + 件), and 养老保险补教 is 养老保险 + 补教 heard as bujiao (补缴), not 养老保险补 + 教."""
    n = len(text)
    cost = [0.0] + [float("inf")] * n
    came: list[tuple[int, str, str]] = [(0, "", "")] * (n + 1)
    for i in range(n):
        if cost[i] == float("inf"):
            continue
        options = []
        for j in range(i + 1, min(n, i + aliases.longest) + 1):
            span = text[i:j]
            if span in aliases.means:
                options.append((j, _ALIAS, "alias", span))
            if span in aliases.fillers:
                options.append((j, _WORD, "filler", span))
        found = _present_prefixes(text, i, frequency)
        options += [(i + k, _word_cost(f) if k > 1 else _SINGLE, "exact", text[i:i + k])
                    for k, f in enumerate(found, 1)]
        if len(found) < 2:  # a word spelt right here needs no ear; only then try the sound
            for j in range(i + MIN_SOUND, min(n, i + MAX_SOUND_SPAN) + 1):
                word = aliases.by_sound.get(sound(text[i:j]))
                if word:
                    options.append((j, _SOUND, "sounds-alias", word))
                elif present_sound(pinyin_syllables(text[i:j])):
                    options.append((j, _SOUND, "sounds", text[i:j]))
        if not options:
            options.append((i + 1, _UNKNOWN, "unknown", text[i]))
        for j, c, kind, word in options:
            if cost[i] + c < cost[j]:
                cost[j], came[j] = cost[i] + c, (i, kind, word)
    parts = []
    j = n
    while j > 0:
        i, kind, word = came[j]
        parts.append((text[i:j], kind, word))
        j = i
    out: list[Segment] = []
    for span, kind, word in reversed(parts):
        if kind == "alias":
            out.append(Segment(span, tuple(_alias_terms(word, aliases, TYPED))))
        elif kind == "filler":
            fillers.append(span)
        elif kind == "exact":
            out.append(Segment(span, (Term(span, SINGLE if len(span) == 1 else TYPED),)))
        elif kind == "sounds-alias":
            out.append(Segment(span, tuple(_alias_terms(word, aliases, SOUND))))
        elif kind == "sounds":
            out.append(Segment(span, (Term(sound(span), SOUND, ascii=True),)))
        else:
            unknown.append(span)
    return out


def _present_prefixes(text: str, i: int, frequency) -> list[int]:
    """How many guides hold text[i:i+1], text[i:i+2], ... while any does (a longer span cannot
    be found where a shorter is not)."""
    out: list[int] = []
    while i + len(out) < len(text):
        f = frequency(text[i:i + len(out) + 1])
        if not f:
            break
        out.append(f)
    return out
