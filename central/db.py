"""Storage of the central platform: SQLite or PostgreSQL through one code path (SQLAlchemy Core).

``database_url`` turns a file path, ``sqlite:///...`` or ``postgresql://...`` into an engine URL;
``make_engine`` adds what each backend needs (SQLite: WAL, busy timeout, BEGIN IMMEDIATE for
writers so two writers queue instead of failing; PostgreSQL: psycopg 3). All tables are declared
once in ``METADATA``; SQL is the portable subset (ON CONFLICT upserts, LIKE with ESCAPE), and
timestamps are ISO 8601 UTC strings with microseconds, which sort correctly as text on both.

The guide table: one row per 事项. Catalogue fields are columns; the rest of the 办事指南 is one
JSON column (``detail``, shaped like contract.models.GuideDetail) so new guide fields need no
migration; hand-written everyday ``keywords`` and ``popularity`` (from the cases) go to kiosks
with the guide. Searching is not done here: central/search.py indexes the change feed exactly as
a kiosk does. Deleted items leave a tombstone for incremental sync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
)
from sqlalchemy import text as sql

from contract.textkeys import normalise, pinyin_syllables  # noqa: F401 (re-exported)

log = logging.getLogger("central.db")

SCHEMA_VERSION = 3
_OLD_SEARCH_COLUMNS = {"search_name", "search_code", "name_pinyin", "name_initials", "keywords_pinyin",
                       "keywords_initials", "pinyin_starts"}
# Part of every row's content hash: bumping it makes the next seed rewrite (and re-stamp) every row.
CONTENT_VERSION = 2

METADATA = MetaData()

GUIDES = Table(
    "guides", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_code", Text, nullable=False, unique=True),  # opaque, never parsed
    Column("name", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("main_item", Text, nullable=False, server_default=""),
    Column("task_type", Text, nullable=False, server_default=""),
    Column("area_code", Text, nullable=False, server_default=""),
    Column("link", Text, nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default="{}"),  # JSON, models.GuideDetail
    Column("detail_complete", Integer, nullable=False, server_default="0"),
    Column("keywords", Text, nullable=False, server_default=""),  # ' 社保 参保证明 ' (normalised)
    # bit length of the item's cases over the last year (set_popularity); ranks equal search results
    Column("popularity", Integer, nullable=False, server_default="0"),
    Column("content_hash", Text, nullable=False),  # unchanged content keeps its updated_at
    Column("updated_at", Text, nullable=False),  # ISO 8601 UTC of the last content change
    Index("guides_department", "department"),
    Index("guides_updated", "updated_at", "item_code"),
)
GUIDE_TOMBSTONES = Table(
    "guide_tombstones", METADATA,
    Column("item_code", Text, primary_key=True),
    Column("deleted_at", Text, nullable=False),
)
META = Table("meta", METADATA, Column("key", Text, primary_key=True), Column("value", Text, nullable=False))

# -- the rest of the platform (central/platform.py) -----------------------------------------------
TERMINALS = Table(
    "terminals", METADATA,
    Column("terminal_id", Text, primary_key=True),
    Column("secret", Text, nullable=False),
    Column("name", Text, nullable=False, server_default=""),
    Column("hall", Text, nullable=False, server_default=""),
    Column("version", Text, nullable=False, server_default=""),
    Column("registered_at", Text),
    Column("last_heartbeat", Text),
    Column("outbox_depth", Integer, nullable=False, server_default="0"),
    Column("devices", Text, nullable=False, server_default="[]"),  # JSON list of DeviceStatus
)
SEEN_SIGNATURES = Table(
    "seen_signatures", METADATA,
    Column("signature", Text, primary_key=True),
    Column("terminal_id", Text, nullable=False),
    Column("seen_at", Integer, nullable=False),  # the request's own X-Timestamp: purged by it
)
TERMINAL_COMMANDS = Table(
    "terminal_commands", METADATA,
    Column("command_id", Integer, primary_key=True, autoincrement=True),
    Column("terminal_id", Text, nullable=False, index=True),
    Column("command", Text, nullable=False),
    Column("args", Text, nullable=False, server_default="{}"),
    Column("created_at", Text, nullable=False),
    Column("delivered_at", Text),  # first carried by a heartbeat answer
    Column("acked_at", Text),
    Column("ok", Integer),  # the terminal's result: 1 done, 0 failed, NULL none (yet, or acked without one)
    Column("result", Text, nullable=False, server_default=""),
)
PERSON_TOKENS = Table(
    "person_tokens", METADATA,
    Column("token_hash", Text, primary_key=True),  # sha256 of the token: a leaked DB leaks no token
    Column("terminal_id", Text, nullable=False),
    Column("id_number", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("expires_at", Integer, nullable=False),
)
CASES = Table(
    "cases", METADATA,
    Column("case_no", Text, primary_key=True),
    Column("item_code", Text, nullable=False),
    Column("item_name", Text, nullable=False),
    Column("id_number", Text, nullable=False, index=True),
    Column("applicant_name", Text, nullable=False),
    Column("terminal_id", Text, nullable=False),
    Column("terminal_ref", Text, nullable=False, server_default=""),  # unique per terminal when set
    Column("body", Text, nullable=False),  # the CaseSubmission as JSON
    Column("path", Text, nullable=False),  # the back office's plan for this case (backoffice.PATHS)
    Column("step", Integer, nullable=False, server_default="0"),  # position in the plan
    Column("state", Text, nullable=False),
    Column("state_since", Text, nullable=False),
    Column("result", Text),
    Column("supplement", Text),  # JSON SupplementRequest while 补正 is pending
    Column("promised_by", Text),
    Column("evaluated", Integer, nullable=False, server_default="0"),
    Column("rating_code", Text),  # one rating of this case without the applicant's token
    Column("submitted_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)
CASE_EVENTS = Table(
    "case_events", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", Text, nullable=False, index=True),
    Column("state", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
)
IDEMPOTENCY = Table(
    "idempotency", METADATA,
    Column("terminal_id", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("kind", Text, nullable=False),  # case | supplement | evaluation
    # Who may repeat the request: sha256 of the person's ID number (or of a rating code); ''
    # for a call about no one; NULL in rows from before scopes (checked against the case owner).
    Column("scope", Text),
    Column("request_hash", Text, nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)
CERTIFICATES = Table(
    "certificates", METADATA,
    Column("cert_id", Text, primary_key=True),
    Column("id_number", Text, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("number", Text, nullable=False),
    Column("issuer", Text, nullable=False),
    Column("issued_at", Text, nullable=False),
    Column("valid_until", Text),
)
PROOFS = Table(
    "proofs", METADATA,
    Column("verification_code", Text, primary_key=True),
    Column("cert_id", Text, nullable=False),
    Column("issued_at", Text, nullable=False),
    Column("valid_until", Text, nullable=False),
)
EVALUATIONS = Table(
    "evaluations", METADATA,
    Column("evaluation_id", Text, primary_key=True),
    Column("terminal_id", Text, nullable=False),
    Column("case_no", Text),
    Column("item_code", Text, nullable=False, server_default=""),
    Column("level", Integer, nullable=False),
    Column("scores", Text, nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("flagged", Integer, nullable=False),
    Column("follow_up_due", Text),
    Column("created_at", Text, nullable=False),
)
QUEUE_TICKETS = Table(
    "queue_tickets", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("terminal_id", Text, nullable=False),
    Column("issued_at", Text, nullable=False),
    Column("called", Integer, nullable=False, server_default="0"),
    UniqueConstraint("day", "service", "seq"),
)


def database_url(db: str | Path) -> str:
    """A file path or a sqlite/postgresql URL as an SQLAlchemy URL (postgresql uses psycopg 3)."""
    db = str(db)
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).resolve()}"


def make_engine(db: str | Path) -> Engine:
    url = database_url(db)
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            private_sqlite_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows (person tokens with names and ID numbers) are overwritten with zeros,
            # not left readable in free pages of the file.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the write lock up front: a deferred transaction that upgrades later
            # fails at once with "database is locked" instead of waiting.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        return engine
    # A busy worker keeps its connections: with 5 kept and 10 more opened and closed on demand,
    # every request beyond 5 at a time paid for a new PostgreSQL backend (bench/FLEET.md). 15 + 5
    # per worker process stays under PostgreSQL's default 100 connections with 4 workers.
    return create_engine(url, pool_pre_ping=True, pool_size=15, max_overflow=5)


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (it holds names and ID numbers), and
    tighten one made earlier. SQLite gives its -wal, -shm and -journal files the mode of the
    database file; existing ones are tightened here too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for side in ("", "-wal", "-shm", "-journal"):
        p = Path(f"{path}{side}")
        if p.exists():
            os.chmod(p, 0o600)


_ENGINES: dict[str, Engine] = {}


def shared_engine(db: str | Path | Engine) -> Engine:
    """One engine (pool) per database for the process: GuideStore and PlatformStore share it."""
    if isinstance(db, Engine):
        return db
    url = database_url(db)
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(db)
    return _ENGINES[url]


def init_schema(engine: Engine) -> None:
    """Create missing tables; refuse a newer schema; rebuild a v1 guide table (it is seed data)."""
    insp = inspect(engine)
    tables = set(insp.get_table_names())
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        if "meta" in tables:
            row = conn.execute(sql("SELECT value FROM meta WHERE key = 'schema_version'")).fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise RuntimeError(f"{engine.url}: database schema {row[0]} is newer than this code "
                                   f"({SCHEMA_VERSION})")
        elif "guides" in tables and "pinyin_starts" not in {c["name"] for c in insp.get_columns("guides")}:
            log.warning("%s: guide table of schema 1 dropped; it is reseeded from the catalogue", engine.url)
            conn.execute(sql("DROP TABLE guides"))
            tables.discard("guides")
        if "guides" in tables:  # schema 2 kept search columns; the search index has them now
            have = {c["name"] for c in insp.get_columns("guides")}
            for column in _OLD_SEARCH_COLUMNS & have:
                conn.execute(sql(f"ALTER TABLE guides DROP COLUMN {column}"))
        for table, column, ddl in (("cases", "terminal_ref", "TEXT NOT NULL DEFAULT ''"),
                                   ("idempotency", "scope", "TEXT"), ("cases", "rating_code", "TEXT"),
                                   ("guides", "popularity", "INTEGER NOT NULL DEFAULT 0"),
                                   ("terminal_commands", "delivered_at", "TEXT"),
                                   ("terminal_commands", "ok", "INTEGER"),
                                   ("terminal_commands", "result", "TEXT NOT NULL DEFAULT ''")):
            if table in tables and column not in {c["name"] for c in insp.get_columns(table)}:
                conn.execute(sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))
        METADATA.create_all(conn)
        conn.execute(sql("CREATE UNIQUE INDEX IF NOT EXISTS cases_terminal_ref ON cases (terminal_id, terminal_ref) "
                         "WHERE terminal_ref <> ''"))
        conn.execute(sql("CREATE INDEX IF NOT EXISTS cases_ref ON cases (terminal_ref)"))
        # The purge of old signatures (every minute, inside a request: central.platform) finds them
        # by time; without it, it read the whole table, some 60,000 rows for 2,000 terminals.
        conn.execute(sql("CREATE INDEX IF NOT EXISTS seen_signatures_seen_at ON seen_signatures (seen_at)"))
        conn.execute(sql("INSERT INTO meta (key, value) VALUES ('schema_version', :v) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value"), {"v": str(SCHEMA_VERSION)})


_SUMMARY_COLUMNS = "item_code, name, department, main_item, task_type, detail_complete"








def _keyword_tokens(keywords: Iterable[str]) -> list[str]:
    return [t for t in (normalise(k) for k in keywords) if t]


def _delimited(tokens: Iterable[str]) -> str:
    tokens = [t for t in tokens if t]
    return f" {' '.join(tokens)} " if tokens else ""


def content_hash(row: dict[str, Any]) -> str:
    """Hash of everything a seed writes for one item (not the derived search keys)."""
    payload = {k: row.get(k) for k in ("item_code", "name", "department", "main_item", "task_type",
                                       "area_code", "link", "detail", "keywords")}
    payload["_v"] = CONTENT_VERSION
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()




def iso(t: dt.datetime | float) -> str:
    """The one timestamp format stored: UTC, microseconds, so text order is time order."""
    if not isinstance(t, dt.datetime):
        t = dt.datetime.fromtimestamp(t, dt.UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _utc_now() -> str:
    return iso(dt.datetime.now(dt.UTC))



class GuideStore:
    """The guide catalogue in a SQLite file or a PostgreSQL database (``db``: path, URL or Engine).

    Safe from many threads: every call takes a pooled connection for one transaction.
    """

    def __init__(self, db: str | Path | Engine):
        self.engine = shared_engine(db)
        self.path = Path(db) if isinstance(db, (str, Path)) and "://" not in str(db) else None
        init_schema(self.engine)

    def _read(self):
        return _Tx(self.engine, write=False)

    def _write(self):
        return _Tx(self.engine, write=True)

    # -- writing ---------------------------------------------------------------------------
    def hashes(self) -> dict[str, str]:
        with self._read() as conn:
            return {r[0]: r[1] for r in conn.execute(sql("SELECT item_code, content_hash FROM guides"))}

    def upsert(self, rows: Iterable[dict[str, Any]], now: str | None = None) -> int:
        """Insert or update items (dicts with the catalogue fields, ``detail`` as a dict and
        ``keywords`` as a list). Rows whose content is unchanged are left alone, so updated_at
        only moves when something a kiosk would show has changed. Returns the rows written."""
        known = self.hashes()
        now = now or _utc_now()
        records = []
        for row in rows:
            h = content_hash(row)
            if known.get(row["item_code"]) == h:
                continue
            tokens = _keyword_tokens(row.get("keywords") or [])
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
                "content_hash": h,
                "updated_at": now,
            })
        if not records:
            return 0
        cols = list(records[0])
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "item_code")
        stmt = (f"INSERT INTO guides ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
                f"ON CONFLICT (item_code) DO UPDATE SET {updates} "
                f"WHERE guides.content_hash <> excluded.content_hash")
        with self._write() as conn:
            conn.execute(sql(stmt), records)
            conn.execute(sql("DELETE FROM guide_tombstones WHERE item_code = :c"),
                         [{"c": r["item_code"]} for r in records])
        return len(records)

    def delete(self, item_codes: Iterable[str], now: str | None = None) -> int:
        """Remove items, leaving tombstones so incremental sync tells kiosks to drop them."""
        now = now or _utc_now()
        n = 0
        with self._write() as conn:
            for code in item_codes:
                if conn.execute(sql("DELETE FROM guides WHERE item_code = :c"), {"c": code}).rowcount:
                    n += 1
                    conn.execute(sql("INSERT INTO guide_tombstones (item_code, deleted_at) VALUES (:c, :t) "
                                     "ON CONFLICT (item_code) DO UPDATE SET deleted_at = excluded.deleted_at"),
                                 {"c": code, "t": now})
        return n

    # -- reading ---------------------------------------------------------------------------
    def count(self) -> int:
        with self._read() as conn:
            return conn.execute(sql("SELECT COUNT(*) FROM guides")).scalar_one()

    def browse(self, limit: int = 20, offset: int = 0, department: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """(total, one page of summaries) of the catalogue, or of one department: items with a
        full guide first (the common ones), then catalogue order, which groups items by
        department. Searching is central.search's."""
        where, params = "", {"limit": limit, "offset": offset}
        if department:
            where, params["department"] = "WHERE department = :department", department
        with self._read() as conn:
            total = conn.execute(sql(f"SELECT COUNT(*) FROM guides {where}"), params).scalar_one()
            rows = conn.execute(sql(f"SELECT {_SUMMARY_COLUMNS} FROM guides {where} "
                                    "ORDER BY detail_complete DESC, id LIMIT :limit OFFSET :offset"),
                                params).mappings().all()
        return total, [_summary(r) for r in rows]

    def set_popularity(self, counts: dict[str, int], now: str | None = None) -> int:
        """Store each item's popularity (the bit length of its case count, 0 for items not in
        ``counts``); only items whose value changes are touched, and their updated_at moves so
        kiosks fetch the new order. Returns how many changed."""
        now = now or _utc_now()
        with self._write() as conn:
            current = dict(conn.execute(sql("SELECT item_code, popularity FROM guides")).all())
            changed = [{"c": code, "p": p, "t": now} for code, old in current.items()
                       if (p := min(63, int(counts.get(code, 0)).bit_length())) != old]
            if changed:
                conn.execute(sql("UPDATE guides SET popularity = :p, updated_at = :t WHERE item_code = :c"), changed)
        return len(changed)

    def get(self, item_code: str) -> dict[str, Any] | None:
        """The full guide as a flat dict (catalogue fields + detail fields), or None."""
        with self._read() as conn:
            rows = self._full(conn, [item_code])
        return rows[0] if rows else None

    @staticmethod
    def _full(conn, item_codes: list[str]) -> list[dict[str, Any]]:
        if not item_codes:
            return []
        marks = ", ".join(f":c{i}" for i in range(len(item_codes)))
        rows = conn.execute(sql(
            f"SELECT {_SUMMARY_COLUMNS}, area_code, link, detail, keywords, popularity, updated_at FROM guides "
            f"WHERE item_code IN ({marks}) ORDER BY updated_at, item_code"),
            {f"c{i}": c for i, c in enumerate(item_codes)}).mappings().all()
        return [{**json.loads(r["detail"]), **_summary(r), "area_code": r["area_code"], "link": r["link"],
                 "keywords": r["keywords"].split(), "popularity": r["popularity"], "updated_at": r["updated_at"]}
                for r in rows]

    def changes(self, since: str, after: str = "", limit: int = 200) -> dict[str, Any]:
        """Guides changed and items deleted after the cursor (``since``, ``after``) in
        (updated_at, item_code) order - keyset paging, so a seed that stamps 1,135 rows with the
        same instant still pages correctly. The cursor is inclusive of ``since`` when ``after``
        is empty."""
        params = {"since": since, "after": after, "limit": limit + 1}
        cond = "t > :since OR (t = :since AND code > :after)" if after else "t >= :since"
        with self._read() as conn:
            rows = conn.execute(sql(
                "SELECT code, t, gone FROM ("
                " SELECT item_code AS code, updated_at AS t, 0 AS gone FROM guides"
                " UNION ALL SELECT item_code, deleted_at, 1 FROM guide_tombstones) AS c "
                f"WHERE {cond} ORDER BY t, code LIMIT :limit"), params).all()
            more = len(rows) > limit
            rows = rows[:limit]
            guides = self._full(conn, [r[0] for r in rows if not r[2]])
        deleted = [r[0] for r in rows if r[2]]
        if rows:
            next_since, next_after = rows[-1][1], rows[-1][0]
        else:
            next_since, next_after = since, after
        return {"guides": guides, "deleted": deleted, "next_since": next_since, "next_after": next_after,
                "more": more}

    def departments(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(sql("SELECT department, COUNT(*) AS n FROM guides GROUP BY department "
                                    "ORDER BY n DESC, department")).all()
        return [{"name": r[0], "count": r[1]} for r in rows]


class _Tx:
    """``with _Tx(engine, write) as conn``: one transaction, committed on success, rolled back on
    error. ``write`` makes SQLite take its write lock at BEGIN (see make_engine)."""

    def __init__(self, engine: Engine, write: bool):
        self.engine, self.write = engine, write

    def __enter__(self):
        self.conn = self.engine.connect()
        if self.write:
            self.conn.execution_options(write=True)
        self.tx = self.conn.begin()
        return self.conn

    def __exit__(self, exc_type, *_):
        try:
            if exc_type is None:
                self.tx.commit()
            else:
                self.tx.rollback()
        finally:
            self.conn.close()


def _summary(row) -> dict[str, Any]:
    return {"item_code": row["item_code"], "name": row["name"], "department": row["department"],
            "main_item": row["main_item"], "task_type": row["task_type"],
            "detail_complete": bool(row["detail_complete"])}
