"""The kiosk's own copy of the guide catalogue: searchable when the network is down.

One SQLite file (WAL). ``guides`` holds each guide as its contract JSON plus the columns that rank
results; ``guides_fts`` (FTS5, detail=column, prefix indexes) holds search *keys* for it, one token
per key, and a query word is a prefix query on them. Keys are chosen so that a prefix match is the
match a citizen expects:

- every suffix of the normalised name, department and material names (so a prefix of a suffix is
  any substring: "婚姻" finds 中国内地公民婚姻登记). Chinese needs no word segmentation this way,
  and unlike the trigram tokenizer one- and two-character queries (社保, 婚) use the index;
- the name's pinyin from every syllable start ("hunyin" finds 婚姻 but not 准印, as on the platform);
- every suffix of the name's pinyin initials ("sb" anywhere in the initials);
- the item code (prefix).

Suffix keys are cut at ``KEY_CHARS`` characters to keep the index small; a longer query word
searches by its first ``KEY_CHARS`` characters and the candidates are checked against the full
text.

Ranking follows the platform's tiers: exact name/code/pinyin/initials, then prefix, then the rest
of the name hits, then department/material hits. The keys sit in three columns - ``head`` (what a
name or code starts with), ``rest`` (the rest of the name keys), ``other`` (department, materials) -
so each tier is one FTS query. Within a tier results come in rowid order, and the rowid *is* the
order (``rank_id``: shorter names first, then by their first two characters), so a page is the
first rows of at most four index scans: a query that matches 100,000 guides costs no more to
rank than one that matches ten.

Sync is incremental (GET /guides/changes) and commits its cursor with every page, so a crash or a
lost network resumes where it stopped. ``ready`` says a complete copy exists (a finished sync or an
import); until then the guide journey prefers the platform. A copy in an older file format is
dropped and fetched again (it is a copy).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from contract.models import Guide, GuidePage, GuideSummary
from contract.textkeys import normalise, pinyin_syllables

log = logging.getLogger("kiosk.catalogue")

KEY_CHARS = 10  # suffix keys longer than this are cut (queries longer are verified on the text)
PINYIN_KEY_CHARS = 24
SYNC_PAGE = 1000  # the most the platform gives per page; fewer, larger commits index faster
FORMAT = 2  # PRAGMA user_version of the file; another value means a copy to drop and fetch again
# Letters no guide or query contains, put before a key to make a term of its own class: the index
# then answers "which guides' *names start with* this" as cheaply as "which guides contain it".
HEAD, NAME = "\u02ad", "\u02ae"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS guides (
    id INTEGER PRIMARY KEY,       -- rank_id(): the order of results within a tier
    item_code TEXT NOT NULL UNIQUE,
    sname TEXT NOT NULL,          -- normalise(name)
    scode TEXT NOT NULL,          -- normalise(item_code)
    py TEXT NOT NULL,             -- full pinyin of the name, no spaces
    ini TEXT NOT NULL,            -- its initials
    hay TEXT NOT NULL,            -- every searchable word, for checking long queries (and the LIKE bench)
    detail_complete INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    body TEXT NOT NULL            -- the Guide as contract JSON
);
CREATE INDEX IF NOT EXISTS guides_browse ON guides (detail_complete DESC, id);
-- detail=column although there is one column: FTS5 merges the terms of a prefix query four
-- times faster than with detail=none. Contentless: the keys are made again from the body to
-- delete a row.
CREATE VIRTUAL TABLE IF NOT EXISTS guides_fts USING fts5(
    keys, content='', detail=column, prefix='1 2 3', tokenize='unicode61 remove_diacritics 0');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = {FORMAT};
"""

class CatalogueError(ValueError):
    """A file to import is bad; nothing of it was imported."""


@dataclass(frozen=True)
class SyncReport:
    changed: int
    deleted: int
    pages: int
    seconds: float


@functools.lru_cache(maxsize=16384)
def _words(text: str) -> tuple[str, ...]:
    """Normalised text split where FTS5's unicode61 splits (anything not a letter or digit).
    Cached: department and material names repeat across a whole catalogue."""
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


def _suffixes(word: str, cap: int) -> Iterable[str]:
    return (word[i:i + cap] for i in range(len(word)))


@functools.lru_cache(maxsize=16384)
def _text_keys(text: str) -> frozenset[str]:
    """Suffix keys of every word of ``text`` (cached like ``_words``)."""
    return frozenset(k for w in _words(text) for k in _suffixes(w, KEY_CHARS))


