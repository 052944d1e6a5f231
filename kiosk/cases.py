"""What a terminal may show of a case (办件): everything to its applicant, the status only to anyone
else, looked up through the platform with a person token that lives for one call.

The platform answers a case by number to any terminal, with its notes and the applicant's masked ID
number; ``look_up`` keeps all of it only when the platform also answers it to the identified
citizen's person token (it is theirs), and cuts it down to the status (the item, the state, the
steps and their dates) before it leaves the thread pool, so no page or slip can show more.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from contract.models import Case, CaseState
from kiosk.central_client import CentralError, person_session

MAX_NUMBER = 50  # the contract's bound on a case number
FINISHED = (CaseState.CONCLUDED, CaseState.DELIVERED, CaseState.AWAITING_RATING)
NO_DEADLINE = (CaseState.NOT_ACCEPTED,)


def normalize(text: str) -> str:
    """What was typed or pasted, as the platform knows it: no spaces, upper case."""
    return re.sub(r"\s+", "", text).upper()[:MAX_NUMBER]


def local(at: dt.datetime) -> dt.datetime:
    """The platform's aware time as this terminal's wall clock (what shell.now() gives)."""
    return at.astimezone().replace(tzinfo=None) if at.tzinfo else at


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
    with person_session(central, ident.id_number, ident.name) as token:
        try:
            return case_view(central.get_case(number, token), own=True)
        except CentralError as exc:
            if exc.code != "not_found":
                raise
    # Not this person's (the platform answers 404 to another person's token): status only.
    return case_view(central.get_case(number), own=False)


MINE_SHOWN = 10  # of a person's cases, the newest; an older one is found by its number (the keypad)


def my_cases(central, ident, limit: int = MINE_SHOWN) -> tuple[list[CaseView], int]:
    """The person's newest cases, and how many they have in all: a business agent may have
    hundreds, and a list of them all would be slow to draw and to scroll at a kiosk."""
    with person_session(central, ident.id_number, ident.name) as token:
        page = central.my_cases(token, limit=limit)
    views = sorted((case_view(c, own=True) for c in page.items), key=lambda v: v.submitted_at, reverse=True)
    return views, max(page.total, len(views))
