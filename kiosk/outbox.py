"""The durable outbox: submissions and ratings reach the platform exactly once, network or not.

An item is committed (SQLite WAL, synchronous=FULL, file mode 0600) before the caller prints a
receipt or says "submitted". Its idempotency key and terminal reference are made once, at enqueue,
and every attempt sends the same key and the same body, so the platform turns any resend - after a
timeout, a cut answer, a crash or a power cut - into the original resource. The terminal reference
(``DEMO-0001-20261122-0001``) is printed on an offline receipt; the platform stores it with the
case and answers GET /cases/{ref}, so the citizen can follow the case before the kiosk learns its
case number.

Person tokens last 15 minutes and a case may wait hours, so a case item keeps the applicant's ID
number and name (the one place personal data is written to disk) and the sender asks for a fresh
token at send time. Once delivered, the body and the person are wiped: what remains is the key,
the reference and the case number.

States: ``pending`` → ``delivered`` (a 2xx answer) or ``failed`` (the platform rejected the item
itself). Only the platform's own word makes an item fail: a 4xx answer that carries the contract's
error body (``{"error": {"code": ...}}``). A bare 404 from a proxy during a deploy, a wrong URL
prefix, an HTML error page, no network, timeouts, 5xx, malformed answers, 401 clock or credential
trouble: all transient, retried with exponential backoff. Staff see failed items in ``kiosk outbox
status`` and may send them again (``kiosk outbox retry``) or give them up (``kiosk outbox discard``:
``discarded``, audit-logged). A failed item keeps the person's data for ``failed_retention_days``
so staff can retry it; after that the data is dropped (the row stays, as a record). Nothing
undelivered is deleted.

A case's receipt is committed in the same transaction as the case (table ``receipts``, masked
data only): see kiosk.receipts for how a restart prints the receipt the citizen did not get.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.models import CaseSubmission, EvaluationSubmission, SupplementSubmission
from kiosk.central_client import CentralClient, CentralError, person_session
from kiosk.durable_db import open_durable

log = logging.getLogger("kiosk.outbox")

KINDS = ("case", "evaluation", "supplement")
MAX_BACKOFF_S = 300.0
# Answers about the item itself, when the platform says so in its own error body: resending the
# same request can only get the same answer.
PERMANENT_STATUS = (400, 403, 404, 409, 413, 422)
# ... except these, which say the request went to the wrong place or came at a bad time.
TRANSIENT_CODES = ("no_such_route", "method_not_allowed", "busy", "http_error")
FAILED_RETENTION_S = 30 * 86400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    terminal_ref TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,            -- the request JSON; '' once delivered
    person TEXT,                   -- {"id_number", "name"} for cases and supplements; NULL once delivered
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    result_id TEXT NOT NULL DEFAULT '',   -- case number / evaluation id once known
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_due ON items (state, next_try);
CREATE TABLE IF NOT EXISTS receipts (
    terminal_ref TEXT PRIMARY KEY,  -- the case item's
    data TEXT NOT NULL,             -- what the slip says (kiosk.receipts); the applicant masked
    state TEXT NOT NULL DEFAULT 'waiting',  -- waiting | queued | kept | refused
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""
RECEIPT_STATES = ("waiting", "queued", "kept", "refused")
_COLS = ("seq, kind, idem_key, terminal_ref, body, person, state, attempts, next_try, last_error, result_id, "
         "created, updated")


@dataclass(frozen=True)
class Item:
    seq: int
    kind: str
    idem_key: str
    terminal_ref: str
    body: dict[str, Any]
    person: dict[str, str] | None
    state: str
    attempts: int
    next_try: float
    last_error: str
    result_id: str
    created: float
    updated: float

    @property
    def case_number(self) -> str:
        return self.result_id if self.kind == "case" else ""


def _item(row) -> Item:
    r = list(row)
    r[4] = json.loads(r[4]) if r[4] else {}
    r[5] = json.loads(r[5]) if r[5] else None
    return Item(*r)


class Outbox:
    """The item table. Every change is committed and fsync'd before the call returns."""

    def __init__(self, path: str | Path, terminal_id: str, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.terminal_id = terminal_id
        self.clock = clock
        self._lock = threading.Lock()
        # A committed item survives a power cut; wiped bodies and dropped persons are overwritten on disk.
        self._conn = open_durable(self.path, secure_delete=True)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    # -- enqueue ----------------------------------------------------------------------------
    def enqueue_case(self, submission: CaseSubmission, id_number: str, name: str,
                     receipt: dict[str, Any] | None = None) -> Item:
        """Commit a case and, in the same transaction, its receipt (``receipt``: masked data only);
        the returned item's terminal_ref goes on the receipt."""
        return self._enqueue("case", submission.model_dump(mode="json"), {"id_number": id_number, "name": name},
                             ref_field=True, receipt=receipt)

    def enqueue_evaluation(self, evaluation: EvaluationSubmission, id_number: str = "", name: str = "",
                           rating_code: str = "") -> Item:
        """A rating of a case needs the applicant (a token is asked for at send time) or the case's
        rating code; a rating of the hall's service neither."""
        person = ({"id_number": id_number, "name": name} if id_number
                  else {"rating_code": rating_code} if rating_code else None)
        return self._enqueue("evaluation", evaluation.model_dump(mode="json"), person)

    def enqueue_supplement(self, case_no: str, supplement: SupplementSubmission, id_number: str,
                           name: str) -> Item:
        body = {"case_no": case_no, **supplement.model_dump(mode="json")}
        return self._enqueue("supplement", body, {"id_number": id_number, "name": name})

    def _enqueue(self, kind: str, body: dict[str, Any], person: dict[str, str] | None,
                 ref_field: bool = False, receipt: dict[str, Any] | None = None) -> Item:
        now = self.clock()
        day = dt.datetime.fromtimestamp(now).strftime("%Y%m%d")
        prefix = f"{self.terminal_id}-{day}-"
        key = uuid.uuid4().hex
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                n = self._conn.execute("SELECT COUNT(*) FROM items WHERE terminal_ref LIKE ? || '%'",
                                       (prefix,)).fetchone()[0]
                ref = f"{prefix}{n + 1:04d}"
                if ref_field:
                    body = {**body, "terminal_ref": ref}
                cur = self._conn.execute(
                    "INSERT INTO items (kind, idem_key, terminal_ref, body, person, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, key, ref, json.dumps(body, ensure_ascii=False, sort_keys=True),
                     json.dumps(person, ensure_ascii=False) if person else None, now, now))
                if receipt is not None:
                    self._conn.execute("INSERT INTO receipts (terminal_ref, data, created, updated) "
                                       "VALUES (?, ?, ?, ?)",
                                       (ref, json.dumps(receipt, ensure_ascii=False), now, now))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return self.get(cur.lastrowid)

    # -- reading ----------------------------------------------------------------------------
    def get(self, seq: int) -> Item:
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLS} FROM items WHERE seq = ?", (seq,)).fetchone()
        return _item(row)

    def by_ref(self, terminal_ref: str) -> Item | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLS} FROM items WHERE terminal_ref = ?", (terminal_ref,)).fetchone()
        return _item(row) if row else None

    def find(self, ref_or_number: str) -> Item | None:
        """By terminal reference or by the case number the platform gave (what staff read off a slip)."""
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLS} FROM items WHERE terminal_ref = ? OR "
                                     "(result_id = ? AND result_id != '') ORDER BY seq LIMIT 1",
                                     (ref_or_number, ref_or_number)).fetchone()
        return _item(row) if row else None

    def items(self, *states: str) -> list[Item]:
        q = f"SELECT {_COLS} FROM items"
        if states:
            q += f" WHERE state IN ({', '.join('?' for _ in states)})"
        with self._lock:
            return [_item(r) for r in self._conn.execute(q + " ORDER BY seq", states).fetchall()]

    def depth(self) -> int:
        """Items still to deliver (for the heartbeat and the status bar)."""
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM items WHERE state = 'pending'").fetchone()[0]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())

    def due(self, now: float | None = None, limit: int = 20) -> list[Item]:
        now = self.clock() if now is None else now
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLS} FROM items WHERE state = 'pending' AND next_try <= ? "
                                      "ORDER BY seq LIMIT ?", (now, limit)).fetchall()
        return [_item(r) for r in rows]

    # -- outcomes ---------------------------------------------------------------------------
    def delivered(self, seq: int, result_id: str) -> None:
        """Done: keep key, reference and result; wipe the body and the person."""
        self._write("UPDATE items SET state = 'delivered', result_id = ?, body = '', person = NULL, last_error = '', "
                    "attempts = attempts + 1, updated = ? WHERE seq = ?", (result_id, self.clock(), seq))

    def failed(self, seq: int, error: str) -> None:
        self._write("UPDATE items SET state = 'failed', last_error = ?, attempts = attempts + 1, updated = ? "
                    "WHERE seq = ?", (error, self.clock(), seq))

    def retry_later(self, seq: int, error: str, base: float = 1.0) -> float:
        """Back off exponentially (with jitter) from the item's attempt count; returns the delay."""
        with self._lock:
            attempts = self._conn.execute("SELECT attempts FROM items WHERE seq = ?", (seq,)).fetchone()[0] + 1
            delay = min(MAX_BACKOFF_S, base * 2 ** min(attempts - 1, 16)) * random.uniform(0.75, 1.25)
            now = self.clock()
            self._conn.execute("UPDATE items SET attempts = ?, next_try = ?, last_error = ?, updated = ? "
                               "WHERE seq = ?", (attempts, now + delay, error, now, seq))
        return delay

    def retry_now(self) -> int:
        """Staff "send now": every pending item is due again."""
        return self._write("UPDATE items SET next_try = 0 WHERE state = 'pending'").rowcount

    def purge_delivered(self, older_than_s: float = 30 * 86400) -> int:
        with self._lock:
            n = self._conn.execute("DELETE FROM items WHERE state = 'delivered' AND updated < ?",
                                   (self.clock() - older_than_s,)).rowcount
            self._conn.execute("DELETE FROM receipts WHERE terminal_ref NOT IN (SELECT terminal_ref FROM items)")
        return n

    # -- staff --------------------------------------------------------------------------------
    def retry(self, seq: int) -> None:
        """Staff: a failed item is sent again at once (ValueError if its data is gone)."""
        item = self.get(seq)
        if item.state != "failed":
            raise ValueError(f"{item.terminal_ref} is {item.state}, not failed")
        if not item.body or (item.kind != "evaluation" and item.person is None):
            raise ValueError(f"{item.terminal_ref}: its data was dropped after the retention time; "
                             "it cannot be sent again")
        self._write("UPDATE items SET state = 'pending', next_try = 0, attempts = 0, updated = ? "
                    "WHERE seq = ? AND state = 'failed'", (self.clock(), seq))

    def discard(self, seq: int, why: str) -> None:
        """Staff: give up a pending or failed item for good; its body and person are wiped."""
        item = self.get(seq)
        if item.state not in ("pending", "failed"):
            raise ValueError(f"{item.terminal_ref} is {item.state}: only pending or failed items can be discarded")
        with self._lock:
            self._conn.execute("UPDATE items SET state = 'discarded', body = '', person = NULL, last_error = ?, "
                               "updated = ? WHERE seq = ?", (why, self.clock(), seq))
            self._scrub_wal()

    def _scrub_wal(self) -> None:
        """secure_delete overwrites the database pages; the write-ahead log still holds the old
        versions of them until it is checkpointed and truncated."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def expire_failed(self, older_than_s: float = FAILED_RETENTION_S) -> list[Item]:
        """Drop the person's data of items that failed longer ago than ``older_than_s`` (the row stays)."""
        cutoff = self.clock() - older_than_s
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLS} FROM items WHERE state = 'failed' AND updated < ? "
                                      "AND (person IS NOT NULL OR body != '')", (cutoff,)).fetchall()
            for row in rows:
                self._conn.execute("UPDATE items SET body = '', person = NULL, last_error = last_error || ? "
                                   "WHERE seq = ?", (" [data dropped after the retention time]", row[0]))
            if rows:
                self._scrub_wal()
        expired = [_item(r) for r in rows]
        for item in expired:
            log.warning("outbox %s (%s) failed %.0f days ago: the person's data is dropped; the record stays",
                        item.terminal_ref, item.kind, (self.clock() - item.updated) / 86400)
        return expired

    # -- receipts -------------------------------------------------------------------------------
    def receipt(self, terminal_ref: str) -> tuple[dict[str, Any], str, float] | None:
        """(data, state, created) of a case's receipt."""
        with self._lock:
            row = self._conn.execute("SELECT data, state, created FROM receipts WHERE terminal_ref = ?",
                                     (terminal_ref,)).fetchone()
        return (json.loads(row[0]), row[1], row[2]) if row else None

    def receipts(self, *states: str) -> list[tuple[str, str, float]]:
        """(terminal_ref, state, created), oldest first."""
        q = "SELECT terminal_ref, state, created FROM receipts"
        if states:
            q += f" WHERE state IN ({', '.join('?' for _ in states)})"
        with self._lock:
            return [tuple(r) for r in self._conn.execute(q + " ORDER BY created, terminal_ref", states)]

    def set_receipt_state(self, terminal_ref: str, state: str) -> None:
        assert state in RECEIPT_STATES, state
        self._write("UPDATE receipts SET state = ?, updated = ? WHERE terminal_ref = ?",
                    (state, self.clock(), terminal_ref))


