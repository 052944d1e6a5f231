"""Durable print jobs: a slip the citizen was promised is never lost and never printed twice unmarked.

A job is committed to SQLite (WAL, synchronous=FULL, file mode 0600: slips carry masked personal
data) before anything reaches the printer, and keeps one id for all its attempts. The dispatcher
runs on the shell's tick; at most one job per printer is in flight.

States: ``queued`` (waiting; ``blocked`` says why it last could not print) → ``printing`` (sent)
→ ``done`` or ``failed`` (the document itself is bad). ``held``: the printer stopped mid-job
(paper end, cover opened) and holds the rest in its buffer; resending would print it twice, so once
the printer can print again we send an empty *barrier* job, whose confirmation (``GS r 1`` on
ESC/POS) proves everything before it, the held slip included, has been printed.

Outcome unknown (the app died while a job was ``printing`` or ``held``, the data transfer timed
out, the device never answered the request): the job is printed again headed by a "补打 REPRINT"
mark. The citizen never loses a slip; a possible duplicate is visibly a duplicate.

Done jobs are kept only while they are the printer's last one (staff may reprint it) and for at
most ``keep_done_s``; everything else is deleted.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from devices.events import Event, RequestDone, StatusChanged
from devices.printdoc import Document, Text, from_json, to_json
from devices.status import DeviceState
from kiosk.durable_db import open_durable

BARRIER = Document(kind="barrier")


class JobState(StrEnum):
    QUEUED = "queued"
    PRINTING = "printing"
    HELD = "held"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    id: str
    printer: str
    document: Document
    state: JobState
    attempts: int = 0
    reprint: bool = False  # print it headed by the reprint mark
    blocked: str = ""  # error code of the last attempt that could not print
    error_zh: str = ""  # what the citizen was last told, when blocked or failed
    created: float = 0.0
    updated: float = 0.0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    printer TEXT NOT NULL,
    document TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reprint INTEGER NOT NULL DEFAULT 0,
    blocked TEXT NOT NULL DEFAULT '',
    error_zh TEXT NOT NULL DEFAULT '',
    not_before REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
)"""
_COLUMNS = "id, printer, document, state, attempts, reprint, blocked, error_zh, created, updated"


class PrintQueue:
    """The job table. Every change is committed (fsync'd) before the call returns."""

    def __init__(self, path: str | Path, clock=time.time, keep_done_s: float = 900.0):
        self.path = Path(path)
        self.clock = clock
        self.keep_done_s = keep_done_s
        # Deleted slips (masked personal data) are overwritten; the CLI may add a reprint while the kiosk runs.
        self.db = open_durable(self.path, secure_delete=True, timeout=5.0)
        self.db.execute(_SCHEMA)
        self.recovered = self._recover()

    def close(self) -> None:
        self.db.close()

    def _recover(self) -> list[str]:
        """Jobs the last run left printing or held have an unknown outcome: print them again, marked."""
        rows = self.db.execute("SELECT id FROM jobs WHERE state IN ('printing', 'held')").fetchall()
        self.db.execute("UPDATE jobs SET state='queued', reprint=1, not_before=0, updated=? "
                        "WHERE state IN ('printing', 'held')", (self.clock(),))
        return [r[0] for r in rows]

    def add(self, document: Document, printer: str, job_id: str | None = None, reprint: bool = False) -> Job:
        """Commit a new job. Adding an id that exists returns that job: a retried tap prints once."""
        job_id = job_id or uuid.uuid4().hex
        now = self.clock()
        self.db.execute(
            "INSERT OR IGNORE INTO jobs (id, printer, document, state, reprint, created, updated) "
            "VALUES (?, ?, ?, 'queued', ?, ?, ?)",
            (job_id, printer, json.dumps(to_json(document), ensure_ascii=False), int(reprint), now, now))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, *states: JobState) -> list[Job]:
        marks = ",".join("?" * len(states)) or "''"
        sql = f"SELECT {_COLUMNS} FROM jobs" + (f" WHERE state IN ({marks})" if states else "")
        return [_job(r) for r in self.db.execute(sql + " ORDER BY seq", [s.value for s in states])]

    def next_ready(self, printer: str) -> Job | None:
        """The oldest job that can be tried now: held jobs first (they are ahead on the paper)."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE printer=? AND state IN ('queued', 'held') "
            "AND not_before<=? ORDER BY state='held' DESC, seq LIMIT 1", (printer, self.clock())).fetchone()
        return _job(row) if row else None

    def update(self, job_id: str, state: JobState, *, attempts: int | None = None, blocked: str = "",
               error_zh: str = "", not_before: float = 0.0, reprint: bool | None = None) -> Job:
        sets = "state=?, blocked=?, error_zh=?, not_before=?, updated=?"
        args: list = [state.value, blocked, error_zh, not_before, self.clock()]
        if attempts is not None:
            sets += ", attempts=?"
            args.append(attempts)
        if reprint is not None:
            sets += ", reprint=?"
            args.append(int(reprint))
        self.db.execute(f"UPDATE jobs SET {sets} WHERE id=?", [*args, job_id])
        if state is JobState.DONE:
            self.purge()
        job = self.get(job_id)
        assert job is not None
        return job

    def withdraw(self, job_id: str) -> bool:
        """Take back a job the printer has not been sent yet (queued); False once it was sent
        (printing, held), done or failed: those are the printer's now, or over."""
        return self.db.execute("DELETE FROM jobs WHERE id=? AND state='queued'", (job_id,)).rowcount == 1

    def wake(self, printer: str) -> None:
        """The printer can print again: waiting jobs are due now rather than after their backoff."""
        self.db.execute("UPDATE jobs SET not_before=0 WHERE printer=? AND state IN ('queued', 'held')",
                        (printer,))

    def last_done(self, printer: str | None = None) -> Job | None:
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE state='done'"
        args: list = []
        if printer:
            sql += " AND printer=?"
            args.append(printer)
        row = self.db.execute(sql + " ORDER BY updated DESC, seq DESC LIMIT 1", args).fetchone()
        return _job(row) if row else None

    def purge(self) -> None:
        """Delete done jobs but each printer's last one, and finished jobs older than keep_done_s."""
        printers = [r[0] for r in self.db.execute("SELECT DISTINCT printer FROM jobs WHERE state='done'")]
        keep = [job.id for p in printers if (job := self.last_done(p)) is not None]
        self.db.execute(f"DELETE FROM jobs WHERE state='done' AND id NOT IN ({','.join('?' * len(keep))})",
                        keep)
        self.db.execute("DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated<?",
                        (self.clock() - self.keep_done_s,))


