"""A searchable copy of the guide catalogue in one SQLite file: the kiosk's offline catalogue and
the platform's search index are both this, so a query gets the same answers online and offline.

``guides`` holds each guide as its contract JSON plus the columns ranking reads
(contract.ranking.columns); ``guides_fts`` (FTS5, contentless, detail=column, prefix indexes) holds
search *keys* for it, one token per key, and a query reading is a prefix query on them. Keys are
chosen so that a prefix match is the match a citizen expects:

- every suffix of each form of the name (contract.textkeys.name_forms: without the brackets'
  content, and each word), of each keyword, of the department and of the material names, so a
  prefix of a suffix is any substring: "婚姻" finds 中国内地公民婚姻登记, 食品经营许可 finds
  食品(含保健食品)经营许可. Chinese needs no segmentation this way, and one- and two-character
  words use the index;
- each form's pinyin from every syllable start ("hunyin" finds 婚姻 but not 准印), and every
  suffix of its initials, per form, so initials never run across a bracket;
- the item code's words.

Suffix keys are cut at ``KEY_CHARS`` characters; a longer reading searches by its first
``KEY_CHARS`` and ranking checks the whole text. Keys of the name and keywords are indexed
a second time behind a marker letter (``NAME``), and what the name or a keyword *starts*
with a third time (``HEAD``), so "guides whose name has it" and "guides whose name starts with it"
are index queries of their own.

A search reads the query (contract.query), gathers candidates with a few such queries - each read
in rowid order with a LIMIT, and the rowid *is* the order among equals (``rank_id``: popularity,
complete guides, shorter names) - and ranks them (contract.ranking). The cost of a page is bounded
by the number of readings, not by how many guides match.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from contract.aliases import AliasTable, sound
from contract.models import SEARCH_COUNT_CAP, Guide, GuidePage, GuideSummary, SearchAliases
from contract.query import COUNT_CAP, Query, analyse
from contract.ranking import SEP, Row, columns, department_text, importance, materials_text, score
from contract.textkeys import name_forms, normalise, pinyin_syllables, words

KEY_CHARS = 10  # suffix keys longer than this are cut (longer readings are checked on the text)
PINYIN_KEY_CHARS = 24
CANDIDATES = 80  # guides read per index query; ranking picks the page among them
# Page cache per connection, KiB. A search reads a few pages, and the system's file cache serves
# the rest as fast (100k guides: p95 4.2 → 4.6 ms going from 4 MB to 1 MB); a bigger cache filled up
# for hours as citizens read more of the catalogue: +2.8 MB from session 10 to 200 of the soak,
# once per thread that searches. A sync writes rows all over the order: 32 MB then, given back after.
READ_CACHE, WRITE_CACHE = -1024, -32768
DF_CAP = 2000  # names counted for a segment's importance: beyond this a word is common anyway
FORMAT = 6  # PRAGMA user_version of the file; another value means a copy to drop and fetch again
# Letters no guide or query contains, put before a key to make a term of its own class.
HEAD, NAME = "\u02ad", "\u02ae"
# Ranking columns stored as such; the department and materials are read from the body (they are
# only needed for the few candidates of a search, and would double the file).
_ROW_COLUMNS = ("forms", "pinyin", "keywords", "keyword_pinyin", "code", "popularity", "complete")
_ROWS_BY_ID = f"SELECT id, {', '.join(_ROW_COLUMNS)}, body FROM guides WHERE id IN (SELECT value FROM json_each(?))"
# A preset dictionary for the bodies: a guide's JSON is too short to compress well on its own.
# Changing it makes stored bodies unreadable: bump FORMAT with it.
_ZDICT = ('{"item_code":"","name":"","department":"","main_item":"","task_type":"","detail_complete":true,'
          '"legal_limit_days":,"promised_limit_days":,"limit_note":"","handling_type":"承诺件","visits":,'
          '"fee":"不收费","place":"","hours":"","phone":"","basis":"","conditions":"","source":"","keywords":[],'
          '"popularity":,"area_code":"","link":"","updated_at":"T00:00:00Z","materials":[{"name":"居民身份证",'
          '"form":"原件","copies":1,"required":"必要"},{"name":"","form":"原件及复印件","copies":1,'
          '"required":"非必要","note":""}]}').encode()

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS guides (
    id INTEGER PRIMARY KEY,       -- rank_id(): the order among equally good results
    forms TEXT NOT NULL,          -- contract.ranking.columns()
    pinyin TEXT NOT NULL,
    keywords TEXT NOT NULL,
    keyword_pinyin TEXT NOT NULL,
    code TEXT NOT NULL,           -- the item code's letters and digits: lookups and code prefixes
    popularity INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    body BLOB NOT NULL            -- the Guide as contract JSON, compressed (``_pack``)
);
CREATE INDEX IF NOT EXISTS guides_browse ON guides (complete DESC, id);
CREATE INDEX IF NOT EXISTS guides_code ON guides (code);
-- detail=column although there is one column: FTS5 merges the terms of a prefix query four
-- times faster than with detail=none. One prefix index, of two characters: a marker and the
-- first letter, what a first keystroke searches ('1 2 3' tripled the file). Contentless: the keys are made again
-- from the body to delete a row.
CREATE VIRTUAL TABLE IF NOT EXISTS guides_fts USING fts5(
    keys, content='', detail=column, prefix='2', tokenize='unicode61 remove_diacritics 0');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = {FORMAT};
"""


