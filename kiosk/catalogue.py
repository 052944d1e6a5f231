"""The kiosk's own copy of the guide catalogue: searchable when the network is down.

One SQLite file (WAL). ``guides`` holds each guide as its contract JSON plus the columns that rank
results; ``guides_fts`` (FTS5, detail=none, prefix indexes) holds search *keys* for it, one token
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
text. Ranking follows the platform's: exact name/code/pinyin/initials, then prefix, then the rest
of the name hits, then department/material hits; shorter names first within each.

Sync is incremental (GET /guides/changes) and commits its cursor with every page, so a crash or a
lost network resumes where it stopped. ``ready`` says a complete copy exists (a finished sync or an
import); until then the controller prefers the platform.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from central.models import Guide, GuidePage, GuideSummary
from central.textkeys import normalise, pinyin_syllables

log = logging.getLogger("kiosk.catalogue")

KEY_CHARS = 10  # suffix keys longer than this are cut (queries longer are verified on the text)
PINYIN_KEY_CHARS = 24
SYNC_PAGE = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guides (
    id INTEGER PRIMARY KEY,
    item_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sname TEXT NOT NULL,          -- normalise(name)
    scode TEXT NOT NULL,          -- normalise(item_code)
    py TEXT NOT NULL,             -- full pinyin of the name, no spaces
    ini TEXT NOT NULL,            -- its initials
    hay TEXT NOT NULL,            -- every searchable word, for checking long queries (and the LIKE bench)
    detail_complete INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    body TEXT NOT NULL            -- the Guide as contract JSON
);
CREATE VIRTUAL TABLE IF NOT EXISTS guides_fts USING fts5(
    keys, detail=none, prefix='1 2 3', tokenize='unicode61 remove_diacritics 0');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = 1;
"""


class CatalogueError(ValueError):
    """A file to import is bad; nothing of it was imported."""


@dataclass(frozen=True)
class SyncReport:
    changed: int
    deleted: int
    pages: int
    seconds: float


def _words(text: str) -> list[str]:
    """Normalised text split where FTS5's unicode61 splits (anything not a letter or digit)."""
    out, cur = [], []
    for ch in normalise(text):
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def _suffixes(word: str, cap: int) -> Iterable[str]:
    return (word[i:i + cap] for i in range(len(word)))