@dataclass(frozen=True)
class Keys:
    """A guide's search keys, and its ranking columns."""

    head: set[str]   # what the name, pinyin, initials or code starts with
    name: set[str]   # every key from the name and code (head included)
    other: set[str]  # keys from the department and materials
    cols: dict[str, str]

    def fts_text(self) -> str:
        """Every key plain (any query word matches it), the head and name keys once more marked,
        so the ranking tiers are prefix queries on terms of their own."""
        return " ".join([*sorted(self.name | self.other), *(HEAD + k for k in sorted(self.head)),
                         *(NAME + k for k in sorted(self.name))])


def search_keys(guide: Guide) -> Keys:
    syllables = pinyin_syllables(guide.name)
    py = "".join(syllables)
    ini = "".join(s[0] for s in syllables)
    name_words, code_words = _words(guide.name), _words(guide.item_code)
    other_texts = (guide.department, *(m.name for m in guide.materials))
    head = {_key(k) for k in (py, ini, *name_words[:1], *code_words[:1]) if k}
    name = {*head, *code_words, *_text_keys(guide.name)}
    name.update(py[i:i + PINYIN_KEY_CHARS] for i in _starts(syllables))
    name.update(_suffixes(ini, KEY_CHARS))
    other = set().union(*map(_text_keys, other_texts)) - name
    hay = " " + " ".join([*name_words, *(w for t in other_texts for w in _words(t)), *code_words]) + " "
    cols = {"sname": normalise(guide.name), "scode": normalise(guide.item_code), "py": py, "ini": ini,
            "hay": hay + " " + " ".join(py[i:] for i in _starts(syllables)) + " " + ini + " "}
    return Keys(head, name, other, cols)


def rank_id(sname: str, item_code: str, probe: int = 0) -> int:
    """The rowid that orders a guide within its tier: name length, then its first two
    characters (so names that start alike sit together, in dictionary order of Unicode's
    radical-stroke layout), then a hash of the item code; ``probe`` steps past a taken slot."""
    c1 = ord(sname[0]) if sname else 0
    c2 = ord(sname[1]) if len(sname) > 1 else 0
    slot = (zlib.crc32(item_code.encode()) + probe) & _SLOT_MASK
    return (min(len(sname), 127) << 56) | (c1 << 35) | (c2 << 14) | slot


_SLOT_MASK = (1 << 14) - 1


def _bucket(rowid: int) -> int:
    return rowid >> 14


def _starts(syllables: list[str]) -> list[int]:
    out, pos = [], 0
    for s in syllables:
        out.append(pos)
        pos += len(s)
    return out