class IndexFull(ValueError):
    """More guides than the order has room for share a name's length and first characters."""


def _suffixes(word: str, cap: int) -> Iterable[str]:
    return (word[i:i + cap] for i in range(len(word)))


@functools.lru_cache(maxsize=16384)
def _text_keys(text: str) -> frozenset[str]:
    """Suffix keys of every word of ``text`` (cached: departments and materials repeat)."""
    return frozenset(k for w in words(text) for k in _suffixes(w, KEY_CHARS))


def _word_keys(word: str) -> tuple[set[str], set[str]]:
    """(head keys, all keys) of one name form or keyword: its text, pinyin and initials."""
    syllables = pinyin_syllables(word)
    py, ini = "".join(syllables), "".join(s[0] for s in syllables)
    head = {_key(k) for k in (word, py, ini) if k}
    keys = {*head, *_suffixes(word, KEY_CHARS), *_suffixes(ini, KEY_CHARS)}
    pos = 0
    for s in syllables:
        keys.add(py[pos:pos + PINYIN_KEY_CHARS])
        pos += len(s)
    return head, keys


def fts_text(guide: Guide) -> str:
    """The name's and keywords' keys behind NAME, what they start with once more behind HEAD,
    the department's and materials' plain (``_any`` searches both)."""
    head: set[str] = set()
    name: set[str] = set()
    strong = [*name_forms(guide.name)[:1], *(normalise(k) for k in guide.keywords)]
    for i, w in enumerate([*strong, *name_forms(guide.name)[1:]]):
        h, k = _word_keys("".join(words(w)))
        if i < len(strong):
            head |= h
        name |= k
    other = set().union(*map(_text_keys, (guide.department, *(m.name for m in guide.materials)))) - name
    name.discard("")
    return " ".join([*sorted(other), *(HEAD + k for k in sorted(head)), *(NAME + k for k in sorted(name))])


def rank_id(guide: Guide, probe: int = 0) -> int:
    """The rowid that orders a guide among equally good results: popular items first, complete
    guides before stubs, shorter names, then a hash of the item code; ``probe`` steps past a taken
    slot. Kept to 33 bits: the index stores each posting as the gap to the previous rowid, and
    small gaps are small numbers (a wider id, ordering alike names together, doubled the index)."""
    name = name_forms(guide.name)[0] if name_forms(guide.name) else normalise(guide.name)
    slot = (zlib.crc32(guide.item_code.encode()) + probe) & _SLOT_MASK
    return (63 - min(guide.popularity, 63)) << 27 | (not guide.detail_complete) << 26 | min(len(name), 63) << 20 | slot


