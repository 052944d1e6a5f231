"""How well a guide answers a query, and the order of the answers (the platform's and the kiosk's).

Each segment of the query (contract.query) scores the best field any of its readings reaches:

    exact name 1.0 > name starts with it 0.9 = an exact keyword > a keyword starts with it 0.85
    > inside the name 0.8 > inside a keyword 0.7 > department 0.3 > materials 0.2

times the reading's weight (typed 1.0, alias 0.9, same sound 0.8, near spelling 0.6; a
one-character segment counts half). Results are ordered by

1. group: answers first; guides that only *mention* the query among their materials form a group
   of their own ("在材料中提到"), after them;
2. the summed score, each segment's weighted by how rare it is in names (``importance``): a
   guide answering 低保 and 申请 beats one answering only 申请, and one answering both words
   of 社保卡丢了 (社会保障卡挂失) beats one answering either;
3. among equals, the items people use (popularity), complete guides before catalogue stubs,
   shorter (more general) names, then the catalogue's order.

ASCII readings match pinyin from a syllable start (hunyin finds 婚姻, not 准印), initials
inside one form of the name (never across a bracket), and item codes by prefix.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from contract.models import Guide
from contract.query import Query, Term
from contract.textkeys import name_forms, normalise, pinyin_syllables, words

NAME_EXACT, NAME_START, KEYWORD_EXACT, KEYWORD_START, NAME_IN, KEYWORD_IN = 1.0, 0.9, 0.9, 0.85, 0.8, 0.7
DEPARTMENT, MATERIAL = 0.3, 0.2
SEP = "\x1f"  # between the parts of a stored column


@dataclass
class Row:
    """What ranking needs of one guide (stored as columns by the index: see ``columns``).

    The department and materials may come late: ``details`` gives (department, materials) when a
    word is not in the name or keywords, so the index need not read them for most candidates."""

    rowid: int
    forms: tuple[str, ...]            # contract.textkeys.name_forms
    pinyin: tuple[tuple[str, ...], ...]  # syllables of each form
    keywords: tuple[str, ...]
    keyword_pinyin: tuple[tuple[str, ...], ...]
    code: str                         # the item code's letters and digits, lowercase
    code_words: tuple[str, ...]
    popularity: int
    complete: bool
    details: Callable[[], tuple[str, str]]

    @classmethod
    def from_columns(cls, rowid: int, forms: str, pinyin: str, keywords: str, keyword_pinyin: str, code: str,
                     popularity: int, complete: int, details: Callable[[], tuple[str, str]]) -> Row:
        return cls(rowid, tuple(forms.split(SEP)), _syllables(pinyin), _split(keywords), _syllables(keyword_pinyin),
                   code, words(code), popularity, bool(complete), details)

    @functools.cached_property
    def _details(self) -> tuple[str, str]:
        return self.details()

    @property
    def department(self) -> str:
        """department_text() of the guide's department."""
        return self._details[0]

    @property
    def materials(self) -> str:
        """materials_text() of the guide's materials."""
        return self._details[1]


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(SEP)) if text else ()


def _syllables(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.split("'")) for p in text.split(SEP)) if text else ()


@functools.lru_cache(maxsize=16384)
def department_text(name: str) -> str:
    """A department's or material's name as ranking compares it (cached: they repeat across a
    catalogue, and the index makes them again for every candidate it reads)."""
    return "".join(words(name))


def materials_text(names: Iterable[str]) -> str:
    return SEP.join(map(department_text, names))


def columns(guide: Guide) -> dict[str, str | int]:
    """The ranking columns of ``guide`` (the inverse of ``Row.from_columns``)."""
    forms = name_forms(guide.name) or (normalise(guide.name),)
    keywords = [k for k in dict.fromkeys(normalise(k) for k in guide.keywords) if k]
    return {
        "forms": SEP.join(forms),
        "pinyin": SEP.join("'".join(pinyin_syllables(f)) for f in forms),
        "keywords": SEP.join(keywords),
        "keyword_pinyin": SEP.join("'".join(pinyin_syllables(k)) for k in keywords),
        "code": "".join(words(guide.item_code)),
        "department": department_text(guide.department),
        "materials": materials_text(m.name for m in guide.materials),
        "popularity": guide.popularity,
        "complete": int(guide.detail_complete),
    }