def _job(row) -> Job:
    jid, printer, doc, state, attempts, reprint, blocked, error_zh, created, updated = row
    return Job(jid, printer, from_json(json.loads(doc)), JobState(state), attempts, bool(reprint),
               blocked, error_zh, created, updated)


class PrintDispatcher:
    """Sends queued jobs to one printer through the DeviceManager, driven by the caller's clock.

    ``on_event`` takes every device event (it ignores what is not about its printer) and returns
    the jobs whose state changed; ``pump`` sends the next job when none is in flight.
    """

    def __init__(self, queue: PrintQueue, devices, printer: str, reprint_mark: Text,
                 backoff: tuple[float, float] = (2.0, 30.0), request_timeout: float = 60.0):
        self.queue = queue
        self.devices = devices
        self.printer = printer
        self.reprint_mark = reprint_mark
        self.backoff = backoff
        self.request_timeout = request_timeout
        self._inflight: dict[str, tuple[str, bool]] = {}  # request id -> (job id, is barrier)

    def submit(self, document: Document, job_id: str | None = None) -> Job:
        job = self.queue.add(document, self.printer, job_id)
        self.pump()
        return job

    def reprint_last(self) -> Job | None:
        """Staff: print the printer's last finished slip again, marked as a reprint."""
        last = self.queue.last_done(self.printer)
        if last is None:
            return None
        return self.submit_reprint(last)

    def submit_reprint(self, job: Job) -> Job:
        new = self.queue.add(job.document, self.printer, f"{job.id}-r{uuid.uuid4().hex[:6]}", reprint=True)
        self.pump()
        return new

    def pump(self) -> None:
        if self._inflight:
            return
        job = self.queue.next_ready(self.printer)
        if job is None:
            return
        if job.state is JobState.HELD:
            rid = self.devices.request(self.printer, "print", timeout=self.request_timeout,
                                       document=BARRIER, job_id=f"{job.id}-barrier")
            self._inflight[rid] = (job.id, True)
            return
        doc = job.document
        if job.reprint:
            doc = Document(doc.kind, (self.reprint_mark, *doc.elements))
        # Committed as printing before the request leaves: a crash from here on is "outcome unknown".
        self.queue.update(job.id, JobState.PRINTING, attempts=job.attempts + 1, blocked=job.blocked,
                          error_zh=job.error_zh)
        rid = self.devices.request(self.printer, "print", timeout=self.request_timeout, document=doc,
                                   job_id=job.id)
        self._inflight[rid] = (job.id, False)

    def on_event(self, event: Event) -> list[Job]:
        if isinstance(event, StatusChanged) and event.device == self.printer:
            if (event.state is DeviceState.ONLINE and event.detail.get("paper") in ("full", "low")
                    and event.detail.get("cover") == "closed"):
                self.queue.wake(self.printer)
            return []
        if not isinstance(event, RequestDone) or event.request_id not in self._inflight:
            return []
        job_id, barrier = self._inflight.pop(event.request_id)
        job = self.queue.get(job_id)
        if job is None:
            return []
        return [self._finish(job, event, barrier)]

    def _finish(self, job: Job, done: RequestDone, barrier: bool) -> Job:
        q = self.queue
        if done.ok:
            return q.update(job.id, JobState.DONE)
        code = done.code or "device_error"
        later = q.clock() + min(self.backoff[1], self.backoff[0] * 2 ** max(0, job.attempts - 1))
        if code == "bad_document":
            return q.update(job.id, JobState.FAILED, blocked=code, error_zh=done.error_zh)
        if barrier or (done.partial and code != "timeout"):
            # The printer has the job (stopped mid-way, or printed without confirming): wait for it.
            return q.update(job.id, JobState.HELD, blocked=code, error_zh=done.error_zh, not_before=later)
        if done.partial or code == "timeout":
            # Part of the data may be lost, or the request may still complete: print again, marked.
            return q.update(job.id, JobState.QUEUED, blocked=code, error_zh=done.error_zh,
                            not_before=later, reprint=True)
        return q.update(job.id, JobState.QUEUED, blocked=code, error_zh=done.error_zh, not_before=later)
