"""Page models: what each screen shows, as plain text in the citizen's language.

One frozen dataclass per page; a journey builds them, a screen (``screens/<name>.kv``) renders one
and never computes anything. Every field has a default so a screen not on display can bind to an
empty page. Nothing here holds an object of the platform or a full personal value: names and
numbers are already masked when they reach a page.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

PAGES: dict[str, type[Page]] = {}  # screen name -> its page model; screens/ has a rule per name


@dataclass(frozen=True)
class Page:
    screen: ClassVar[str] = ""


def page(cls: type[Page]) -> type[Page]:
    """Register a page model under its screen name (a journey's own pages live in its module)."""
    assert cls.screen and PAGES.get(cls.screen, cls) is cls, f"screen {cls.screen!r} taken"
    PAGES[cls.screen] = cls
    return cls


@dataclass(frozen=True)
class Entry:
    """A journey's button on the welcome or personal page."""

    journey: str
    title: str
    sub: str = ""


@page
@dataclass(frozen=True)
class WelcomePage(Page):
    screen: ClassVar[str] = "welcome"
    entries: tuple[Entry, ...] = ()  # what can be done without a card
    prompt: str = ""  # "place your card", or "take your card" when one was left on the reader
    prompt_sub: str = ""
    use_card: str = ""  # the button that reads a card left on the reader again; "" when none is
    elder: bool = False  # 长辈模式 is on
    elder_button: str = ""  # the words of its switch: turn it on, or back off
    notice: str = ""  # the hall's notice from the platform (kiosk.commands), as staff wrote it


@page
@dataclass(frozen=True)
class OutOfServicePage(Page):
    """Instead of the welcome page while the platform has the terminal out of service."""

    screen: ClassVar[str] = "out_of_service"
    title: str = ""
    message: str = ""
    notice: str = ""


@page
@dataclass(frozen=True)
class PersonalPage(Page):
    screen: ClassVar[str] = "personal"
    greeting: str = ""
    number: str = ""
    card: str = ""
    take_card: str = ""
    entries: tuple[Entry, ...] = ()
    elder: bool = False
    elder_button: str = ""


@dataclass(frozen=True)
class ResultItem:
    code: str
    name: str
    department: str


@page
@dataclass(frozen=True)
class GuidesPage(Page):
    screen: ClassVar[str] = "guides"
    query: str = ""
    items: tuple[ResultItem, ...] = ()
    mentions: tuple[ResultItem, ...] = ()  # guides that only mention the query among their materials
    status: str = ""
    error: bool = False
    loading: bool = False
    hot: tuple[tuple[str, str], ...] = ()  # (query, label)
    # Nothing found: words to try instead and popular topics (query, label), and where to ask.
    nothing: bool = False
    suggestions: tuple[tuple[str, str], ...] = ()
    topics: tuple[tuple[str, str], ...] = ()
    ask: str = ""
    # Chinese for the pinyin at the end of the query (the catalogue's own words first); a pick
    # replaces the letters it stands for.
    candidates: tuple[str, ...] = ()
    handwriting: bool = False  # the handwriting pad is out instead of the keyboard
    pad_round: int = 0  # changes when the pad is to be cleared


@page
@dataclass(frozen=True)
class GuidePage(Page):
    screen: ClassVar[str] = "guide"
    code: str = ""
    title: str = ""
    rows: tuple[tuple[str, str], ...] = ()  # (label, value)
    materials: tuple[str, ...] = ()
    note: str = ""
    language_note: str = ""  # some of the guide is shown in Chinese: the platform has it in no other language
    can_print: bool = False
    can_apply: bool = False


@page
@dataclass(frozen=True)
class ApplyPage(Page):
    screen: ClassVar[str] = "apply"
    title: str = ""
    code: str = ""
    applicant: str = ""
    number: str = ""
    materials: tuple[str, ...] = ()
    ticked: tuple[bool, ...] = ()
    printer_note: str = ""  # before submitting: the receipt cannot print now, and what to do


@page
@dataclass(frozen=True)
class DonePage(Page):
    screen: ClassVar[str] = "done"
    title: str = ""
    number: str = ""
    number_label: str = ""
    provisional: bool = False
    follows: str = ""
    next_steps: str = ""
    receipt: str = ""
    take_card: str = ""  # the card is still on the reader
    can_rate: bool = False  # 好差评 of this case, offered after the receipt


@page
@dataclass(frozen=True)
class NoticePage(Page):
    """An overlay: shown above the current page, never part of the way back."""

    screen: ClassVar[str] = "notice"
    kind: str = "info"  # info | warning | error | progress (no OK button)
    title: str = ""
    message: str = ""
    take_card: str = ""  # signed out with the card still on the reader


@page
@dataclass(frozen=True)
class QuestionPage(Page):
    """A yes/no question of a journey's own (its step): the buttons act "answer" with yes=True/False."""

    screen: ClassVar[str] = "question"
    title: str = ""
    message: str = ""
    yes: str = ""
    no: str = ""


def field_names(page_class: type[Page]) -> set[str]:
    return {f.name for f in fields(page_class)}