_SLOT_MASK = (1 << 20) - 1


def _bucket(rowid: int) -> int:
    return rowid >> 20


def _key(word: str) -> str:
    return word[:PINYIN_KEY_CHARS] if word.isascii() else word[:KEY_CHARS]


def _pack(guide: Guide) -> bytes:
    """The guide's JSON without fields at their defaults (reading fills them in), compressed."""
    c = zlib.compressobj(9, zdict=_ZDICT)
    return c.compress(guide.model_dump_json(exclude_defaults=True).encode()) + c.flush()


def _unpack(body: bytes) -> bytes:
    d = zlib.decompressobj(zdict=_ZDICT)
    return d.decompress(body) + d.flush()


def _details(body: bytes) -> tuple[str, str]:
    """(department, materials) as ranking compares them, from a guide's stored body."""
    g = json.loads(_unpack(body))
    return department_text(g["department"]), materials_text(m["name"] for m in g.get("materials", ()))


def _code(item_code: str) -> str:
    return "".join(words(item_code))


def _is_code(text: str) -> bool:
    """A reading looked up among item codes: ASCII with a digit in it."""
    return text.isascii() and any(c.isdigit() for c in text)


def _any(texts: Iterable[str]) -> str:
    """An FTS expression: a reading anywhere (name, keywords, department, materials)."""
    texts = list(texts)
    return f"{_or(NAME, texts)} OR {_or('', texts)}"


def _or(marker: str, texts: Iterable[str]) -> str:
    return " OR ".join(f'"{marker}{_key(t)}"*' for t in dict.fromkeys(texts))


