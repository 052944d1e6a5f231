"""KioskController: turns device events and the citizen's touches into view state.

Screens call the methods here and render ``view``; they never open a device or a socket.
Everything runs on the caller's thread (the UI clock): HTTP calls go to a small thread pool and
their results are applied in ``tick()``, so state is only ever changed from one thread.

Guides come from the local catalogue once it holds a complete copy (so they stay searchable when
the network is down); until then from the platform, and from a partial copy if the platform
cannot answer. The tick also starts a catalogue sync (at start and every ``guides_sync_min``)
and a heartbeat (every ``heartbeat_s``) in the pool, never more than one of each at a time.

Applying (申报): the guide page's "申报此事项" opens a confirm page (after the ID card, if nobody
is identified yet). "确认提交" commits the case and its receipt to the outbox in one transaction
before anything else happens, wakes the sender, and the tick waits up to ``case_wait_s`` for the
case number without blocking; the receipt then carries the case number, or the outbox's terminal
reference when the platform did not answer in time (the platform finds the case by either). A
receipt that a crash kept from printing prints at the next start (kiosk.receipts).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from central.models import CaseSubmission, DeviceStatus, Heartbeat
from devices.events import CardRemoved, ErrorEvent, Event, IdentityRead, RequestDone, StatusChanged
from devices.identity import CardType
from devices.status import DeviceState
from kiosk import receipts, slips
from kiosk.catalogue import Catalogue
from kiosk.central_client import CentralClient, CentralError
from kiosk.config import KioskConfig
from kiosk.i18n import LANGUAGES, Translator
from kiosk.print_jobs import Job, JobState, PrintDispatcher, PrintQueue
from kiosk.session import IdleState, Session

log = logging.getLogger("kiosk.controller")

SEARCH_LIMIT = 30
HOT_TOPICS = ("shebao", "hukou", "hunyin", "yibao", "yingye", "jiaoyu")
CASE_WAIT_S = 3.0  # how long the citizen waits for the case number before the receipt prints


@dataclass
class View:
    screen: str = "welcome"  # welcome | personal | guides | guide | apply | done | notice
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Submitted:
    """A case committed to the outbox whose receipt is not printed yet (the receipt itself is in
    the outbox, committed with the case)."""

    ref: str  # the outbox item's terminal reference
    guide: Any
    deadline: float  # monotonic


class KioskController:
    def __init__(self, config: KioskConfig, central: CentralClient, devices=None,
                 clock: Callable[[], dt.datetime] = dt.datetime.now, session: Session | None = None,
                 print_queue: PrintQueue | None = None, catalogue: Catalogue | None = None,
                 outbox=None, version: str = "", monotonic: Callable[[], float] = time.monotonic,
                 sender=None, case_wait_s: float = CASE_WAIT_S):
        self.config = config
        self.central = central
        self.catalogue = catalogue
        self.outbox = outbox  # kiosk.outbox.Outbox: cases go in here; its depth goes into the heartbeat
        self.sender = sender  # kiosk.outbox.Sender: woken after a case is committed
        self.case_wait_s = case_wait_s
        self._submitted: _Submitted | None = None
        self.version = version
        self.monotonic = monotonic
        self._next_sync = self._next_beat = 0.0  # both due at the first tick
        self._busy: set[str] = set()
        self._seen_commands: set[int] = set()
        self.devices = devices
        self.now = clock
        self.tr = Translator(config.terminal.language)
        self.session = session or Session(config.session.idle_timeout_s, config.session.warning_s)
        self.view = View()
        self.idle_warning: int | None = None
        self.device_states: dict[str, dict[str, str]] = {}
        self._listeners: list[Callable[[], None]] = []
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="central")
        self._pending: list[tuple[Future, Callable, Callable]] = []
        # Slips go through a durable queue: a slip blocked by paper out prints once staff refill it.
        self.printing: PrintDispatcher | None = None
        printer = self.printer_name()
        if printer is not None:
            queue = print_queue or PrintQueue(config.var_dir / "print_jobs.db")
            mark = slips.reprint_mark(Translator(config.terminal.language))
            self.printing = PrintDispatcher(queue, devices, printer, mark)
            if outbox is not None:
                receipts.resume(outbox, self.printing, config.terminal.hall, config.terminal.id, self.now(),
                                outbox.clock(), config.outbox.receipt_resume_min * 60)
        self._history: list[View] = []
        self._under_notice: View = self.view

    # -- plumbing -------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def _show(self, screen: str, remember: bool = True, **data: Any) -> None:
        if screen == "notice" and self.view.screen != "notice":
            self._under_notice = self.view  # where "OK" on a notice returns to
        elif remember and self.view.screen not in ("notice", screen):
            self._history.append(self.view)
        self.view = View(screen, data)
        self._changed()

    def _call(self, fn: Callable, on_done: Callable, on_error: Callable) -> None:
        self._pending.append((self._pool.submit(fn), on_done, on_error))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.catalogue is not None:
            self.catalogue.close()
        if self.printing is not None:
            self.printing.queue.close()

    def tick(self) -> None:
        """Called on the UI clock: apply device events, finished calls and the idle timer."""
        if self.devices is not None:
            for event in self.devices.drain():
                self.on_device_event(event)
        if self.printing is not None:
            self.printing.pump()
        still: list = []
        for fut, on_done, on_error in self._pending:
            if not fut.done():
                still.append((fut, on_done, on_error))
                continue
            try:
                result = fut.result()
            except CentralError as exc:
                log.warning("central call failed: %s", exc)
                on_error(exc)
            except Exception as exc:  # a bug in a call must not freeze the screen
                log.exception("central call crashed")
                on_error(CentralError(f"{type(exc).__name__}: {exc}"))
            else:
                on_done(result)
        self._pending = still
        self._await_case_number()
        self._background()
        self._check_idle()

    # -- background work: catalogue sync, heartbeat ------------------------------------------
    def _once(self, name: str, fn: Callable, on_done: Callable) -> None:
        """Run ``fn`` in the pool unless the previous run of ``name`` is still going."""
        if name in self._busy:
            return
        self._busy.add(name)

        def done(result):
            self._busy.discard(name)
            on_done(result)

        def failed(exc: CentralError):
            self._busy.discard(name)
            log.warning("%s failed: %s", name, exc.message)

        self._call(fn, done, failed)

    def _background(self) -> None:
        now = self.monotonic()
        central_cfg = self.config.central
        if self.catalogue is not None and now >= self._next_sync:
            every = central_cfg.guides_sync_min * 60
            self._next_sync = now + every if every else float("inf")
            self._once("guide sync", lambda: self.catalogue.sync(self.central),
                       lambda r: log.info("guide catalogue synced: %d changed, %d deleted in %.1f s",
                                          r.changed, r.deleted, r.seconds))
        if getattr(self.central, "terminal_id", None) and now >= self._next_beat:
            self._next_beat = now + central_cfg.heartbeat_s
            beat = self.heartbeat_message()
            self._once("heartbeat", lambda: self.central.heartbeat(beat), self._heartbeat_answer)

    def heartbeat_message(self) -> Heartbeat:
        devices = []
        for name, st in self.device_states.items():
            kind = ""
            if self.devices is not None and name in getattr(self.devices, "workers", {}):
                kind = self.devices.workers[name].driver.kind
            paper = st.get("paper")
            devices.append(DeviceStatus(name=name[:50], kind=kind[:30], status=st.get("state", "unknown"),
                                        paper=paper if paper in ("full", "low", "out", "jammed", "unknown") else None,
                                        detail=", ".join(f"{k}={v}" for k, v in st.items()
                                                         if k not in ("state", "paper"))[:200]))
        depth = self.outbox.depth() if self.outbox is not None else 0
        return Heartbeat(version=self.version, outbox_depth=depth, devices=devices)

    def _heartbeat_answer(self, answer) -> None:
        for cmd in answer.commands:
            if cmd.command_id not in self._seen_commands:  # acting on commands is for a later issue
                self._seen_commands.add(cmd.command_id)
                log.info("platform command %d: %s %s (not acted on yet)", cmd.command_id, cmd.command, cmd.args)

    def _check_idle(self) -> None:
        state = self.session.idle_state()
        if state is IdleState.EXPIRED:
            self.end_session("idle timeout")
            self._show("notice", remember=False, kind="info", title=self.tr("session.ended_title"),
                       message=self.tr("session.ended_idle"), next="welcome")
        elif state is IdleState.WARNING:
            left = self.session.seconds_left()
            if left != self.idle_warning:
                self.idle_warning = left
                self._changed()
        elif self.idle_warning is not None:
            self.idle_warning = None
            self._changed()

    # -- device events --------------------------------------------------------------------
    def on_device_event(self, event: Event) -> None:
        if self.printing is not None:
            for job in self.printing.on_event(event):
                self._job_changed(job)
        if isinstance(event, IdentityRead):
            self._identified(event)
        elif isinstance(event, CardRemoved):
            self.session.data["card_present"] = False
            if self.view.screen == "personal" and self.session.identity:
                self.view = View("personal", self._person_view())
                self._changed()
        elif isinstance(event, StatusChanged):
            self.device_states[event.device] = {"state": event.state.value, **event.detail}
            self._changed()
        elif isinstance(event, RequestDone) and not event.ok:
            log.info("device %s: %s failed: %s", event.device, event.action, event.error)
        elif isinstance(event, ErrorEvent):
            log.warning("device %s: %s (%s)", event.device, event.message, event.code)

    def _job_changed(self, job: Job) -> None:
        """Tell the citizen waiting on this slip how it went; a slip that waits is not lost."""
        if self.view.data.get("job") != job.id:
            return
        if self.view.screen == "done":
            # The receipt's line on the done page follows the job; trouble is also told as a
            # notice, once (its "OK" comes back here).
            trouble = job.state is JobState.FAILED or (job.blocked and job.state is not JobState.DONE)
            told = self.view.data.get("told", False)
            self.view = View("done", {**self._done_view(self.view.data), "told": told or bool(trouble)})
            if trouble and not told:
                self._show("notice", remember=False, **(self._job_notice(job) or {}))
            else:
                self._changed()
        elif self.view.screen == "notice" and (notice := self._job_notice(job)) is not None:
            self._show("notice", remember=False, **notice)

    def _job_notice(self, job: Job) -> dict[str, Any] | None:
        if job.state is JobState.DONE:
            return {"kind": "info", "title": self.tr("print.done_title"), "message": self.tr("print.done"),
                    "next": "back"}
        if job.state is JobState.FAILED:
            return {"kind": "error", "title": self.tr("print.failed_title"), "message": self.tr("print.failed"),
                    "next": "back"}
        if job.blocked:
            return {"kind": "warning", "title": self.tr("print.waiting_title"), "message": self._job_text(job),
                    "next": "back", "job": job.id}
        return None  # still printing

    def _job_text(self, job: Job | None) -> str:
        """One line on what became of a slip (for the done page); None: printed and cleared away."""
        if job is None or job.state is JobState.DONE:
            return self.tr("done.take_receipt")
        if job.state is JobState.FAILED:
            return self.tr("print.failed")
        if job.blocked:
            why = {"paper_out": "print.waiting_paper", "cover_open": "print.waiting_cover"}
            return self.tr(why.get(job.blocked, "print.waiting_printer"))
        return self.tr("done.printing")

    def _identified(self, event: IdentityRead) -> None:
        identity = event.identity
        apply_for = self.session.data.pop("apply_after_id", None)
        if self.session.active and self.session.identity and self.session.identity != identity:
            self.end_session("another card")
        if not self.session.active or self.session.identity is None:
            lang = self.tr.lang
            self.session.begin(identity)
            self.session.language = lang
        self.session.data["card_present"] = True
        # Asked for the card by "申报此事项" and still on that guide: go on to apply for it.
        here = self._under_notice if self.view.screen == "notice" else self.view
        guide = here.data.get("guide_obj") if here.screen == "guide" else None
        if apply_for and guide is not None and guide.item_code == apply_for:
            self.view = here  # back from the notice: the guide page is where "返回" leads
            self._history = [v for v in self._history if v.screen != "welcome"]  # "返回" ends at the menu
            self._show("apply", **self._apply_view(guide))
            return
        self._history.clear()
        self._show("personal", remember=False, **self._person_view())

    def _person_view(self) -> dict[str, Any]:
        ident = self.session.identity
        assert ident is not None
        return {
            "greeting": self.tr("personal.greeting", name=ident.masked_name),
            "number": self.tr("personal.number", number=ident.masked_number),
            "card": self.tr(f"card.{ident.card_type.value}") if ident.card_type != CardType.CITIZEN_CODE else "",
            "take_card": self.tr("personal.take_card") if self.session.data.get("card_present") else "",
        }

    # -- what the citizen touches ---------------------------------------------------------
    def touch(self) -> None:
        self.session.touch()
        if self.idle_warning is not None:
            self.idle_warning = None
            self._changed()

    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(lang)
        self.touch()
        self.tr = Translator(lang)
        self.session.language = lang
        # Re-render the current screen in the new language without losing its place.
        self._rerender()

    def _rerender(self) -> None:
        screen = self.view.screen
        if screen == "personal" and self.session.identity:
            self.view = View("personal", self._person_view())
        elif screen == "guide" and "guide_obj" in self.view.data:
            self.view = View("guide", self._guide_view(self.view.data["guide_obj"]))
        elif screen == "apply" and self.session.identity:
            self.view = View("apply", self._apply_view(self.view.data["guide_obj"], self.view.data["ticked"]))
        elif screen == "done":
            self.view = View("done", {**self._done_view(self.view.data), "told": self.view.data.get("told", False)})
        elif screen == "guides":
            self.view = View("guides", self._guides_view(**{k: self.view.data.get(k) for k in
                                                            ("query", "page")}))
        self._changed()

    def browse_guides(self) -> None:
        self.touch()
        if not self.session.active:
            self.session.begin(None)
        self.session.data["query"] = ""
        self._show("guides", **self._guides_view(query="", page=None, loading=True))
        self._search("")

    def search(self, query: str) -> None:
        self.touch()
        self.session.data["query"] = query
        self.view = View("guides", self._guides_view(query=query, page=self.view.data.get("page"),
                                                     loading=True))
        self._changed()
        self._search(query)

    def _search(self, query: str) -> None:
        def done(page):
            if self.view.screen == "guides" and self.session.data.get("query") == query:
                self.view = View("guides", self._guides_view(query=query, page=page))
                self._changed()

        def failed(exc: CentralError):
            if self.view.screen == "guides":
                self.view = View("guides", self._guides_view(query=query, page=None, error=exc))
                self._changed()

        self._call(lambda: self.find_guides(query, SEARCH_LIMIT), done, failed)

    def find_guides(self, query: str, limit: int):
        """Local copy when complete; else the platform; else whatever the copy has (thread pool)."""
        cat = self.catalogue
        if cat is not None and cat.ready:
            return cat.search(query, limit=limit)
        try:
            return self.central.search_guides(query, limit=limit)
        except CentralError:
            if cat is not None and cat.count():
                return cat.search(query, limit=limit)
            raise

    def fetch_guide(self, item_code: str):
        guide = self.catalogue.get(item_code) if self.catalogue is not None else None
        return guide if guide is not None else self.central.get_guide(item_code)

    def _guides_view(self, query: str | None, page, loading: bool = False,
                     error: CentralError | None = None) -> dict[str, Any]:
        items = [{"code": g.item_code, "name": g.name, "department": g.department}
                 for g in (page.items if page else [])]
        if error is not None:
            status = self._error_text(error)
        elif loading:
            status = self.tr("common.loading")
        elif page is not None and page.total == 0:
            status = self.tr("guides.none")
        elif page is not None:
            status = self.tr("guides.found", n=page.total)
        else:
            status = ""
        return {"query": query or "", "page": page, "items": items, "status": status,
                "error": error is not None, "loading": loading,
                "hot": [(t, self.tr(f"hot.{t}")) for t in HOT_TOPICS]}

    def _error_text(self, error: CentralError) -> str:
        return error.zh if self.tr.lang != "en" else self.tr("error.central")

    def open_guide(self, item_code: str) -> None:
        self.touch()

        def done(guide):
            self._show("guide", **self._guide_view(guide))

        def failed(exc: CentralError):
            self._show("notice", remember=False, kind="error", title=self.tr("error.title"),
                       message=self._error_text(exc), next="back")

        self._call(lambda: self.fetch_guide(item_code), done, failed)

    def _guide_view(self, guide) -> dict[str, Any]:
        tr = self.tr
        rows = [(tr("guide.code"), guide.item_code), (tr("guide.department"), guide.department)]
        if guide.detail_complete:
            rows += slips.facts(tr, guide)
        materials = [slips.material_line(tr, m) for m in guide.materials] if guide.detail_complete else []
        return {
            "guide_obj": guide,
            "title": guide.name,
            "rows": rows,
            "materials": materials,
            "note": "" if guide.detail_complete else tr("guide.ask_window"),
            "can_print": self.printer_name() is not None,
            # A catalogue-only guide says "ask at the window" instead: there is nothing to tick.
            "can_apply": guide.detail_complete and self.outbox is not None,
        }

    def printer_name(self) -> str | None:
        return self.devices.first_of_kind("printer") if self.devices is not None else None

    def print_guide(self) -> None:
        self.touch()
        guide = self.view.data.get("guide_obj")
        if guide is None or self.printing is None:
            return
        doc = slips.guide_slip(guide, self.tr, self.config.terminal.hall, self.config.terminal.id, self.now())
        job = self.printing.submit(doc, f"{self.config.terminal.id}-{self.now():%Y%m%d%H%M%S%f}")
        self._show("notice", remember=False, kind="progress", title=self.tr("print.printing_title"),
                   message=self.tr("print.printing"), next="", job=job.id)

    # -- applying for a service (申报) ------------------------------------------------------
    def apply(self) -> None:
        """The guide page's "申报此事项": the confirm page, or first a request for the ID card."""
        self.touch()
        guide = self.view.data.get("guide_obj")
        if self.view.screen != "guide" or guide is None or not self.view.data.get("can_apply"):
            return
        if self.session.identity is None:
            if not self.session.active:
                self.session.begin(None)
            self.session.data["apply_after_id"] = guide.item_code  # see _identified
            self._show("notice", remember=False, kind="info", title=self.tr("apply.card_title"),
                       message=self.tr("apply.card"), next="back")
            return
        self._show("apply", **self._apply_view(guide))

    def _apply_view(self, guide, ticked: list[bool] | None = None) -> dict[str, Any]:
        ident = self.session.identity
        assert ident is not None
        return {
            "guide_obj": guide,
            "title": guide.name,
            "code": self.tr("guide.code") + guide.item_code,
            "applicant": self.tr("slip.applicant") + ident.masked_name,
            "number": self.tr("slip.id_number") + ident.masked_number,
            "materials": [slips.material_line(self.tr, m) for m in guide.materials],
            # Required materials start ticked; the citizen taps to change any of them.
            "ticked": list(ticked) if ticked is not None else [m.is_required for m in guide.materials],
        }

    def toggle_material(self, index: int) -> None:
        self.touch()
        if self.view.screen != "apply" or not 0 <= index < len(self.view.data["ticked"]):
            return
        ticked = list(self.view.data["ticked"])
        ticked[index] = not ticked[index]
        self.view = View("apply", self._apply_view(self.view.data["guide_obj"], ticked))
        self._changed()

    def confirm_apply(self) -> None:
        """"确认提交": commit the case durably first; the receipt follows from tick()."""
        self.touch()
        ident = self.session.identity
        # Once committed the page is gone, and one case at a time: a second tap submits nothing.
        if self.view.screen != "apply" or ident is None or self.outbox is None or self._submitted is not None:
            return
        guide = self.view.data["guide_obj"]
        materials = tuple(m.name for m, on in zip(guide.materials, self.view.data["ticked"], strict=True) if on)
        track = self.config.central.track_url or f"{self.central.base_url}/track/{{number}}"
        receipt = receipts.record(guide, materials, ident.name, ident.id_number, self.now(), self.tr.lang, track)
        try:
            item = self.outbox.enqueue_case(CaseSubmission(item_code=guide.item_code, materials=list(materials)),
                                            ident.id_number, ident.name, receipt=receipt)
        except Exception:  # disk full, a bad item code: nothing was submitted, so nothing may print
            log.exception("case for %s not saved", guide.item_code)
            self._show("notice", remember=False, kind="error", title=self.tr("apply.not_saved_title"),
                       message=self.tr("apply.not_saved"), next="back")
            return
        log.info("case %s saved in the outbox (%s, %s)", item.terminal_ref, guide.item_code, ident.log_form())
        if self.sender is not None:
            self.sender.wake()
        self._submitted = _Submitted(item.terminal_ref, guide, self.monotonic() + self.case_wait_s)
        self._show("notice", remember=False, kind="progress", title=self.tr("apply.sending_title"),
                   message=self.tr("apply.sending"), next="")

    def _await_case_number(self) -> None:
        """On the tick: the receipt prints once the case number is known or the wait is over."""
        sub = self._submitted
        if sub is None:
            return
        item = self.outbox.by_ref(sub.ref)
        if item is not None and item.state == "pending" and self.monotonic() < sub.deadline:
            return
        self._receipt(show=True)

    def _receipt(self, show: bool) -> None:
        """Print the receipt of the submitted case and, with ``show``, say so on the done page."""
        sub, self._submitted = self._submitted, None
        if sub is None:
            return
        item = self.outbox.by_ref(sub.ref)
        if item is not None and item.state == "failed":
            # The platform refused the case itself (e.g. the item was withdrawn): no receipt for a
            # case that will never exist; staff see it in `kiosk outbox status`.
            log.error("case %s refused by the platform: %s", sub.ref, item.last_error)
            self.outbox.set_receipt_state(sub.ref, "refused")
            if show:
                self._show("notice", remember=False, kind="error", title=self.tr("apply.not_saved_title"),
                           message=self.tr("apply.refused", ref=sub.ref), next="home")
            return
        number = item.case_number if item is not None else ""
        job = None
        if self.printing is not None:
            # One job per case, whatever happens: its id comes from the terminal reference.
            job = receipts.hand_to_printer(self.outbox, self.printing.queue, self.printing.printer, sub.ref,
                                           self.config.terminal.hall, self.config.terminal.id, self.now()).id
            self.printing.pump()
        log.info("receipt of case %s: %s", sub.ref, number or "terminal reference (not delivered yet)")
        if show:
            self._history.clear()  # no way back to the confirm page of a submitted case
            self._show("done", remember=False, **self._done_view(
                {"guide_obj": sub.guide, "number": number or sub.ref, "provisional": not number, "job": job}))

    def _next_steps(self, guide) -> str:
        return receipts.next_steps(self.tr, guide.promised_limit_days)

    def _done_view(self, data: dict[str, Any]) -> dict[str, Any]:
        """The done page from its own data (guide, number, provisional, job), in the current language."""
        provisional = data["provisional"]
        if data["job"] and self.printing is not None:
            receipt = self._job_text(self.printing.queue.get(data["job"]))
        else:
            receipt = self.tr("done.no_printer")
        return {
            "guide_obj": data["guide_obj"], "number": data["number"], "provisional": provisional, "job": data["job"],
            "title": data["guide_obj"].name,
            "number_label": self.tr("done.number_terminal" if provisional else "done.number"),
            "follows": self.tr("slip.number_follows") if provisional else "",
            "next_steps": self._next_steps(data["guide_obj"]),
            "receipt": receipt,
        }

    def back(self) -> None:
        self.touch()
        if self._history:
            self.view = self._history.pop()
            self._rerender()
        else:
            self.home()

    def home(self) -> None:
        self.touch()
        self._history.clear()
        if self.session.active and self.session.identity:
            self._show("personal", remember=False, **self._person_view())
        else:
            self.session.end("home")
            self._show("welcome", remember=False)

    def dismiss_notice(self) -> None:
        nxt = self.view.data.get("next")
        if nxt == "back":
            self.view = self._under_notice
            self._rerender()
        elif nxt == "welcome":
            self._show("welcome", remember=False)
        else:
            self.home()

    def logout(self) -> None:
        self.end_session("logout")
        self._show("notice", remember=False, kind="info", title=self.tr("session.ended_title"),
                   message=self.tr("session.ended"), next="welcome")

    def end_session(self, reason: str) -> None:
        # A case submitted a moment ago is in the outbox already; its receipt prints now, in the
        # citizen's language, and the person goes with the rest of the session.
        self._receipt(show=False)
        self.session.end(reason)
        # Drop every view that showed the person, including the one a notice would return to.
        self.view = self._under_notice = View()
        self._history.clear()
        self.idle_warning = None
        self.tr = Translator(self.config.terminal.language)

    # -- for the status bar ---------------------------------------------------------------
    def device_summary(self) -> list[tuple[str, str, bool]]:
        """(device name, plain status text, ok?) for every configured device."""
        out = []
        names = list(self.devices.workers) if self.devices is not None else []
        for name in names:
            st = self.device_states.get(name, {"state": DeviceState.UNKNOWN.value})
            text = self.tr(f"state.{st['state']}")
            ok = st["state"] == DeviceState.ONLINE.value
            if st.get("paper") in ("out", "low"):
                text = self.tr(f"paper.{st['paper']}")
                ok = st["paper"] != "out"
            if st.get("cover") == "open":
                text, ok = self.tr("cover.open"), False
            out.append((name, text, ok))
        return out
