"""Maintenance mode (维护模式) for hall staff: the terminal's checks and actions as tiles.

Entered by kiosk/staff_access.py (a staff card read, or the hidden gesture and then the PIN):
the citizen session is wiped first. Steps: ``pin`` (the PIN pad, only after the gesture) →
``tiles`` (every check at a glance, with its actions) → ``outbox`` / ``receipts`` / ``errors``
(one list each) and ``restart`` (a question). What the tiles say comes from kiosk/staff.py, the
same records the staff commands print. Every action goes to the audit trail. Untouched for
``[staff] idle_s`` it leaves by itself; leaving ends it as a session ends (language, elder mode,
answers still on their way: all gone), and the welcome page is back.

Card reads and scans while it is on screen are tests: they are shown on the tests tile (masked)
and start no citizen session.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import ClassVar

from devices.events import CardInserted, CodeScanned, Event, IdentityRead
from kiosk import slips, staff
from kiosk.i18n import N_, catalogue
from kiosk.journeys.base import HOME, Journey, Notice, Result, Words
from kiosk.pages import Page, QuestionPage, page
from kiosk.print_jobs import JobState
from kiosk.staff_access import masked, pin_matches

log = logging.getLogger("kiosk.journeys.maintenance")
REFRESH_S = 2.0  # what is read from the files (outbox, receipts, catalogue) is read again this often
MAX_PIN = 12
PAPER = {"full": N_("staff.paper_full"), "low": N_("staff.paper_low"), "out": N_("staff.paper_out"),
         "jammed": N_("staff.paper_jammed"), "unknown": N_("staff.paper_unknown")}
ITEM_STATES = (N_("staff.item_pending"), N_("staff.item_failed"))  # f"staff.item_{state}" in page_outbox
CONFIG = {"terminal": N_("staff.cfg_terminal"), "central": N_("staff.cfg_central"),
          "devices": N_("staff.cfg_devices"), "session": N_("staff.cfg_session"),
          "staff": N_("staff.cfg_staff"), "var": N_("staff.cfg_var")}


@dataclass(frozen=True)
class Tile:
    key: str
    title: str
    lines: tuple[str, ...] = ()
    ok: bool = True  # False: the tile shows a fault
    actions: tuple[tuple[str, str], ...] = ()  # (action, label)


@dataclass(frozen=True)
class StaffRow:
    text: str
    sub: str = ""
    action: str = ""  # "" : nothing to do on this row
    label: str = ""
    ref: str = ""
    ok: bool = True


@page
@dataclass(frozen=True)
class StaffPinPage(Page):
    screen: ClassVar[str] = "staff_pin"
    prompt: str = ""
    dots: str = ""
    message: str = ""
    error: bool = False
    locked: bool = False  # the keys wait: locked, or no PIN is set


@page
@dataclass(frozen=True)
class StaffTilesPage(Page):
    screen: ClassVar[str] = "staff_tiles"
    who: str = ""
    tiles: tuple[Tile, ...] = ()


@page
@dataclass(frozen=True)
class StaffListPage(Page):
    screen: ClassVar[str] = "staff_list"
    title: str = ""
    rows: tuple[StaffRow, ...] = ()
    empty: str = ""


class Maintenance(Journey):
    name = "maintenance"
    first_step = "pin"

    def __init__(self, shell, via: str = "pin", card: str = ""):
        super().__init__(shell)
        self.by = f"card {card}" if via == "card" else "pin"
        self.step = "tiles" if via == "card" else "pin"
        self.pin = ""
        self.verifying = False  # a PIN being checked in the pool
        self.message: Words | None = None  # (words, not text: a language switch redraws it)
        self.error = False
        self.snapshot: dict = {}
        self._read_at = -REFRESH_S
        self.central: staff.CentralInfo | None = None
        self.checking = self.syncing = False
        self.synced = ""
        self.test_job = ""
        self.read = ""  # what the last test read or scan found
        self.waiting_for = ""  # "card" | "code": a test read asked for

    # -- entering -----------------------------------------------------------------------------
    def start(self) -> Result:
        if self.step == "tiles":
            self._entered()
        return None

    def _entered(self) -> None:
        self.step = "tiles"
        staff.record(self.shell.config.var_dir, "staff.enter", self.by)
        self.do_check_central()

    def _lock(self):
        return self.shell.staff.lock

    def do_digit(self, d: str) -> Result:
        if self.step == "pin" and d.isdigit() and len(d) == 1 and len(self.pin) < MAX_PIN:
            self.pin += d
            self.message, self.error = None, False
        return None

    def do_clear(self) -> Result:
        self.pin = ""
        return None

    def do_enter(self) -> Result:
        lock, cfg = self._lock(), self.shell.config
        pin, self.pin = self.pin, ""
        if self.step != "pin" or not pin or lock.seconds_left() or not cfg.staff.pin_hash or self.verifying:
            return None
        # Argon2 takes ~100 ms on purpose: in the pool, so the pad stays quick to touch. One try at a time.
        self.verifying = True
        self.call(lambda: pin_matches(cfg.staff.pin_hash, pin), self._pin_checked, lambda _exc: self._pin_checked(False))
        return None

    def _pin_checked(self, right: bool) -> Result:
        lock, cfg = self._lock(), self.shell.config
        self.verifying = False
        if right:
            lock.succeeded()
            self._entered()
            return None
        lock.failed()
        staff.record(cfg.var_dir, "staff.pin_wrong", failures=lock.failures)
        left = lock.seconds_left()
        if left:
            staff.record(cfg.var_dir, "staff.pin_locked", minutes=round(left / 60))
        else:
            self.message = Words("staff.pin_wrong", n=cfg.staff.lock_after - lock.failures)
        self.error = True
        return None

    def page_pin(self) -> StaffPinPage:
        tr, cfg = self.tr, self.shell.config
        left = self._lock().seconds_left()
        if not cfg.staff.pin_hash:
            message, error = tr("staff.pin_unset"), True
        elif left:
            message, error = tr("staff.pin_locked", m=(left + 59) // 60), True
        else:
            message, error = self.message(tr) if self.message else "", self.error
        return StaffPinPage(prompt=tr("staff.pin_prompt"), dots="●" * len(self.pin), message=message,
                            error=error, locked=bool(left) or not cfg.staff.pin_hash)

    # -- leaving ------------------------------------------------------------------------------
    def do_leave(self, why: str = "staff") -> Result:
        shell = self.shell
        if self.step != "pin":
            staff.record(shell.config.var_dir, "staff.leave", self.by, reason=why)
        log.info("maintenance mode left (%s)", why)
        shell.end_session("maintenance over")  # the language, elder mode and answers on their way go too
        return HOME

    do_cancel = do_leave

    def back(self) -> bool | Result:
        if self.step in ("outbox", "receipts", "errors", "restart"):
            self.step = "tiles"
            return True
        return self.do_leave()

    def tick(self) -> Result:
        shell = self.shell
        if shell.session.idle_for() >= shell.config.staff.idle_s:
            return self.do_leave("idle")
        if self.step != "pin" and shell.monotonic() - self._read_at >= REFRESH_S:
            self._refresh()
        return None

    def act(self, action: str, **kw) -> Result:
        result = super().act(action, **kw)
        if self.step != "pin" and self in self.shell.stack:
            self._refresh()  # what the action changed shows at once
        return result

    # -- what the files say (read every REFRESH_S, not every frame) ----------------------------
    def _refresh(self) -> None:
        shell = self.shell
        self._read_at = shell.monotonic()
        queue = shell.printing.queue if shell.printing is not None else None
        snap = {"catalogue": staff.catalogue(shell.catalogue)}
        if shell.outbox is not None:
            snap["outbox"] = staff.outbox(shell.outbox)
            snap["waiting"] = [w for w in staff.waiting(shell.outbox, queue) if w.what == "receipt"]
        self.snapshot = snap

    # -- the tiles ----------------------------------------------------------------------------
    def page_tiles(self) -> StaffTilesPage:
        tr = self.tr
        if not self.snapshot:
            self._refresh()
        who = tr("staff.who_card", card=self.by[5:]) if self.by.startswith("card") else tr("staff.who_pin")
        infos = staff.devices(self.shell.devices, self.shell.device_states, self.shell.staff.last_errors)
        tiles = [*self._device_tiles(infos), self._paper_tile(infos), self._tests_tile(), self._outbox_tile(),
                 self._receipts_tile(), self._central_tile(), self._catalogue_tile(), self._errors_tile(),
                 self._about_tile(), Tile("restart", tr("staff.restart_title"), (tr("staff.restart_line"),),
                                          actions=(("restart", tr("staff.restart")),))]
        return StaffTilesPage(who=tr("staff.who", who=who, s=self.shell.config.staff.idle_s),
                              tiles=tuple(t for t in tiles if t is not None))

    def _device_tiles(self, infos) -> list[Tile]:
        tr, words = self.tr, catalogue(self.tr.lang)
        out = []
        for d in infos:
            label = words.get(f"device.{d.name}") or words.get(f"device.{d.kind}", d.name)
            lines = [tr("staff.state", state=tr(f"state.{d.state}")),
                     tr("staff.capabilities", list=", ".join(d.capabilities) or "-"),
                     tr("staff.last_error", error=d.last_error) if d.last_error else tr("staff.no_error")]
            out.append(Tile(f"device-{d.name}", f"{label} ({d.name})", tuple(lines), d.state == "online"))
        return out

    def _paper_tile(self, infos) -> Tile | None:
        tr = self.tr
        printers = staff.paper(infos)
        if not printers:
            return None
        lines, ok = [], True
        for name, paper, cover in printers:
            lines.append(tr("staff.paper", printer=name, paper=tr(PAPER.get(paper, PAPER["unknown"]))))
            if cover == "open":
                lines.append(tr("staff.cover_open"))
            ok = ok and paper not in ("out", "jammed") and cover != "open"
        if self.test_job:
            lines.append(self._test_print_state())
        return Tile("paper", tr("staff.paper_title"), tuple(lines), ok,
                    (("test_print", tr("staff.test_print")),) if self.shell.printing is not None else ())

    def _test_print_state(self) -> str:
        tr = self.tr
        job = self.shell.printing.queue.get(self.test_job)
        if job is None or job.state is JobState.DONE:
            return tr("staff.test_printed")
        if job.state is JobState.FAILED or job.blocked:
            return tr("staff.test_print_failed", error=job.error_zh or job.blocked)
        return tr("staff.test_printing")

    def _tests_tile(self) -> Tile:
        tr = self.tr
        if self.waiting_for:
            line = tr("staff.test_present_card") if self.waiting_for == "card" else tr("staff.test_present_code")
        else:
            line = self.read or tr("staff.test_hint")
        return Tile("tests", tr("staff.tests_title"), (line,), True,
                    (("test_card", tr("staff.test_card")), ("test_scan", tr("staff.test_scan"))))

    def _outbox_tile(self) -> Tile | None:
        info, tr = self.snapshot.get("outbox"), self.tr
        if info is None:
            return None
        c = info.counts
        lines = (tr("staff.outbox_counts", pending=info.depth, failed=c.get("failed", 0),
                    delivered=c.get("delivered", 0)),)
        actions = [("outbox", tr("staff.show"))]
        if info.failed:
            actions.append(("retry_all", tr("staff.retry_all")))
        return Tile("outbox", tr("staff.outbox_title"), lines, not info.failed, tuple(actions))

    def _receipts_tile(self) -> Tile | None:
        rows, tr = self.snapshot.get("waiting"), self.tr
        if rows is None:
            return None
        return Tile("receipts", tr("staff.receipts_title"), (tr("staff.receipts_count", n=len(rows)),), not rows,
                    (("receipts", tr("staff.show")),))

    def _central_tile(self) -> Tile:
        tr, c = self.tr, self.central
        if c is None:
            lines, ok = (tr("staff.checking"),), True
        elif not c.reachable:
            lines, ok = (tr("staff.central_down"), c.error), False
        else:
            lines = [tr("staff.central_up", ms=round(c.seconds * 1000))]
            if c.skew_s is None:
                lines.append(tr("staff.skew_unknown"))
            else:
                lines.append(tr("staff.skew", s=round(c.skew_s)))
            ok = c.skew_s is None or abs(c.skew_s) < 60
            lines = tuple(lines)
        return Tile("central", tr("staff.central_title"), lines, ok,
                    () if self.checking else (("check_central", tr("staff.check_again")),))

    def _catalogue_tile(self) -> Tile | None:
        info, tr = self.snapshot.get("catalogue"), self.tr
        if info is None:
            return None
        lines = [tr("staff.guides", n=info.guides),
                 tr("staff.catalogue_version", version=info.version[:19].replace("T", " ") or "-"),
                 tr("staff.last_sync", at=info.synced_at[:19].replace("T", " ") or "-")]
        if self.syncing:
            lines.append(tr("staff.syncing"))
        elif self.synced:
            lines.append(self.synced)
        return Tile("catalogue", tr("staff.catalogue_title"), tuple(lines), info.complete,
                    () if self.syncing else (("sync", tr("staff.sync_now")),))

    def _errors_tile(self) -> Tile:
        tr = self.tr
        recent = self.shell.staff.errors.recent()
        lines = [tr("staff.errors_count", n=len(recent))]
        if recent:
            lines.append(_when(recent[0].at) + " " + recent[0].message[:80])
        return Tile("errors", tr("staff.errors_title"), tuple(lines), not recent, (("errors", tr("staff.show")),))

    def _about_tile(self) -> Tile:
        tr = self.tr
        lines = [tr("staff.version", version=self.shell.upkeep.version or "dev")]
        lines += [tr(CONFIG[key]) + tr("common.colon") + value for key, value in staff.config_summary(self.shell.config)]
        return Tile("about", tr("staff.about_title"), tuple(lines))

    # -- actions on the tiles -------------------------------------------------------------------
    def do_check_central(self) -> Result:
        shell = self.shell
        if self.checking:
            return None
        self.checking, self.central = True, None
        beat = shell.upkeep.heartbeat_message()

        def done(info: staff.CentralInfo) -> Result:
            self.checking, self.central = False, info
            return None

        self.call(lambda: staff.check_central(shell.central, beat), done, lambda exc: done(
            staff.CentralInfo(False, error=str(exc)[:200])))
        return None

    def do_sync(self) -> Result:
        shell = self.shell
        if self.syncing or shell.catalogue is None:
            return None
        self.syncing = True
        staff.record(shell.config.var_dir, "staff.sync", self.by)

        def done(r) -> Result:
            self.syncing, self.synced = False, self.tr("staff.synced", changed=r.changed, deleted=r.deleted)
            return None

        def failed(exc) -> Result:
            self.syncing = False
            self.synced = self.tr("staff.sync_failed", error=getattr(exc, "code", type(exc).__name__))
            return None

        self.call(lambda: shell.catalogue.sync(shell.central), done, failed)
        return None

    def do_test_print(self) -> Result:
        shell = self.shell
        if shell.printing is None:
            return None
        t = shell.config.terminal
        doc = slips.test_slip(self.tr, t.hall, t.id, shell.now())
        self.test_job = shell.printing.submit(doc, f"test-{t.id}-{shell.now():%Y%m%d%H%M%S%f}").id
        staff.record(shell.config.var_dir, "staff.test_print", self.by, job=self.test_job)
        return None

    def do_test_card(self) -> Result:
        self.waiting_for, self.read = "card", ""
        self.shell.card.ask_again(self.shell.devices)  # a card lying on the reader answers too
        return None

    def do_test_scan(self) -> Result:
        self.waiting_for, self.read = "code", ""
        return None

    def on_read(self, event: Event) -> None:
        """A card read or a code scanned in maintenance mode: a test, shown masked."""
        tr = self.tr
        if isinstance(event, IdentityRead):
            what = tr("staff.read_card", device=event.device, number=event.identity.masked_number)
        elif isinstance(event, CardInserted):
            what = tr("staff.read_card", device=event.device, number=masked(event.info.get("card_number", "")))
        elif isinstance(event, CodeScanned):
            what = tr("staff.read_code", device=event.device, n=len(event.data))
        else:
            return
        self.read, self.waiting_for = what, ""
        staff.record(self.shell.config.var_dir, "staff.test_read", self.by, device=event.device,
                     event=type(event).__name__)

    def do_retry_all(self) -> Result:
        info = self.snapshot.get("outbox")
        for item in info.failed if info is not None else ():
            self.do_retry(item.terminal_ref)
        return None

    def do_retry(self, ref: str) -> Result:
        shell = self.shell
        item = shell.outbox.find(ref)
        if item is None:
            return None
        try:
            staff.retry(shell.outbox, shell.config.var_dir, item, self.by)
        except ValueError as exc:
            return Notice("error", Words("staff.retry_failed"), str(exc))
        if shell.sender is not None:
            shell.sender.wake()
        return None

    def do_reprint(self, ref: str) -> Result:
        shell = self.shell
        if shell.printing is None:
            return None
        t = shell.config.terminal
        try:
            staff.reprint(shell.outbox, shell.printing.queue, shell.printing.printer, ref, t.hall, t.id,
                          shell.config.var_dir, self.by)
        except KeyError:
            return None
        shell.printing.pump()
        return Notice("info", Words("staff.reprint_title"), Words("staff.reprint_queued", ref=ref))

    # -- the lists ------------------------------------------------------------------------------
    def do_outbox(self) -> Result:
        self.step = "outbox"
        return None

    def do_receipts(self) -> Result:
        self.step = "receipts"
        return None

    def do_errors(self) -> Result:
        self.step = "errors"
        return None

    def page_outbox(self) -> StaffListPage:
        tr, info = self.tr, self.snapshot.get("outbox")
        rows = tuple(StaffRow(f"{i.terminal_ref} · {i.kind} · {tr('staff.item_' + i.state)}",
                              tr("staff.attempts", n=i.attempts) + (f" · {i.last_error}" if i.last_error else ""),
                              "retry" if i.state == "failed" else "", tr("staff.retry"), i.terminal_ref,
                              i.state != "failed")
                     for i in (info.problems if info is not None else ()))
        return StaffListPage(title=tr("staff.outbox_title"), rows=rows, empty=tr("staff.outbox_empty"))

    def page_receipts(self) -> StaffListPage:
        tr = self.tr
        rows = tuple(StaffRow(f"{w.case_number or w.ref} · {w.item}",
                              tr("staff.receipt_sub", ref=w.ref, minutes=w.minutes),
                              "reprint" if self.shell.printing is not None else "", tr("staff.reprint"), w.ref,
                              False)
                     for w in self.snapshot.get("waiting") or ())
        return StaffListPage(title=tr("staff.receipts_title"), rows=rows, empty=tr("staff.receipts_empty"))

    def page_errors(self) -> StaffListPage:
        tr = self.tr
        rows = tuple(StaffRow(line.message, f"{_when(line.at)} · {line.level} · {line.logger}", ok=False)
                     for line in self.shell.staff.errors.recent())
        return StaffListPage(title=tr("staff.errors_title"), rows=rows, empty=tr("staff.errors_empty"))

    # -- restart ---------------------------------------------------------------------------------
    def do_restart(self) -> Result:
        self.step = "restart"
        return None

    def page_restart(self) -> QuestionPage:
        tr = self.tr
        return QuestionPage(title=tr("staff.restart_title"), message=tr("staff.restart_question"),
                            yes=tr("staff.restart"), no=tr("staff.cancel"))

    def do_answer(self, yes: bool) -> Result:
        shell = self.shell
        self.step = "tiles"
        if not yes:
            return None
        demo = shell.config.demo.enabled
        staff.record(shell.config.var_dir, "staff.restart", self.by, demo=demo)
        if demo:  # nothing restarts a demo: it would just end
            return Notice("info", Words("staff.restart_title"), Words("staff.restart_demo", code=staff.RESTART_EXIT))
        log.warning("restart asked for in maintenance mode: exiting with %d for systemd to start the app again",
                    staff.RESTART_EXIT)
        shell.request_stop("restart")
        return None


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at).strftime("%H:%M:%S")
