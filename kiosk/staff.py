"""What hall staff check and do, as data: the maintenance pages (kiosk/journeys/maintenance.py)
and the staff commands (`kiosk outbox ...`, `kiosk print pending/reprint`, `kiosk devices list`)
read the same records from the same functions, and only put them into words differently.

Records hold references, states and masked values only: nothing here is personal beyond what a
receipt itself prints (the applicant masked). Every action staff take goes to the audit trail
(kiosk/audit.py) with who took it (``by``: "pin", "card A1*****78", or the CLI's user).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from kiosk import audit, receipts
from kiosk.commands import RESTART_EXIT  # noqa: F401  (restart the app: one exit code, staff's and the platform's)
from kiosk.logs import mask_text
from kiosk.print_jobs import JobState

log = logging.getLogger("kiosk.staff")



def record(var_dir, action: str, by: str = "", **fields: Any) -> dict[str, Any]:
    """One staff action on the audit trail; ``by``: how the staff member got in (the CLI: its user)."""
    return audit.record(var_dir, action, **({"staff": by} if by else {}), **fields)


# -- devices ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceInfo:
    name: str
    driver: str
    kind: str
    state: str
    detail: dict[str, str] = field(default_factory=dict)  # paper, cover, reader name ...
    capabilities: tuple[str, ...] = ()
    last_error: str = ""


def devices(manager, states: dict[str, dict[str, str]], last_errors: dict[str, str] | None = None) -> list[DeviceInfo]:
    """Every configured device: ``states`` as the StatusChanged events left them ({"state": ..., detail})."""
    out = []
    for name, worker in (manager.workers.items() if manager is not None else ()):
        st = dict(states.get(name, {}))
        state = st.pop("state", "unknown")
        out.append(DeviceInfo(name, manager.drivers[name], worker.driver.kind, state, st,
                              tuple(sorted(worker.driver.capabilities)), (last_errors or {}).get(name, "")))
    return out


def paper(infos: list[DeviceInfo]) -> list[tuple[str, str, str]]:
    """(printer, paper, cover) of every printer: "full", "low", "out", "jammed" or "unknown"."""
    return [(d.name, d.detail.get("paper", "unknown"), d.detail.get("cover", "unknown"))
            for d in infos if d.kind == "printer"]


# -- the outbox ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboxInfo:
    counts: dict[str, int]
    depth: int  # still to deliver
    problems: tuple  # kiosk.outbox.Item, pending or failed, oldest first

    @property
    def failed(self) -> tuple:
        return tuple(i for i in self.problems if i.state == "failed")


def outbox(box) -> OutboxInfo:
    return OutboxInfo(box.counts(), box.depth(), tuple(box.items("pending", "failed")))


def retry(box, var_dir, item, by: str = "") -> None:
    """Send a failed item again (ValueError: it is not failed, or its data was dropped); audited."""
    box.retry(item.seq)
    record(var_dir, "outbox.retry", by, ref=item.terminal_ref, kind=item.kind, last_error=item.last_error)


# -- receipts waiting for staff ------------------------------------------------------------------
@dataclass(frozen=True)
class Waiting:
    what: str  # "receipt", or the slip's kind
    ref: str  # terminal reference, or print job id
    state: str
    minutes: int
    case_number: str = ""
    item: str = ""  # the receipt's item name; a slip's blocking error or "reprint"

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "ref": self.ref, "state": self.state, "minutes": self.minutes,
                "case_number": self.case_number, "item": self.item}


def waiting(box, queue) -> list[Waiting]:
    """Receipts that citizens did not get (kept after a restart or when their session ended before
    they printed, or not yet printed), then slips the printer has not finished. References and
    item names only."""
    now = box.clock()
    rows = []
    for ref, state, created in box.receipts("waiting", "kept"):
        item = box.by_ref(ref)
        rows.append(Waiting("receipt", ref, state, round((now - created) / 60),
                            item.case_number if item else "", box.receipt(ref)[0]["item_name"]))
    if queue is not None:
        for job in queue.jobs(JobState.QUEUED, JobState.PRINTING, JobState.HELD, JobState.FAILED):
            rows.append(Waiting(job.document.kind, job.id, job.state.value, round((now - job.created) / 60), "",
                                job.blocked or ("reprint" if job.reprint else "")))
    return rows


def reprint(box, queue, printer: str, ref: str, hall: str, terminal_id: str, var_dir, by: str = ""):
    """A case's receipt by terminal reference or case number, queued on ``printer``: the first copy
    if it was never handed to the printer, else a copy marked 补打 REPRINT. Returns (item, job,
    first copy?); KeyError when this terminal has no receipt for ``ref``. Audited."""
    ref = "".join(ref.split())  # a case number as read out or noted: GA2026 1130 ED85 ECDB
    item = box.find(ref)
    found = box.receipt(item.terminal_ref) if item is not None else None
    if found is None:
        raise KeyError(ref)
    first = found[1] != "queued" and queue.get(receipts.job_id(item.terminal_ref)) is None
    job = receipts.hand_to_printer(box, queue, printer, item.terminal_ref, hall, terminal_id, dt.datetime.now(),
                                   reprint=not first)
    record(var_dir, "print.reprint", by, ref=item.terminal_ref, case_number=item.case_number, job=job.id,
           first_copy=first)
    return item, job, first


# -- the platform -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CentralInfo:
    reachable: bool
    seconds: float = 0.0  # the round trip
    skew_s: float | None = None  # the platform's clock minus ours (None: not known)
    error: str = ""


def check_central(central, beat=None, clock=time.time) -> CentralInfo:
    """Ask the platform: a signed heartbeat (``beat``) when the terminal has credentials, which
    also proves them and tells the platform's time; else the unsigned health check. Off the UI
    thread: it waits for the network."""
    from kiosk.central_client import CentralError

    start = clock()
    try:
        if beat is not None and getattr(central, "terminal_id", None):
            answer = central.heartbeat(beat)
            end = clock()
            # The platform read its clock somewhere in the round trip: the middle is the best guess.
            skew = answer.server_time.timestamp() - (start + end) / 2
            return CentralInfo(True, end - start, skew)
        central.health()
        return CentralInfo(True, clock() - start)
    except CentralError as exc:
        return CentralInfo(False, clock() - start, None, f"{exc.code}: {exc.message}"[:200])


# -- the catalogue --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogueInfo:
    guides: int
    complete: bool
    version: str  # the sync cursor: the newest change this copy holds
    synced_at: str


def catalogue(cat) -> CatalogueInfo | None:
    if cat is None:
        return None
    return CatalogueInfo(cat.count(), cat.ready, cat.meta("since") or "", cat.last_sync or "")


# -- recent errors ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogLine:
    at: float
    level: str
    logger: str
    message: str  # the first line, masked (kiosk.logs.mask_text)


class RecentErrors(logging.Handler):
    """The last ``size`` WARNING-or-worse records, in memory only, masked as the log is."""

    def __init__(self, size: int = 50):
        super().__init__(logging.WARNING)
        self.lines: collections.deque[LogLine] = collections.deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = mask_text(record.getMessage()).splitlines()
        except Exception:  # a bad format string: logging reports it to its other handlers
            return
        self.lines.append(LogLine(record.created, record.levelname, record.name, (text or [""])[0][:300]))

    def recent(self, n: int = 20) -> list[LogLine]:
        return list(self.lines)[-n:][::-1]


RECENT = RecentErrors()


def watch_errors() -> RecentErrors:
    """The one ring of recent errors, on the root logger (once, however many shells are made)."""
    root = logging.getLogger()
    if RECENT not in root.handlers:
        root.addHandler(RECENT)
    return RECENT


# -- the configuration ----------------------------------------------------------------------------
def config_summary(cfg) -> list[tuple[str, str]]:
    """What staff may read of the configuration: no secret, no card number, no PIN hash."""
    secret = os.environ.get("KIOSK_CENTRAL_SECRET") or cfg.central.secret or cfg.central.secret_file
    return [
        ("terminal", f"{cfg.terminal.id} · {cfg.terminal.hall} · {cfg.terminal.language}"),
        ("central", f"{cfg.central.url} · {'signed' if secret else 'unsigned'}"),
        ("devices", ", ".join(f"{n}={t.get('driver')}" for n, t in cfg.devices.items()) or "-"),
        ("session", f"idle {cfg.session.idle_timeout_s} s · card grace {cfg.session.card_grace_s} s"),
        ("staff", f"{len(cfg.staff.cards)} card(s) · PIN {'set' if cfg.staff.pin_hash else 'not set'} · "
                  f"idle {cfg.staff.idle_s} s"),
        ("var", str(cfg.var_dir)),
    ]
