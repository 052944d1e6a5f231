"""Follow a case (办件查询): by the number on the receipt, or from the citizen's own cases.

Steps: ``number`` (a large keypad for the case number or an offline receipt's terminal reference),
``mine`` (the identified citizen's cases, newest first) and ``timeline`` (one case, like parcel
tracking: every step with its time, the current one highlighted, what 补齐补正 asks for and by
when, the promised date and the days left; the progress can be printed).

Whose data: the platform answers a case by number to anyone, with its notes and the applicant's
masked ID number. This journey keeps all of it only when the platform also answers it to the
identified citizen's person token (it is theirs); anyone else gets the status only (the item,
the state, the steps and their dates), cut down in the background call before the answer
reaches the journey, so no page or slip can show more.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, replace
from typing import ClassVar
from urllib.parse import quote

from contract.models import Case, CaseState
from kiosk import slips
from kiosk.central_client import CentralError
from kiosk.i18n import catalogue
from kiosk.journeys.base import NEEDS_IDENTITY, Journey, Notice, Result, Start
from kiosk.pages import Page, page

log = logging.getLogger("kiosk.journeys.query")

MAX_NUMBER = 50  # the contract's bound on a case number
CASE_LETTERS = "ABCDEFG"  # GA + date + upper-case hex (central.platform)
FINISHED = (CaseState.CONCLUDED, CaseState.DELIVERED, CaseState.AWAITING_RATING)
NO_DEADLINE = (CaseState.NOT_ACCEPTED,)


def normalize(text: str) -> str:
    """What was typed or pasted, as the platform knows it: no spaces, upper case."""
    return re.sub(r"\s+", "", text).upper()[:MAX_NUMBER]


def grouped(number: str) -> str:
    """A case number readable aloud: the 6-character prefix, then groups of 4
    (GA2026 1130 ED85 ECDB). A terminal reference keeps its own dashes."""
    if "-" in number or len(number) <= 6:
        return number
    rest = number[6:]
    return " ".join([number[:6], *(rest[i:i + 4] for i in range(0, len(rest), 4))])


def local(at: dt.datetime) -> dt.datetime:
    """The platform's aware time as this terminal's wall clock (what shell.now() gives)."""
    return at.astimezone().replace(tzinfo=None) if at.tzinfo else at


def keypad_letters(terminal_id: str) -> tuple[str, ...]:
    """The letters a case number or this terminal's references can hold, nothing more to hunt through."""
    return tuple(sorted(set(CASE_LETTERS) | {c for c in terminal_id.upper() if "A" <= c <= "Z"}))


# -- what the journey keeps of a case ---------------------------------------------------------
@dataclass(frozen=True)
class CaseStep:
    state: CaseState
    label: str
    at: dt.datetime
    note: str = ""


@dataclass(frozen=True)
class CaseView:
    """A case as this kiosk may show it: everything for its applicant, the status only otherwise."""

    case_no: str
    item_name: str
    state: CaseState
    state_label: str
    events: tuple[CaseStep, ...]
    own: bool
    submitted_at: dt.datetime
    promised_by: dt.datetime | None = None
    evaluated: bool = False
    # The applicant's own case only:
    applicant: str = ""  # the ID number, masked 6+4 by the platform
    result: str = ""  # approved (准予) / denied (不予)
    supplement: tuple[str, ...] = ()  # 一次性告知: every material to bring
    supplement_due: dt.datetime | None = None
    supplement_note: str = ""


def case_view(case: Case, own: bool) -> CaseView:
    events = tuple(CaseStep(e.state, e.label, e.at, e.note if own else "") for e in case.timeline)
    view = CaseView(case_no=case.case_no, item_name=case.item_name, state=case.state,
                    state_label=case.state_label, events=events, own=own, submitted_at=case.submitted_at,
                    promised_by=case.promised_by, evaluated=case.evaluated)
    if not own:
        return view
    sup = case.supplement
    return replace(view, applicant=case.applicant_masked, result=case.result or "",
                   supplement=tuple(sup.materials) if sup else (), supplement_due=sup.due if sup else None,
                   supplement_note=sup.note if sup else "")


