"""SQLite storage of the guide catalogue (stdlib sqlite3, WAL).

One row per 事项. Catalogue fields are columns; the rest of the 办事指南 is one JSON column
(``detail``, shaped like central.models.GuideDetail) so new guide fields need no migration.
Search columns are filled at write time: a normalised name, the name's toneless pinyin and its
initials (pypinyin), and optional hand-written keywords with their pinyin, so a citizen can type
"社保", "shebao", "sb" or part of an item code on a touch keyboard. Full pinyin must match from
a syllable start (SQL function ``pinyin_hit``), so "hunyin" finds 婚姻 but not 准印 (zhun yin).

Searching is plain LIKE for now (1,135 rows answer in a few ms); a later task adds FTS5 - the
integer ``id`` rowid is there for an external-content FTS table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
# Part of every row's content hash: bump it when the search-key algorithm changes so the next
# seed recomputes the keys of every row.
SEARCH_KEYS_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guides (
    id                INTEGER PRIMARY KEY,
    item_code         TEXT NOT NULL UNIQUE,          -- opaque, never parsed
    name              TEXT NOT NULL,
    department        TEXT NOT NULL,
    main_item         TEXT NOT NULL DEFAULT '',
    task_type         TEXT NOT NULL DEFAULT '',
    area_code         TEXT NOT NULL DEFAULT '',
    link              TEXT NOT NULL DEFAULT '',
    detail            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    detail_complete   INTEGER NOT NULL DEFAULT 0,    -- copy of detail.detail_complete for lists
    keywords          TEXT NOT NULL DEFAULT '',      -- ' 社保 参保证明 ' (normalised, space-delimited)
    search_name       TEXT NOT NULL,                 -- normalise(name)
    search_code       TEXT NOT NULL,                 -- normalise(item_code)
    name_pinyin       TEXT NOT NULL,                 -- 'shebao...' no tones, no spaces
    name_initials     TEXT NOT NULL,                 -- 'sb...'
    keywords_pinyin   TEXT NOT NULL DEFAULT '',      -- ' shebao canbaozhengming '
    keywords_initials TEXT NOT NULL DEFAULT '',      -- ' sb cbzm '
    pinyin_syllables  TEXT NOT NULL DEFAULT '',      -- 'she bao|can bao zheng ming' name|keywords
    content_hash      TEXT NOT NULL,                 -- unchanged content keeps its updated_at
    updated_at        TEXT NOT NULL                  -- ISO 8601 UTC of the last content change
);
CREATE INDEX IF NOT EXISTS guides_department ON guides (department);
"""

_SUMMARY_COLUMNS = "item_code, name, department, main_item, task_type, detail_complete"


def normalise(text: str) -> str:
    """What both stored names and typed queries go through before comparing.

    NFKC folds full-width letters, digits and brackets to half-width (ｓｂ→sb, （→( ); case is
    folded; every kind of space is removed, since touch keyboards and pasted names add them.
    """
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _ascii_alnum(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isalnum())


def pinyin_syllables(text: str) -> list[str]:
    """Toneless pinyin of ``text``, one lowercase ASCII string per syllable.

    Non-Chinese letters and digits become one "syllable" each (so "ABC12" gives a, b, c, 1, 2);
    punctuation is dropped. pypinyin's phrase dictionary picks the usual reading of 多音字
    (行政 → xing zheng, 银行 → yin hang).
    """
    from pypinyin import lazy_pinyin  # imported late: loading its dictionaries takes ~0.3 s

    norm = unicodedata.normalize("NFKC", text).lower()
    return [s for s in (_ascii_alnum(p) for p in lazy_pinyin(norm, errors=list)) if s]