def deliver(client: CentralClient, item: Item) -> str:
    """Send one item with its key; returns the case number / evaluation id (CentralError if not).

    A person token asked for here lives for this call only (``person_session``), so the platform
    does not keep the identity for the token's remaining lifetime."""
    person = item.person or {}
    with ExitStack() as stack:
        token = (stack.enter_context(person_session(client, person["id_number"], person["name"]))
                 if "id_number" in person else None)
        if item.kind == "case":
            return client.submit_case(token, CaseSubmission.model_validate(item.body), item.idem_key).case_no
        if item.kind == "evaluation":
            return client.evaluate(EvaluationSubmission.model_validate(item.body), item.idem_key, person_token=token,
                                   rating_code=person.get("rating_code")).evaluation_id
        if item.kind == "supplement":
            body = dict(item.body)
            case_no = body.pop("case_no")
            sub = SupplementSubmission.model_validate(body)
            return client.submit_supplement(token, case_no, sub.materials, sub.note, item.idem_key).case_no
        raise ValueError(f"unknown outbox kind {item.kind!r}")


def is_permanent(exc: CentralError) -> bool:
    """The platform itself refused the item: a contract error body, not just a status code."""
    return exc.from_platform and exc.status in PERMANENT_STATUS and exc.code not in TRANSIENT_CODES


