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

import logging
from urllib.parse import quote

from contract.models import CaseState
from kiosk import slips
from kiosk.cases import FINISHED, NO_DEADLINE, CaseView, local, look_up, my_cases, normalize
from kiosk.central_client import CentralError
from kiosk.i18n import catalogue
from kiosk.journeys.base import NEEDS_IDENTITY, STAY, Journey, Notice, Result, Start, Words
from kiosk.journeys.query_pages import CaseRow, QueryMinePage, QueryNumberPage, QueryTimelinePage, TimelineRow
from kiosk.slips import group_number

log = logging.getLogger("kiosk.journeys.query")

CASE_LETTERS = "ABCDEFG"  # GA + date + upper-case hex (central.platform)


def keypad_letters(terminal_id: str) -> tuple[str, ...]:
    """The letters a case number or this terminal's references can hold, nothing more to hunt through."""
    return tuple(sorted(set(CASE_LETTERS) | {c for c in terminal_id.upper() if "A" <= c <= "Z"}))


# -- the journey ------------------------------------------------------------------------------
class Query(Journey):
    name = "query"
    first_step = "number"
    entry = "query.entry"
    on_welcome = True  # a number off a receipt needs no card

    def __init__(self, shell, number: str = ""):
        super().__init__(shell)
        self.history: list[str] = []  # steps to go back to
        self.wanted = ""  # what the card was asked for: "mine", or "again" (the same case in full)
        # number: what is typed, the look-up on its way, why the last one found nothing
        self.typed = normalize(number)  # a scanned receipt's QR brings its number
        self.loading = False
        self.message = ""
        self.asked = 0  # a look-up since typed over or left: its answer is stale
        # mine: the citizen's cases (None until they are here)
        self.cases: list[CaseView] | None = None
        self.cases_total = 0  # how many they have in all: the newest few are shown (kiosk.cases)
        self.mine_loading = False
        self.mine_message = ""
        # timeline: the case on screen, already cut to what this person may see
        self.view: CaseView | None = None

    @property
    def ident(self):
        return self.shell.session.identity

    @property
    def needs_identity(self) -> bool:
        """Once it has shown the person's own cases it holds their data: the card taken, it goes."""
        return self.cases is not None or (self.view is not None and self.view.own) or bool(self.wanted)

    def on_identified(self) -> Result:
        """A card laid down while typing a number or reading a case shown as status only: stay,
        and show that case in full if it is this person's."""
        if self.step == "timeline" and self.view is not None and not self.view.own:
            self.wanted = "again"
            return self.resume()
        return STAY if self.step == "number" else None

    def start(self) -> Result:
        if not self.shell.session.active:
            self.shell.session.begin(None)  # a query without a card still times out
        if self.typed:  # started with a number (a scanned receipt): look it up at once
            return self.do_search()
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
        return QueryNumberPage(typed=group_number(self.typed), letters=keypad_letters(self.shell.config.terminal.id),
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

        def done(answer: tuple[list[CaseView], int]) -> Result:
            self.mine_loading, (self.cases, self.cases_total) = False, answer
            return None

        def failed(exc: CentralError) -> Result:
            log.warning("my cases failed: %s", exc.message)
            self.mine_loading, self.mine_message = False, self.shell.error_text(exc)
            return None

        self.call(lambda: my_cases(self.shell.central, ident), done, failed)
        return None

    def page_mine(self) -> QueryMinePage:
        tr = self.tr
        rows = tuple(CaseRow(case_no=v.case_no, number=group_number(v.case_no), item=v.item_name,
                             state=self._state(v), date=tr("query.submitted", date=f"{local(v.submitted_at):%Y-%m-%d}"),
                             attention=v.state == CaseState.SUPPLEMENT)
                     for v in self.cases or ())
        if self.mine_loading:
            status = tr("common.loading")
        elif self.mine_message:
            status = self.mine_message
        elif self.cases is not None:
            status = (tr("query.mine_latest", shown=len(rows), n=self.cases_total) if self.cases_total > len(rows)
                      else tr("query.mine_count", n=len(rows)) if rows else tr("query.mine_none"))
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
            title=view.item_name, number=group_number(view.case_no), state=self._state(view),
            attention=view.state == CaseState.SUPPLEMENT, applicant=view.applicant if view.own else "",
            deadline=deadline, late=late, supplement_title=sup_title, supplement=view.supplement,
            supplement_note=sup_note, status_only="" if view.own else tr("query.status_only"), steps=steps,
            can_identify=not view.own and self.ident is None,
            can_print=self.shell.printing is not None, can_rate=self._can_rate(view))

    def _can_rate(self, view: CaseView) -> bool:

        # The rating journey comes with its own module; until it is there, no button.
        # Another identified person could not rate this case; nobody identified may be its applicant.
        return ("rating" in self.shell.journeys and view.state in FINISHED and not view.evaluated
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
        return Notice("progress", Words("print.printing_title"), Words("print.printing"), job=job.id)

    def _slip(self, view: CaseView) -> slips.CaseProgress:
        page_ = self.page_timeline()
        track = self.shell.config.central.track_url or f"{self.shell.central.base_url}/track/{{number}}"
        return slips.CaseProgress(
            number=group_number(view.case_no), item_name=view.item_name, state=page_.state, applicant=view.applicant,
            deadline=page_.deadline, supplement_title=page_.supplement_title, supplement=view.supplement,
            supplement_note=page_.supplement_note,
            steps=tuple((r.time, r.label, r.note) for r in page_.steps), status_only=not view.own,
            query_url=track.replace("{number}", quote(view.case_no, safe="")))