def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of ``text``: 社保 → ("shebao", "sb")."""
    syllables = pinyin_syllables(text)
    return "".join(syllables), "".join(s[0] for s in syllables)


def pinyin_hit(syllables: str | None, query: str | None) -> int:
    """SQL function: does ``query`` occur in the pinyin starting at a syllable boundary?

    ``syllables`` is space-separated syllables, several words separated by "|". Matching only at
    syllable starts keeps "hunyin" (婚姻) from hitting 准印 (zhun yin).
    """
    if not syllables or not query:
        return 0
    for word in syllables.split("|"):
        parts = word.split()
        joined = "".join(parts)
        pos = 0
        for part in parts:
            if joined.startswith(query, pos):
                return 1
            pos += len(part)
    return 0


def _keyword_tokens(keywords: Iterable[str]) -> list[str]:
    return [t for t in (normalise(k) for k in keywords) if t]


def _delimited(tokens: Iterable[str]) -> str:
    tokens = [t for t in tokens if t]
    return f" {' '.join(tokens)} " if tokens else ""


def content_hash(row: dict[str, Any]) -> str:
    """Hash of everything a seed writes for one item (not the derived search keys)."""
    payload = {k: row.get(k) for k in ("item_code", "name", "department", "main_item", "task_type",
                                       "area_code", "link", "detail", "keywords")}
    payload["_v"] = SEARCH_KEYS_VERSION
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class GuideStore:
    """The guide table in one SQLite file. Safe to use from many threads: each call opens its own
    short-lived connection (cheap for SQLite; avoids sharing a connection across FastAPI's
    worker threads)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            # WAL: readers (API requests) never block the writer (seed / later replication).
            conn.execute("PRAGMA journal_mode=WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: database schema {version} is newer than this code "
                                   f"({SCHEMA_VERSION})")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: committed on success, rolled back on error, then closed."""
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            conn.row_factory = sqlite3.Row
            conn.create_function("pinyin_hit", 2, pinyin_hit, deterministic=True)
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                yield conn
        finally:
            conn.close()

    # -- writing ---------------------------------------------------------------------------
    def hashes(self) -> dict[str, str]:
        with self.connect() as conn:
            return {r[0]: r[1] for r in conn.execute("SELECT item_code, content_hash FROM guides")}

    def upsert(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert or update items (dicts with the catalogue fields, ``detail`` as a dict and
        ``keywords`` as a list). Rows whose content is unchanged are left alone, so updated_at
        only moves when something a kiosk would show has changed. Returns the rows written."""
        known = self.hashes()
        now = _utc_now()
        records = []
        for row in rows:
            h = content_hash(row)
            if known.get(row["item_code"]) == h:
                continue
            name_syllables = pinyin_syllables(row["name"])
            tokens = _keyword_tokens(row.get("keywords") or [])
            kw_syllables = [pinyin_syllables(t) for t in tokens]
            detail = row.get("detail") or {}
            records.append({
                "item_code": row["item_code"],
                "name": row["name"],
                "department": row["department"],
                "main_item": row.get("main_item") or "",
                "task_type": row.get("task_type") or "",
                "area_code": row.get("area_code") or "",
                "link": row.get("link") or "",
                "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
                "detail_complete": int(bool(detail.get("detail_complete"))),
                "keywords": _delimited(tokens),
                "search_name": normalise(row["name"]),
                "search_code": normalise(row["item_code"]),
                "name_pinyin": "".join(name_syllables),
                "name_initials": "".join(x[0] for x in name_syllables),
                "keywords_pinyin": _delimited("".join(k) for k in kw_syllables),
                "keywords_initials": _delimited("".join(x[0] for x in k) for k in kw_syllables),
                "pinyin_syllables": "|".join(" ".join(k) for k in [name_syllables, *kw_syllables]),
                "content_hash": h,
                "updated_at": now,
            })
        if not records:
            return 0
        cols = list(records[0])
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "item_code")
        sql = (f"INSERT INTO guides ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
               f"ON CONFLICT (item_code) DO UPDATE SET {updates} "
               f"WHERE guides.content_hash <> excluded.content_hash")
        with self.connect() as conn:
            conn.executemany(sql, records)
        return len(records)

    # -- reading ---------------------------------------------------------------------------
    def count(self) -> int:
        with self.connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM guides").fetchone()[0]

    def search(self, q: str = "", limit: int = 20, offset: int = 0,
               department: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """(total matches, one page of summaries).

        A query matches the normalised name, the item code, the name's pinyin or initials, or a
        keyword (or its pinyin/initials) anywhere. Order: exact hits (name, code or a whole
        keyword) first, then prefix hits, then the rest; within each, shorter names first -
        the short name is usually the general item a citizen means ("户口登记" before
        "户口登记项目内容变更更正证明").
        """
        qn = normalise(q)
        where: list[str] = []
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if department:
            where.append("department = :department")
            params["department"] = department
        if qn:
            params.update(q=qn, sub=f"%{_like_escape(qn)}%", pre=f"{_like_escape(qn)}%",
                          tok=f"% {_like_escape(qn)} %")
            text_cols = ["search_name", "search_code", "keywords"]
            exact = "search_name = :q OR search_code = :q OR keywords LIKE :tok ESCAPE '\\'"
            prefix = "search_name LIKE :pre ESCAPE '\\' OR search_code LIKE :pre ESCAPE '\\'"
            # Pinyin keys hold only ASCII letters and digits: compare them with the query's
            # ASCII letters and digits, and only when the query is not Chinese.
            qp = _ascii_alnum(qn)
            if qp and qn.isascii():
                params.update(p=qp, psub=f"%{qp}%", ppre=f"{qp}%", ptok=f"% {qp} %")
                # Full pinyin must start at a syllable; initials are one letter per syllable.
                where_p = ("name_initials LIKE :psub OR keywords_initials LIKE :psub "
                           "OR pinyin_hit(pinyin_syllables, :p)")
                exact += (" OR name_pinyin = :p OR name_initials = :p"
                          " OR keywords_pinyin LIKE :ptok OR keywords_initials LIKE :ptok")
                prefix += " OR name_pinyin LIKE :ppre OR name_initials LIKE :ppre"
            else:
                where_p = ""
            match = " OR ".join(f"{c} LIKE :sub ESCAPE '\\'" for c in text_cols)
            if where_p:
                match += " OR " + where_p
            where.append(f"({match})")
            order = (f"CASE WHEN {exact} THEN 0 WHEN {prefix} THEN 1 ELSE 2 END, "
                     "length(name), name, item_code")
        else:
            # Browsing: items with a full guide first (the common ones), then catalogue order,
            # which groups items by department.
            order = "detail_complete DESC, id"
        where_sql = f"WHERE {' AND '.join(where)}" if where else ""
        with self.connect() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM guides {where_sql}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM guides {where_sql} ORDER BY {order} "
                "LIMIT :limit OFFSET :offset", params).fetchall()
        return total, [_summary(r) for r in rows]

    def get(self, item_code: str) -> dict[str, Any] | None:
        """The full guide as a flat dict (catalogue fields + detail fields), or None."""
        with self.connect() as conn:
            row = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS}, area_code, link, detail, updated_at FROM guides "
                "WHERE item_code = ?", (item_code,)).fetchone()
        if row is None:
            return None
        detail = json.loads(row["detail"])
        guide = {**detail, **_summary(row), "area_code": row["area_code"], "link": row["link"],
                 "updated_at": row["updated_at"]}
        return guide

    def departments(self) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT department, COUNT(*) AS n FROM guides GROUP BY department "
                                "ORDER BY n DESC, department").fetchall()
        return [{"name": r["department"], "count": r["n"]} for r in rows]


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    return {"item_code": row["item_code"], "name": row["name"], "department": row["department"],
            "main_item": row["main_item"], "task_type": row["task_type"],
            "detail_complete": bool(row["detail_complete"])}