def _pinyin_level(typed: str, syllables: tuple[str, ...], exact: float, start: float, inside: float) -> float:
    joined = "".join(syllables)
    initials = "".join(s[0] for s in syllables if s)
    if typed in (joined, initials):
        return exact
    if joined.startswith(typed) or (len(typed) > 1 and initials.startswith(typed)):
        return start
    pos = 0
    for s in syllables:
        if joined.startswith(typed, pos):
            return inside
        pos += len(s)
    if len(typed) > 1 and typed in initials:
        return inside
    return 0.0


def field_score(term: Term, row: Row) -> tuple[float, str]:
    """(how well ``term`` matches ``row``, the field: name, keyword, code, department, material)."""
    t = term.text
    if term.ascii:
        if any(c.isdigit() for c in t):
            if t == row.code:
                return NAME_EXACT, "code"
            if len(t) >= 3 and (row.code.startswith(t) or any(w.startswith(t) for w in row.code_words)):
                return NAME_START, "code"
        # Two letters start too many names (hy: 货运…, 婚姻…) for "starts with" to mean much.
        start = NAME_START if len(t) > 2 else NAME_IN
        best = max((_pinyin_level(t, syl, NAME_EXACT if i == 0 else NAME_IN, start if i == 0 else NAME_IN,
                                  NAME_IN) for i, syl in enumerate(row.pinyin)), default=0.0)
        kw = max((_pinyin_level(t, syl, KEYWORD_EXACT, KEYWORD_START, KEYWORD_IN) for syl in row.keyword_pinyin),
                 default=0.0)
        return (best, "name") if best >= kw else (kw, "keyword")
    main = row.forms[0]
    if t == main:
        return NAME_EXACT, "name"
    if main.startswith(t):
        return NAME_START, "name"
    if t in row.keywords:
        return KEYWORD_EXACT, "keyword"
    if any(k.startswith(t) for k in row.keywords):
        return KEYWORD_START, "keyword"
    if any(t in f for f in row.forms):
        return NAME_IN, "name"
    if any(t in k for k in row.keywords):
        return KEYWORD_IN, "keyword"
    if t in row.department:
        return DEPARTMENT, "department"
    if t in row.materials:
        return MATERIAL, "material"
    return 0.0, ""


@dataclass(frozen=True)
class Scored:
    key: tuple
    matched: str
    row: Row


def importance(matches: int, guides: int) -> float:
    """How much answering a segment says: a word in few names (低保) more than one in many (申请).
    An inverse document frequency scaled to 0.15-1 for a catalogue of ``guides``."""
    if guides <= 1:
        return 1.0
    return max(0.15, min(1.0, math.log((guides + 1) / (matches + 1)) / math.log(guides + 1)))


def score(query: Query, row: Row, weights: list[float] | None = None) -> Scored | None:
    """The guide's place among the answers to ``query``, or None if it answers nothing.
    ``weights``: each segment's ``importance`` (all 1 if not given)."""
    total, top, matched = 0.0, 0.0, ""
    for i, seg in enumerate(query.segments):
        best, level, field = 0.0, 0.0, ""
        for term in seg.terms:
            f, where = field_score(term, row)
            if f * term.weight > best:
                best, level, field = f * term.weight, f, where
        if best:
            total += best * (weights[i] if weights else 1.0)
            if level > top:
                top, matched = level, field
    if not total:
        return None
    group = 1 if top <= MATERIAL else 0
    key = (group, -round(total, 2), -row.popularity, not row.complete, len(row.forms[0]), row.rowid)
    return Scored(key, matched, row)