def send_due(outbox: Outbox, client: CentralClient, base_backoff: float = 1.0, limit: int = 20) -> dict[str, int]:
    """One pass over the due items, oldest first. Stops at the first transient failure: if the
    platform is unreachable for one item it is for the next, and order is kept."""
    out = {"delivered": 0, "failed": 0, "retry": 0}
    for item in outbox.due(limit=limit):
        try:
            result = deliver(client, item)
        except CentralError as exc:
            if is_permanent(exc):
                log.error("outbox %s (%s) rejected by the platform: %s", item.terminal_ref, item.kind, exc.message)
                outbox.failed(item.seq, f"{exc.code}: {exc.message}")
                out["failed"] += 1
                continue
            delay = outbox.retry_later(item.seq, f"{exc.code}: {exc.message}", base_backoff)
            log.warning("outbox %s not sent (%s); next try in %.0f s", item.terminal_ref, exc.code, delay)
            out["retry"] += 1
            break
        outbox.delivered(item.seq, result)
        out["delivered"] += 1
    return out


class Sender:
    """A daemon thread that delivers due items; ``wake()`` after an enqueue sends at once."""

    def __init__(self, outbox: Outbox, client: CentralClient, idle_s: float = 5.0, base_backoff: float = 1.0,
                 failed_retention_s: float = FAILED_RETENTION_S):
        self.outbox, self.client = outbox, client
        self.idle_s, self.base_backoff = idle_s, base_backoff
        self.failed_retention_s = failed_retention_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        # Rounds that delivered something: the UI looks every frame, so a citizen waiting on the
        # "sending" page sees the case number in the frame after it came, not at the next tick.
        self.rounds_delivered = 0

    def start(self) -> Sender:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> Sender:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.outbox.expire_failed(self.failed_retention_s)
                sent = send_due(self.outbox, self.client, self.base_backoff)
            except Exception:  # a bug must not end delivery for the rest of the day
                log.exception("outbox sender crashed; retrying")
                sent = {"delivered": 0}
            if sent["delivered"]:
                self.rounds_delivered += 1
            if sent["delivered"] and self.outbox.due(limit=1):
                continue
            self._wake.wait(self._next_wait())
            self._wake.clear()

    def _next_wait(self) -> float:
        with self.outbox._lock:
            row = self.outbox._conn.execute("SELECT MIN(next_try) FROM items WHERE state = 'pending'").fetchone()
        if row[0] is None:
            return self.idle_s
        return max(0.05, min(self.idle_s, row[0] - self.outbox.clock()))


def default_path(var_dir: str | Path) -> Path:
    return Path(var_dir) / "outbox.db"