def look_up(central, ident, number: str) -> CaseView:
    """In the pool: the case as its applicant sees it if ``ident`` is the applicant, else the
    status only. The person token lives for this call only."""
    if ident is None:
        return case_view(central.get_case(number), own=False)
    token = central.person_token(ident.id_number, ident.name).token
    try:
        try:
            return case_view(central.get_case(number, token), own=True)
        except CentralError as exc:
            if exc.code != "not_found":
                raise
        # Not this person's (the platform answers 404 to another person's token): status only.
        return case_view(central.get_case(number), own=False)
    finally:
        _revoke(central, token)


def my_cases(central, ident) -> list[CaseView]:
    token = central.person_token(ident.id_number, ident.name).token
    try:
        cases = central.my_cases(token).items
    finally:
        _revoke(central, token)
    return sorted((case_view(c, own=True) for c in cases), key=lambda v: v.submitted_at, reverse=True)


def _revoke(central, token: str) -> None:
    try:
        central.revoke_person_token(token)
    except CentralError as exc:  # it expires by itself within minutes
        log.warning("person token not revoked (%s)", exc.code)


# -- pages ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseRow:
    case_no: str
    number: str  # grouped
    item: str
    state: str
    date: str
    attention: bool = False  # 补齐补正: the citizen has something to do


@dataclass(frozen=True)
class TimelineRow:
    time: str
    label: str
    note: str = ""
    current: bool = False


@page
@dataclass(frozen=True)
class QueryNumberPage(Page):
    screen: ClassVar[str] = "query_number"
    typed: str = ""  # as typed, grouped for reading
    letters: tuple[str, ...] = ()
    status: str = ""
    error: bool = False
    loading: bool = False
    mine: str = ""  # the "my cases" button: its words


@page
@dataclass(frozen=True)
class QueryMinePage(Page):
    screen: ClassVar[str] = "query_mine"
    rows: tuple[CaseRow, ...] = ()
    status: str = ""
    error: bool = False
    loading: bool = False


@page
@dataclass(frozen=True)
class QueryTimelinePage(Page):
    screen: ClassVar[str] = "query_timeline"
    title: str = ""
    number: str = ""  # grouped for reading
    state: str = ""
    attention: bool = False
    applicant: str = ""  # the masked ID number, the applicant's own case only
    deadline: str = ""
    late: bool = False
    supplement_title: str = ""
    supplement: tuple[str, ...] = ()
    supplement_note: str = ""
    status_only: str = ""  # why there is no more to see
    can_identify: bool = False  # "I am the applicant": nobody identified yet
    steps: tuple[TimelineRow, ...] = ()
    can_print: bool = False
    can_rate: bool = False