def search_keys(guide: Guide) -> tuple[str, dict[str, str]]:
    """(FTS keys text, ranking columns) of a guide."""
    syllables = pinyin_syllables(guide.name)
    py = "".join(syllables)
    ini = "".join(s[0] for s in syllables)
    keys: set[str] = set()
    texts = [guide.name, guide.department, *(m.name for m in guide.materials)]
    for text in texts:
        for w in _words(text):
            keys.update(_suffixes(w, KEY_CHARS))
    pos = 0
    for s in syllables:
        keys.add(py[pos:pos + PINYIN_KEY_CHARS])
        pos += len(s)
    keys.update(_suffixes(ini, KEY_CHARS))
    code_words = _words(guide.item_code)
    keys.update(code_words)
    hay = " " + " ".join([*(w for t in texts for w in _words(t)), *code_words]) + " "
    cols = {"sname": normalise(guide.name), "scode": normalise(guide.item_code), "py": py, "ini": ini,
            "hay": hay + " " + " ".join(py[i:] for i in _starts(syllables)) + " " + ini + " "}
    return " ".join(sorted(keys)), cols


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
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a copy: losing the last page costs one re-sync
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
        n = 0
        for g in guides:
            keys, cols = search_keys(g)
            row = conn.execute("SELECT id FROM guides WHERE item_code = ?", (g.item_code,)).fetchone()
            values = (g.name, cols["sname"], cols["scode"], cols["py"], cols["ini"], cols["hay"],
                      int(g.detail_complete), g.updated_at.isoformat(), g.model_dump_json())
            if row is None:
                cur = conn.execute("INSERT INTO guides (name, sname, scode, py, ini, hay, detail_complete, "
                                   "updated_at, body, item_code) VALUES (?,?,?,?,?,?,?,?,?,?)",
                                   (*values, g.item_code))
                rowid = cur.lastrowid
            else:
                rowid = row[0]
                conn.execute("UPDATE guides SET name=?, sname=?, scode=?, py=?, ini=?, hay=?, detail_complete=?, "
                             "updated_at=?, body=? WHERE id=?", (*values, rowid))
                conn.execute("DELETE FROM guides_fts WHERE rowid = ?", (rowid,))
            conn.execute("INSERT INTO guides_fts (rowid, keys) VALUES (?, ?)", (rowid, keys))
            n += 1
        return n

    def _delete(self, conn: sqlite3.Connection, codes: Iterable[str]) -> int:
        n = 0
        for code in codes:
            row = conn.execute("SELECT id FROM guides WHERE item_code = ?", (code,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM guides_fts WHERE rowid = ?", row)
                conn.execute("DELETE FROM guides WHERE id = ?", row)
                n += 1
        return n

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
        CentralError when it cannot; pages already applied stay applied)."""
        t0 = time.monotonic()
        since_s = self._meta("since")
        since = dt.datetime.fromisoformat(since_s) if since_s else None
        after = self._meta("after") or ""
        changed = deleted = pages = 0
        while True:
            ch = client.guide_changes(since, after, limit=page)
            pages += 1
            with self._tx() as conn:
                changed += self._upsert(conn, ch.guides)
                deleted += self._delete(conn, ch.deleted)
                _set_meta(conn, since=ch.next_since.isoformat(), after=ch.next_after)
                if not ch.more:
                    _set_meta(conn, complete="1", synced_at=dt.datetime.now(dt.UTC).isoformat())
            since, after = ch.next_since, ch.next_after
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
            # Browsing: full guides first, then catalogue order (as on the platform).
            total = self.count()
            rows = conn.execute("SELECT body FROM guides ORDER BY detail_complete DESC, id LIMIT ? OFFSET ?",
                                (limit, offset)).fetchall()
            return _page(total, offset, limit, rows)
        match = " AND ".join(f'"{_key(w)}"*' for w in words)
        # Words longer than their key are checked on the full text.
        checks = [w for w in words if len(w) > (PINYIN_KEY_CHARS if w.isascii() else KEY_CHARS)]
        qn = "".join(words)
        ascii_q = qn.isascii()
        tier = ("CASE WHEN g.sname = :q OR g.scode = :q OR (:a AND (g.py = :q OR g.ini = :q)) THEN 0 "
                "WHEN substr(g.sname, 1, :n) = :q OR substr(g.scode, 1, :n) = :q "
                "OR (:a AND (substr(g.py, 1, :n) = :q OR substr(g.ini, 1, :n) = :q)) THEN 1 "
                "WHEN instr(g.sname, :q) > 0 OR (:a AND (instr(g.ini, :q) > 0 OR instr(g.py, :q) > 0)) THEN 2 "
                "ELSE 3 END")
        where = ("g.id IN (SELECT rowid FROM guides_fts WHERE guides_fts MATCH :m)"
                 + "".join(f" AND instr(g.hay, :c{i}) > 0" for i in range(len(checks))))
        named = {"q": qn, "n": len(qn), "a": int(ascii_q), "lim": limit, "off": offset,
                 "m": match, **{f"c{i}": c for i, c in enumerate(checks)}}
        total = conn.execute(f"SELECT COUNT(*) FROM guides g WHERE {where}", named).fetchone()[0]
        rows = conn.execute(f"SELECT body FROM guides g WHERE {where} "
                            f"ORDER BY {tier}, length(g.name), g.name, g.item_code LIMIT :lim OFFSET :off",
                            named).fetchall()
        return _page(total, offset, limit, rows)

    def like_search(self, q: str, limit: int = 20) -> int:
        """The naive scan the benchmark compares with: LIKE over the same text, count plus one
        page ordered by name length (as ``search`` does). Returns the count."""
        pattern = f"%{''.join(_words(q))}%"
        conn = self._db()
        total = conn.execute("SELECT COUNT(*) FROM guides WHERE hay LIKE ?", (pattern,)).fetchone()[0]
        conn.execute("SELECT body FROM guides WHERE hay LIKE ? ORDER BY length(name), name LIMIT ?",
                     (pattern, limit)).fetchall()
        return total


def _key(word: str) -> str:
    return word[:PINYIN_KEY_CHARS] if word.isascii() else word[:KEY_CHARS]


def _page(total: int, offset: int, limit: int, rows) -> GuidePage:
    items = [GuideSummary.model_validate_json(r[0]) for r in rows]
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

