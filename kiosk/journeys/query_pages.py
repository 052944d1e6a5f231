"""The pages of the case query journey (kiosk/journeys/query.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kiosk.pages import Page, page


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