class GuideIndex:
    """The index at ``path``. Safe from several threads: one connection per thread."""

    def __init__(self, path: str | Path, local_aliases: Mapping[str, Iterable[str]] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.local_aliases = dict(local_aliases or {})
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._aliases: AliasTable | None = None
        self._seen: dict[tuple[str, str], bool | int] = {}  # index answers (present, count) until a write
        self.generation = 0  # counts writes: what is built from the index (pinyin candidates) is built again
        conn = self._db()
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found not in (0, FORMAT):
            self._dropped(found)
            conn.executescript("DROP TABLE IF EXISTS guides_fts; DROP TABLE IF EXISTS guides; "
                               "DROP TABLE IF EXISTS meta; VACUUM;")
        conn.executescript(SCHEMA)

    def _dropped(self, found: int) -> None:
        """Called when the file holds another format, before it is emptied."""

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a copy: losing the last page costs one re-sync
            conn.execute(f"PRAGMA cache_size={READ_CACHE}")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- state ------------------------------------------------------------------------------
    def count(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM guides").fetchone()[0]

    def meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def aliases(self) -> AliasTable:
        """The alias table stored with the index (``set_aliases``) plus the local words."""
        if self._aliases is None:
            raw = self.meta("aliases")
            table = SearchAliases.model_validate_json(raw) if raw else None
            self._aliases = AliasTable(table, self.local_aliases)
        return self._aliases

    # -- writing ----------------------------------------------------------------------------
    def transaction(self, *, guides: bool = True) -> _Tx:
        """``guides=False``: only the copy's notes change (its sync cursor), and what is built
        from the guides (answers seen, pinyin candidates) is kept."""
        return _Tx(self._db(), self._write_lock, self._changed if guides else _nothing)

    def _changed(self) -> None:
        self._seen.clear()
        self._aliases = None
        self.generation += 1

    def set_aliases(self, conn: sqlite3.Connection, table: SearchAliases) -> None:
        set_meta(conn, aliases=table.model_dump_json())

    def upsert(self, guides: Iterable[Guide]) -> int:
        with self.transaction() as conn:
            return self.write(conn, guides)

    def write(self, conn: sqlite3.Connection, guides: Iterable[Guide]) -> int:
        """Insert or replace ``guides`` inside the transaction ``conn``; how many."""
        latest = {g.item_code: g for g in guides}  # a file or page naming a guide twice: the last wins
        fts_rows = []
        for g in latest.values():
            old = self._remove(conn, g.item_code)
            cols = columns(g)
            # Fields at their defaults are left out of the stored JSON: reading fills them in again.
            values = (*(cols[c] for c in _ROW_COLUMNS), _pack(g))
            if old is not None and _bucket(old) == _bucket(rank_id(g)):
                slots: Iterable[int] = [old]  # the same place in the order: keep it
            else:
                slots = (rank_id(g, p) for p in range(_SLOT_MASK + 1))
            fts_rows.append((self._insert(conn, values, slots), fts_text(g)))
        # In rowid order: FTS5 flushes its pending index whenever a rowid is not above the last
        # one written, and random order made indexing five times slower.
        conn.executemany("INSERT INTO guides_fts (rowid, keys) VALUES (?, ?)", sorted(fts_rows))
        return len(fts_rows)

    @staticmethod
    def _insert(conn: sqlite3.Connection, values: tuple, rowids: Iterable[int]) -> int:
        """Insert the guide row at the first free rowid of ``rowids``; that rowid."""
        cols = (*_ROW_COLUMNS, "body")
        stmt = f"INSERT INTO guides (id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})"
        for rowid in rowids:
            try:
                conn.execute(stmt, (rowid, *values))
                return rowid
            except sqlite3.IntegrityError:
                continue  # another guide of the same rank and first characters has it
        raise IndexFull(f"more than {_SLOT_MASK + 1} guides share the rank of {values[0]}")

    @staticmethod
    def _find(conn: sqlite3.Connection, item_code: str) -> tuple[int, Guide] | None:
        """(rowid, guide) of ``item_code``: by its letters and digits, then the exact code."""
        for rowid, body in conn.execute("SELECT id, body FROM guides WHERE code = ?", (_code(item_code),)):
            guide = Guide.model_validate_json(_unpack(body))
            if guide.item_code == item_code:
                return rowid, guide
        return None

    @classmethod
    def _remove(cls, conn: sqlite3.Connection, item_code: str) -> int | None:
        """Delete a guide and its keys; its old rowid, or None if it was not here."""
        found = cls._find(conn, item_code)
        if found is None:
            return None
        rowid, guide = found
        conn.execute("INSERT INTO guides_fts (guides_fts, rowid, keys) VALUES ('delete', ?, ?)", (rowid, fts_text(guide)))
        conn.execute("DELETE FROM guides WHERE id = ?", (rowid,))
        return rowid

    def delete(self, conn: sqlite3.Connection, codes: Iterable[str]) -> int:
        return sum(self._remove(conn, code) is not None for code in codes)

    def apply_changes(self, guides: Iterable[Guide], deleted: Iterable[str], since: str, after: str,
                      **meta: str) -> tuple[int, int]:
        """One page of the platform's change feed, with its cursor (and ``meta``), in one
        transaction: a crash resumes from the last page applied. (changed, deleted).

        A page with nothing in it (every regular sync of a catalogue that did not change) keeps
        the pinyin candidates: rebuilding them cost ~0.6 s and a burst of small objects that
        left Python's arenas fragmented, ~9 MB resident for good (bench/SOAK.md)."""
        guides, deleted = list(guides), list(deleted)
        with self.transaction(guides=bool(guides or deleted)) as conn:
            changed, gone = self.write(conn, guides), self.delete(conn, deleted)
            set_meta(conn, since=since, after=after, **meta)
        return changed, gone

    # -- reading ----------------------------------------------------------------------------
    def get(self, item_code: str) -> Guide | None:
        found = self._find(self._db(), item_code)
        return found[1] if found else None

    def guides(self) -> Iterator[Guide]:
        """Every guide of the copy (for exports and benchmarks)."""
        for (body,) in self._db().execute("SELECT body FROM guides ORDER BY id"):
            yield Guide.model_validate_json(_unpack(body))

    def analyse(self, q: str) -> Query:
        return analyse(q, self.aliases(), self._frequency, self._present_sound)

    def search(self, q: str = "", limit: int = 20, offset: int = 0, department: str | None = None) -> GuidePage:
        if not q.strip():
            return self._browse(limit, offset)
        query = self.analyse(q)  # (punctuation alone reads as nothing: nothing is found)
        need = offset + limit
        ranked, bodies, total = [], {}, 0
        if query.segments:
            ids, weights, total = self._candidates(query, max(CANDIDATES, need))
            rows = self._rows(ids)
            bodies = {row.rowid: raw for row, raw in rows}
            scored = (score(query, row, weights) for row, _ in rows)
            ranked = sorted((s for s in scored if s is not None), key=lambda s: s.key)
        if department:
            dept = "".join(words(department))
            ranked = [s for s in ranked if s.row.department == dept]
        if len(ranked) < CANDIDATES or department:
            total = len(ranked)
        items = [GuideSummary.model_validate_json(_unpack(bodies[s.row.rowid])).model_copy(update={"matched": s.matched})
                 for s in ranked[offset:need]]
        suggestions = self.suggest(query) if not total else []
        return GuidePage(total=total, offset=offset, limit=limit, items=items, suggestions=suggestions)

    def suggest(self, query: Query, n: int = 5) -> list[str]:
        """Everyday words whose pinyin looks like what was typed (for a page that found little)."""
        aliases = self.aliases()
        out: list[str] = []
        for typed in [*query.unknown, *(s.typed for s in query.segments)]:
            heard = typed if typed.isascii() else sound(typed)
            out += aliases.like_ascii(heard, limit=n)
        return [w for w in dict.fromkeys(out) if w not in {s.typed for s in query.segments}][:n]

    def _browse(self, limit: int, offset: int) -> GuidePage:
        """Browsing: full guides first, then the catalogue's order. (A department's list is the
        platform's: the kiosk browses by life event, not by department.)"""
        rows = self._db().execute("SELECT body FROM guides ORDER BY complete DESC, id LIMIT ? OFFSET ?",
                                  (limit, offset)).fetchall()
        items = [GuideSummary.model_validate_json(_unpack(r[0])) for r in rows]
        return GuidePage(total=self.count(), offset=offset, limit=limit, items=items)

    def _frequency(self, text: str) -> int:
        """In how many guides ``text`` occurs (any field), counted up to COUNT_CAP."""
        key = ("count", text)
        n = self._seen.get(key)
        if n is None:
            if _is_code(text):
                n = len(self._codes(text, COUNT_CAP))
            else:
                n = self._db().execute(f"SELECT COUNT(*) FROM (SELECT rowid FROM guides_fts WHERE guides_fts "
                                       f"MATCH ? LIMIT {COUNT_CAP})", (_any([text]),)).fetchone()[0]
            self._remember(key, n)
        return int(n)

    def _codes(self, prefix: str, limit: int) -> list[int]:
        """Rowids of guides whose item code starts with ``prefix`` (letters and digits)."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return [r[0] for r in self._db().execute(
            "SELECT id FROM guides WHERE code >= ? AND code < ? LIMIT ?", (prefix, end, limit))]

    def _present_sound(self, syllables: tuple[str, ...]) -> bool:
        """Some name has these syllables in a row (bu jiao: 补缴), whole: "ge zhen" is not in
        资格证 (ge zheng), which a plain prefix of the pinyin would say it is."""
        joined = "".join(syllables)
        if not joined.isascii() or not self._exists(NAME, joined):
            return False
        key = ("sound", "'".join(syllables))
        known = self._seen.get(key)
        if known is None:
            rows = self._db().execute(
                "SELECT g.pinyin FROM guides_fts f JOIN guides g ON g.id = f.rowid WHERE guides_fts MATCH ? "
                "LIMIT 50", (_or(NAME, [joined]),)).fetchall()
            wanted = SEP + "'".join(syllables) + SEP
            known = any(wanted in SEP + p.replace("'", SEP) + SEP for (p,) in rows)
            self._remember(key, known)
        return bool(known)

    def _exists(self, marker: str, text: str) -> bool:
        known = self._seen.get((marker, text))
        if known is None:
            known = self._db().execute("SELECT 1 FROM guides_fts WHERE guides_fts MATCH ? LIMIT 1",
                                       (_or(marker, [text]),)).fetchone() is not None
            self._remember((marker, text), known)
        return known

    def _remember(self, key: tuple[str, str], value: bool | int) -> None:
        if len(self._seen) > 50_000:
            self._seen.clear()
        self._seen[key] = value

    def _candidates(self, query: Query, k: int) -> tuple[list[int], list[float], int]:
        """(rowids worth ranking, each segment's importance, about how many guides answer).
        Candidates: guides whose name, code or keywords hold every segment, then those that start
        with or hold each one, then (if that found few) any field at all. A segment's importance
        comes from how many names hold it, counted up to DF_CAP while its candidates are read; the
        count shown is the largest of a segment's, up to SEARCH_COUNT_CAP ("1000+")."""
        segs = [[t.text for t in s.terms if not _is_code(t.text)] for s in query.segments]
        codes = [[t.text for t in s.terms if _is_code(t.text)] for s in query.segments]
        found: dict[int, None] = {}
        conn = self._db()

        def read(expr: str, limit: int) -> list[int]:
            return [r[0] for r in conn.execute(
                "SELECT rowid FROM guides_fts WHERE guides_fts MATCH ? ORDER BY rowid LIMIT ?", (expr, limit))]

        if len(segs) > 1 and all(segs):
            found.update(dict.fromkeys(read(" AND ".join(f"({_or(NAME, ts)})" for ts in segs), k)))
        guides = self._guides()
        weights, total = [], 0
        for ts, cs in zip(segs, codes, strict=True):
            named = [i for c in cs for i in self._codes(c, DF_CAP)]
            if ts:
                found.update(dict.fromkeys(read(_or(HEAD, ts), k)))
                named += read(_or(NAME, ts), DF_CAP)
            found.update(dict.fromkeys(named[:k]))
            weights.append(importance(len(named), guides))
            total = max(total, len(named))
        if len(found) < k:
            for ts in segs:
                if ts:
                    anywhere = read(_any(ts), SEARCH_COUNT_CAP)
                    found.update(dict.fromkeys(anywhere[:k]))
                    total = max(total, len(anywhere))
        return list(found), weights, min(total, SEARCH_COUNT_CAP)

    def _guides(self) -> int:
        n = self._seen.get(("guides", ""))
        if n is None:
            n = self.count()
            self._remember(("guides", ""), n)
        return int(n)

    def _rows(self, ids: list[int]) -> list[tuple[Row, bytes]]:
        """Each candidate's ranking row, and its body as stored (read once: the page is made
        from it; it is unpacked only for the candidates that reach the page or need their
        department and materials).

        The ids go in as one JSON array: with a placeholder per id, each count of candidates was
        a statement of its own, and the connection's cache of 128 prepared statements filled with
        them for hours (+2.5 MB of SQLite's memory per searching thread, bench/SOAK.md)."""
        out = []
        for rowid, forms, py, kw, kwpy, code, pop, complete, body in self._db().execute(
                _ROWS_BY_ID, (json.dumps(ids),)):
            out.append((Row.from_columns(rowid, forms, py, kw, kwpy, code, pop, complete,
                                         functools.partial(_details, body)), body))
        return out


def set_meta(conn: sqlite3.Connection, **values: str) -> None:
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     list(values.items()))


def _nothing() -> None:
    pass


class _Tx:
    """One write transaction (BEGIN IMMEDIATE), committed on success; one writer per process."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock, changed):
        self.conn, self.lock, self.changed = conn, lock, changed

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.conn.execute(f"PRAGMA cache_size={WRITE_CACHE}")
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, *_):
        try:
            self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.conn.execute(f"PRAGMA cache_size={READ_CACHE}")
            self.changed()
            self.lock.release()