# -- the journey ------------------------------------------------------------------------------
class Query(Journey):
    name = "query"
    first_step = "number"
    entry = "query.entry"
    on_welcome = True  # a number off a receipt needs no card

    def __init__(self, shell):
        super().__init__(shell)
        self.history: list[str] = []  # steps to go back to
        self.wanted = ""  # what the card was asked for: "mine", or "again" (the same case in full)
        # number: what is typed, the look-up on its way, why the last one found nothing
        self.typed = ""
        self.loading = False
        self.message = ""
        self.asked = 0  # a look-up since typed over or left: its answer is stale
        # mine: the citizen's cases (None until they are here)
        self.cases: list[CaseView] | None = None
        self.mine_loading = False
        self.mine_message = ""
        # timeline: the case on screen, already cut to what this person may see
        self.view: CaseView | None = None

    @property
    def ident(self):
        return self.shell.session.identity

    def start(self) -> Result:
        if not self.shell.session.active:
            self.shell.session.begin(None)  # a query without a card still times out
        if self.ident is None:
            return None
        self.step = "mine"  # what an identified citizen most likely came for; back leaves
        return self._mine()

    def back(self) -> bool:
        if not self.history:
            return False
        self._forget_look_up()
        self.step = self.history.pop()
        return True

    def _go(self, step: str) -> None:
        if step != self.step:
            self.history.append(self.step)
            self.step = step

    def _forget_look_up(self) -> None:
        self.asked += 1  # whatever was on its way is for a page or a number the citizen left
        self.loading = False

    def resume(self) -> Result:
        """Back from the card: on to what the card was asked for (given up: stay)."""
        wanted, self.wanted = self.wanted, ""
        if self.ident is None:
            return None
        if wanted == "again":  # "I am the applicant" on a case shown as status only
            self.step = self.history.pop() if self.history else "number"
            return self.do_search()
        return self._mine()

    # -- number -------------------------------------------------------------------------------
    def _edit(self, typed: str) -> Result:
        if typed != self.typed:
            self._forget_look_up()
        self.typed, self.message = typed, ""
        return None

    def do_type(self, text: str) -> Result:
        return self._edit(normalize(self.typed + text))

    def do_backspace(self) -> Result:
        return self._edit(self.typed[:-1])

    def do_clear(self) -> Result:
        return self._edit("")

    def do_search(self) -> Result:
        if not self.typed or self.loading:
            return None
        number, ident = self.typed, self.ident
        self.asked += 1
        asked = self.asked
        self.loading, self.message = True, ""

        def done(view: CaseView) -> Result:
            if asked == self.asked:
                self.loading, self.view = False, view
                self._go("timeline")
            return None

        def failed(exc: CentralError) -> Result:
            if asked == self.asked:
                self.loading, self.message = False, self._not_found(number, exc)
            return None

        self.call(lambda: look_up(self.shell.central, ident, number), done, failed)
        return None

    def _not_found(self, number: str, exc: CentralError) -> str:
        outbox = self.shell.outbox
        item = outbox.find(number) if outbox is not None else None
        if item is not None and item.kind == "case" and item.state == "pending":
            return self.tr("query.pending_here")  # an offline receipt's case, still on its way
        if exc.code == "not_found":
            return self.tr("query.not_found")
        log.warning("case query failed: %s", exc.message)
        return self.shell.error_text(exc)

    def page_number(self) -> QueryNumberPage:
        tr = self.tr
        status = tr("common.loading") if self.loading else self.message or tr("query.number_hint")
        return QueryNumberPage(typed=grouped(self.typed), letters=keypad_letters(self.shell.config.terminal.id),
                               status=status, error=bool(self.message), loading=self.loading,
                               mine=tr("query.mine") if self.ident is not None else tr("query.mine_card"))

    def do_mine(self) -> Result:
        if self.ident is None:
            self.wanted = "mine"
            return NEEDS_IDENTITY  # the card, then resume() goes on to the citizen's cases
        return self._mine()

    def do_applicant(self) -> Result:
        """"I am the applicant" under a case shown as status only: the card, then the case again."""
        if self.step != "timeline" or self.ident is not None or self.view is None or self.view.own:
            return None
        self.wanted = "again"
        return NEEDS_IDENTITY

    # -- mine ---------------------------------------------------------------------------------
    def _mine(self) -> Result:
        ident = self.ident
        if ident is None:
            return None
        self._go("mine")
        if self.mine_loading:
            return None  # already on its way
        self.mine_loading, self.mine_message = True, ""

        def done(cases: list[CaseView]) -> Result:
            self.mine_loading, self.cases = False, cases
            return None

        def failed(exc: CentralError) -> Result:
            log.warning("my cases failed: %s", exc.message)
            self.mine_loading, self.mine_message = False, self.shell.error_text(exc)
            return None

        self.call(lambda: my_cases(self.shell.central, ident), done, failed)
        return None

    def page_mine(self) -> QueryMinePage:
        tr = self.tr
        rows = tuple(CaseRow(case_no=v.case_no, number=grouped(v.case_no), item=v.item_name,
                             state=self._state(v), date=tr("query.submitted", date=f"{local(v.submitted_at):%Y-%m-%d}"),
                             attention=v.state == CaseState.SUPPLEMENT)
                     for v in self.cases or ())
        if self.mine_loading:
            status = tr("common.loading")
        elif self.mine_message:
            status = self.mine_message
        elif self.cases is not None:
            status = tr("query.mine_count", n=len(rows)) if rows else tr("query.mine_none")
        else:
            status = ""
        return QueryMinePage(rows=rows, status=status, error=bool(self.mine_message), loading=self.mine_loading)

    def do_open(self, case_no: str) -> Result:
        view = next((v for v in self.cases or () if v.case_no == case_no), None)
        if view is not None and self.step == "mine":
            self.view = view
            self._go("timeline")
        return None

    def do_number(self) -> Result:
        """From "my cases" to the keypad: a case on someone else's behalf, or by its number."""
        if self.step == "mine":
            self._go("number")
        return None

    # -- timeline -----------------------------------------------------------------------------
    def _state(self, view: CaseView) -> str:
        label = catalogue(self.tr.lang).get(f"query.state_{view.state.value}", view.state_label)
        return label + (self.tr(f"query.result_{view.result}") if view.result else "")

    def _deadline(self, view: CaseView) -> tuple[str, bool]:
        """(the promised date and what it means today, late?)"""
        tr = self.tr
        if view.promised_by is None or view.state in NO_DEADLINE:
            return "", False
        promised = local(view.promised_by)
        date = f"{promised:%Y-%m-%d}"
        if view.state in FINISHED:
            return tr("query.deadline_done", date=date), False
        if view.state == CaseState.SPECIAL:
            return tr("query.deadline_paused", date=date), False
        days = (promised.date() - self.shell.now().date()).days
        if days > 0:
            return tr("query.deadline_left", date=date, n=days), False
        if days == 0:
            return tr("query.deadline_today", date=date), False
        return tr("query.deadline_over", date=date, n=-days), True

    def _supplement(self, view: CaseView) -> tuple[str, str]:
        """(heading, the line under the list) of the 补齐补正 box; empty when nothing is asked."""
        tr = self.tr
        if view.state != CaseState.SUPPLEMENT:
            return "", ""
        if not view.own:
            return tr("query.supplement_title"), tr("query.supplement_private")
        if view.supplement_due is None:
            return tr("query.supplement_title"), view.supplement_note
        due = local(view.supplement_due)
        days = (due.date() - self.shell.now().date()).days
        when = tr("query.supplement_due", date=f"{due:%Y-%m-%d}", n=max(days, 0))
        return tr("query.supplement_title"), " ".join(t for t in (when, view.supplement_note) if t)

    def page_timeline(self) -> QueryTimelinePage:
        tr, view = self.tr, self.view
        if view is None:
            return QueryTimelinePage(title=tr("common.loading"))
        deadline, late = self._deadline(view)
        sup_title, sup_note = self._supplement(view)
        words = catalogue(tr.lang)
        steps = tuple(TimelineRow(time=f"{local(e.at):%Y-%m-%d %H:%M}",
                                  label=words.get(f"query.state_{e.state.value}", e.label), note=e.note,
                                  current=i == 0)
                      for i, e in enumerate(reversed(view.events)))  # newest first, like parcel tracking
        return QueryTimelinePage(
            title=view.item_name, number=grouped(view.case_no), state=self._state(view),
            attention=view.state == CaseState.SUPPLEMENT, applicant=view.applicant if view.own else "",
            deadline=deadline, late=late, supplement_title=sup_title, supplement=view.supplement,
            supplement_note=sup_note, status_only="" if view.own else tr("query.status_only"), steps=steps,
            can_identify=not view.own and self.ident is None,
            can_print=self.shell.printing is not None, can_rate=self._can_rate(view))

    def _can_rate(self, view: CaseView) -> bool:
        from kiosk.journeys import JOURNEYS  # not at the top: the registry imports this module

        # The rating journey comes with its own module; until it is there, no button.
        # Another identified person could not rate this case; nobody identified may be its applicant.
        return ("rating" in JOURNEYS and view.state in FINISHED and not view.evaluated
                and (view.own or self.ident is None))

    def do_rate(self) -> Result:
        if self.step == "timeline" and self.view is not None and self._can_rate(self.view):
            return Start("rating", {"case_no": self.view.case_no})
        return None

    def do_print(self) -> Result:
        shell, view = self.shell, self.view
        if self.step != "timeline" or view is None or shell.printing is None:
            return None
        terminal = shell.config.terminal
        doc = slips.case_progress(self._slip(view), self.tr, terminal.hall, terminal.id, shell.now())
        job = shell.printing.submit(doc, f"progress-{terminal.id}-{shell.now():%Y%m%d%H%M%S%f}")
        return Notice("progress", self.tr("print.printing_title"), self.tr("print.printing"), job=job.id)

    def _slip(self, view: CaseView) -> slips.CaseProgress:
        page_ = self.page_timeline()
        track = self.shell.config.central.track_url or f"{self.shell.central.base_url}/track/{{number}}"
        return slips.CaseProgress(
            number=grouped(view.case_no), item_name=view.item_name, state=page_.state, applicant=view.applicant,
            deadline=page_.deadline, supplement_title=page_.supplement_title, supplement=view.supplement,
            supplement_note=page_.supplement_note,
            steps=tuple((r.time, r.label, r.note) for r in page_.steps), status_only=not view.own,
            query_url=track.replace("{number}", quote(view.case_no, safe="")))