class Catalogue:
    """The local catalogue at ``path``. Safe from several threads: one connection per thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        conn = self._db()
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found not in (0, FORMAT):
            log.warning("catalogue %s is in format %s, this version uses %s: dropping it; the next sync "
                        "fetches it again", self.path, found, FORMAT)
            conn.executescript("DROP TABLE IF EXISTS guides_fts; DROP TABLE IF EXISTS guides; "
                               "DROP TABLE IF EXISTS meta; VACUUM;")
        conn.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a copy: losing the last page costs one re-sync
            conn.execute("PRAGMA cache_size=-32768")  # 32 MB: sync writes rows all over the order
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

    def _meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def ready(self) -> bool:
        """A complete copy exists (a sync ran to its end, or a file was imported)."""
        return self._meta("complete") == "1"

    @property
    def last_sync(self) -> str | None:
        return self._meta("synced_at")

    # -- writing ----------------------------------------------------------------------------
    def _upsert(self, conn: sqlite3.Connection, guides: Iterable[Guide]) -> int:
        latest = {g.item_code: g for g in guides}  # a file or page naming a guide twice: the last wins
        fts_rows = []
        for g in latest.values():
            keys = search_keys(g)
            cols = keys.cols
            old = self._remove(conn, g.item_code)
            values = (g.item_code, cols["sname"], cols["scode"], cols["py"], cols["ini"], cols["hay"],
                      int(g.detail_complete), g.updated_at.isoformat(), g.model_dump_json())
            if old is not None and _bucket(old) == _bucket(rank_id(cols["sname"], g.item_code)):
                slots: Iterable[int] = [old]  # the same place in the order: keep it
            else:
                slots = (rank_id(cols["sname"], g.item_code, p) for p in range(_SLOT_MASK + 1))
            fts_rows.append((self._insert(conn, values, slots), keys.fts_text()))
        # In rowid order: FTS5 flushes its pending index whenever a rowid is not above the last
        # one written, and random order made indexing five times slower.
        conn.executemany("INSERT INTO guides_fts (rowid, keys) VALUES (?, ?)", sorted(fts_rows))
        return len(fts_rows)

    @staticmethod
    def _insert(conn: sqlite3.Connection, values: tuple, rowids: Iterable[int]) -> int:
        """Insert the guide row at the first free rowid of ``rowids``; that rowid."""
        for rowid in rowids:
            try:
                conn.execute("INSERT INTO guides (id, item_code, sname, scode, py, ini, hay, detail_complete, "
                             "updated_at, body) VALUES (?,?,?,?,?,?,?,?,?,?)", (rowid, *values))
                return rowid
            except sqlite3.IntegrityError:
                continue  # another guide of the same name length and first characters has it
        raise CatalogueError(f"more than {_SLOT_MASK + 1} guides share the name length and first characters "
                             f"of {values[0]}")

    @staticmethod
    def _remove(conn: sqlite3.Connection, item_code: str) -> int | None:
        """Delete a guide and its keys; its old rowid, or None if it was not here."""
        row = conn.execute("SELECT id, body FROM guides WHERE item_code = ?", (item_code,)).fetchone()
        if row is None:
            return None
        keys = search_keys(Guide.model_validate_json(row[1]))
        conn.execute("INSERT INTO guides_fts (guides_fts, rowid, keys) VALUES ('delete', ?, ?)", (row[0], keys.fts_text()))
        conn.execute("DELETE FROM guides WHERE id = ?", (row[0],))
        return row[0]

    def _delete(self, conn: sqlite3.Connection, codes: Iterable[str]) -> int:
        return sum(self._remove(conn, code) is not None for code in codes)

    def _tx(self):
        return _Tx(self._db(), self._write_lock)

    def upsert(self, guides: Iterable[Guide]) -> int:
        with self._tx() as conn:
            return self._upsert(conn, guides)

    def import_jsonl(self, path: str | Path) -> int:
        """Import one Guide per line, all or nothing: a bad line raises CatalogueError naming it.

        An import is a complete catalogue (e.g. a USB stick for a terminal without network), so it
        marks the copy ready; a later sync continues from the newest updated_at it contains."""
        guides: list[Guide] = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    guides.append(Guide.model_validate_json(line))
                except ValidationError as exc:
                    e = exc.errors()[0]
                    where = ".".join(str(p) for p in e["loc"]) or "(line)"
                    raise CatalogueError(f"{path}: line {lineno}: {where}: {e['msg']}") from None
        with self._tx() as conn:
            n = self._upsert(conn, guides)
            newest = max((g.updated_at for g in guides), default=None)
            if newest is not None and (self._meta("since") or "") < newest.isoformat():
                # A sync after an import fetches only what changed since the file was made.
                _set_meta(conn, since=newest.isoformat(), after="")
            _set_meta(conn, complete="1")
        return n

    def sync(self, client, page: int = SYNC_PAGE) -> SyncReport:
        """Fetch changes since the stored cursor until the platform has no more (raises
        CentralError when it cannot; pages already applied stay applied).

        The next page is fetched while this one is indexed: the platform's time and the kiosk's
        overlap, so a large sync costs about the slower of the two."""
        t0 = time.monotonic()
        since_s = self._meta("since")
        since = dt.datetime.fromisoformat(since_s) if since_s else None
        after = self._meta("after") or ""
        changed = deleted = pages = 0
        with ThreadPoolExecutor(1, thread_name_prefix="catalogue-fetch") as fetcher:
            ahead = fetcher.submit(client.guide_changes, since, after, limit=page)
            while True:
                ch = ahead.result()
                pages += 1
                if ch.more:
                    ahead = fetcher.submit(client.guide_changes, ch.next_since, ch.next_after, limit=page)
                with self._tx() as conn:
                    changed += self._upsert(conn, ch.guides)
                    deleted += self._delete(conn, ch.deleted)
                    _set_meta(conn, since=ch.next_since.isoformat(), after=ch.next_after)
                    if not ch.more:
                        _set_meta(conn, complete="1", synced_at=dt.datetime.now(dt.UTC).isoformat())
                if not ch.more:
                    break
        return SyncReport(changed, deleted, pages, time.monotonic() - t0)

    # -- reading ----------------------------------------------------------------------------
    def get(self, item_code: str) -> Guide | None:
        row = self._db().execute("SELECT body FROM guides WHERE item_code = ?", (item_code,)).fetchone()
        return Guide.model_validate_json(row[0]) if row else None

    def search(self, q: str = "", limit: int = 20, offset: int = 0) -> GuidePage:
        words = _words(q)
        conn = self._db()
        if not words:
            # Browsing: full guides first, then the catalogue's order.
            total = self.count()
            rows = conn.execute("SELECT body FROM guides ORDER BY detail_complete DESC, id LIMIT ? OFFSET ?",
                                (limit, offset)).fetchall()
            return _page(total, offset, limit, [r[0] for r in rows])
        qn = "".join(words)
        match = " AND ".join(f'"{_key(w)}"*' for w in words)
        if any(_key(w) != w for w in [*words, qn]):
            return self._search_checked(words, qn, match, limit, offset)
        total = conn.execute("SELECT COUNT(*) FROM guides_fts WHERE guides_fts MATCH ?", (match,)).fetchone()[0]
        # One word: a head or name key is also a plain key, so the tiers need not repeat the
        # match (each repetition merges the word's terms again).
        both = "" if len(words) == 1 else f"({match}) AND "
        head, name = f'"{HEAD}{qn}"', f'"{NAME}{qn}"*'
        need = offset + limit
        ids = self._exact(both + head, qn, need)
        exact = set(ids)
        for tier in (f"{both}{head}*", f"({both}{name}) NOT {head}*", f"({match}) NOT {name}"):
            if len(ids) >= need:
                break
            rows = conn.execute("SELECT rowid FROM guides_fts WHERE guides_fts MATCH ? ORDER BY rowid LIMIT ?",
                                (tier, need - len(ids) + len(exact))).fetchall()
            ids.extend(r[0] for r in rows if r[0] not in exact)
        return _page(total, offset, limit, self._bodies(ids[offset:need]))

    def _exact(self, expr: str, qn: str, need: int) -> list[int]:
        """Ids (in order, at most ``need``) of the guides matching ``expr`` whose name, code,
        pinyin or initials is the query itself."""
        cur = self._db().execute(
            "SELECT g.id, g.sname, g.scode, g.py, g.ini FROM guides_fts f JOIN guides g ON g.id = f.rowid "
            "WHERE guides_fts MATCH ? ORDER BY f.rowid", (expr,))
        out = []
        for rowid, *values in cur:
            if qn in values:
                out.append(rowid)
                if len(out) >= need:
                    break
        return out

    def _search_checked(self, words: list[str], qn: str, match: str, limit: int, offset: int) -> GuidePage:
        """A query with a word longer than its key: the index finds candidates by the cut keys, the
        text decides. Such queries are long, so the candidates are few."""
        rows = self._db().execute(
            "SELECT g.id, g.sname, g.scode, g.py, g.ini, g.hay FROM guides_fts f JOIN guides g ON g.id = f.rowid "
            "WHERE guides_fts MATCH ?", (match,)).fetchall()
        ranked = sorted((_tier(qn, *r[1:5]), r[0]) for r in rows if all(w in r[5] for w in words))
        ids = [rowid for _, rowid in ranked]
        return _page(len(ids), offset, limit, self._bodies(ids[offset:offset + limit]))

    def _bodies(self, ids: list[int]) -> list[str]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = dict(self._db().execute(f"SELECT id, body FROM guides WHERE id IN ({marks})", ids).fetchall())
        return [found[i] for i in ids if i in found]

    def like_search(self, q: str, limit: int = 20) -> int:
        """The naive scan the benchmark compares with: LIKE over the same text, count plus one
        page ordered by name length (as ``search`` does). Returns the count."""
        pattern = f"%{''.join(_words(q))}%"
        conn = self._db()
        total = conn.execute("SELECT COUNT(*) FROM guides WHERE hay LIKE ?", (pattern,)).fetchone()[0]
        conn.execute("SELECT body FROM guides WHERE hay LIKE ? ORDER BY length(sname), sname LIMIT ?",
                     (pattern, limit)).fetchall()
        return total


def _key(word: str) -> str:
    return word[:PINYIN_KEY_CHARS] if word.isascii() else word[:KEY_CHARS]


def _tier(qn: str, sname: str, scode: str, py: str, ini: str) -> int:
    """The ranking tier of a guide for the query ``qn`` (what the FTS columns encode)."""
    pinyin = (py, ini) if qn.isascii() else ()
    if qn in (sname, scode, *pinyin):
        return 0
    if any(t.startswith(qn) for t in (sname, scode, *pinyin)):
        return 1
    if qn in sname or any(qn in t for t in pinyin):
        return 2
    return 3


def _page(total: int, offset: int, limit: int, bodies: list[str]) -> GuidePage:
    items = [GuideSummary.model_validate_json(b) for b in bodies]
    return GuidePage(total=total, offset=offset, limit=limit, items=items)


def _set_meta(conn: sqlite3.Connection, **values: str) -> None:
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     list(values.items()))


class _Tx:
    """One write transaction (BEGIN IMMEDIATE), committed on success; one writer per process."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock):
        self.conn, self.lock = conn, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, *_):
        try:
            self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.lock.release()


def default_path(var_dir: str | Path) -> Path:
    return Path(var_dir) / "catalogue.db"

