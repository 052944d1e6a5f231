"""Browse by life event (一件事): 出生, 上学, 就业, ... each with the items a citizen needs for it and
one combined materials checklist to print.

Steps: ``events`` (a big button per event; the platform keeps the event → items map) and ``items``
(the event's items and, beside them, every material they ask for once). A row opens its guide
(the guide journey started with ``code=``; back comes here again); "打印材料清单" prints the
checklist through the durable print queue. Items whose guide has no material list (catalogue-only)
say "请到窗口咨询". Nothing here is about a person, so it is on the welcome page too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kiosk import guide_text, slips
from kiosk.central_client import CentralError
from kiosk.i18n import catalogue
from kiosk.journeys.base import Journey, Notice, Result, Start, Words
from kiosk.journeys.guide import fetch_guide
from kiosk.pages import Page, page


@dataclass(frozen=True)
class EventButton:
    code: str
    label: str
    sub: str = ""


@page
@dataclass(frozen=True)
class LifeEventsPage(Page):
    screen: ClassVar[str] = "life_events"
    events: tuple[EventButton, ...] = ()
    status: str = ""
    error: bool = False
    loading: bool = False


@dataclass(frozen=True)
class EventItem:
    code: str
    name: str  # "3. 户口登记"
    department: str
    note: str = ""  # "请到窗口咨询" for an item without a material list


@page
@dataclass(frozen=True)
class LifeEventPage(Page):
    screen: ClassVar[str] = "life_event"
    title: str = ""
    note: str = ""
    items: tuple[EventItem, ...] = ()
    materials: tuple[str, ...] = ()  # the combined checklist, each material once
    status: str = ""
    error: bool = False
    loading: bool = False
    can_print: bool = False


def fetch_event(central, catalogue_, code: str):
    """(the event, each item's guide or None when it has no material list) - in the thread pool."""
    event = central.life_event(code)
    guides = []
    for item in event.items:
        guide = None
        if item.detail_complete:
            try:
                guide = fetch_guide(central, catalogue_, item.item_code)
            except CentralError as exc:
                if exc.code != "not_found":
                    raise
        guides.append(guide if guide is not None and guide.detail_complete else None)
    return event, guides


class LifeEventJourney(Journey):
    name = "lifeevent"
    first_step = "events"
    entry = "lifeevent.entry"
    on_welcome = True

    def __init__(self, shell):
        super().__init__(shell)
        self.events = None  # contract LifeEventList, once answered
        self.code = ""  # the event asked for or shown
        self.event = None  # contract LifeEvent
        self.guides: list = []  # per item: its Guide, or None (ask at the window)
        self.loading = False
        self.error: CentralError | None = None

    def start(self) -> Result:
        if not self.shell.session.active:
            self.shell.session.begin(None)  # anonymous browsing still times out
        return self._load_events()

    def back(self) -> bool:
        if self.step == "items":
            self.step, self.code, self.event, self.error, self.loading = "events", "", None, None, False
            if self.events is None:
                self._load_events()
            return True
        return False

    def label(self, code: str, name: str) -> str:
        """The event in the citizen's language; one the kiosk has no words for, as the platform names it."""
        return catalogue(self.tr.lang).get(f"lifeevent.event_{code}", name)

    # -- events -------------------------------------------------------------------------------
    def _load_events(self) -> Result:
        self.loading, self.error = True, None

        def done(events) -> Result:
            if self.step == "events":
                self.events, self.loading = events, False
            return None

        def failed(exc: CentralError) -> Result:
            if self.step == "events":
                self.loading, self.error = False, exc
            return None

        self.call(self.shell.central.life_events, done, failed)
        return None

    def do_retry(self) -> Result:
        return self._load_events() if self.step == "events" else self.do_open(self.code)

    def page_events(self) -> LifeEventsPage:
        tr, events = self.tr, self.events
        buttons = tuple(EventButton(e.code, self.label(e.code, e.name), tr("lifeevent.n_items", n=len(e.items)))
                        for e in (events.items if events else []))
        status = self.shell.error_text(self.error) if self.error else tr("common.loading") if self.loading else ""
        return LifeEventsPage(events=buttons, status=status, error=self.error is not None, loading=self.loading)

    # -- one event ----------------------------------------------------------------------------
    def do_open(self, code: str) -> Result:
        self.step, self.code, self.event, self.guides = "items", code, None, []
        self.loading, self.error = True, None
        shell = self.shell

        def done(answer) -> Result:
            if self.step == "items" and self.code == code:  # not an event left since
                self.event, self.guides = answer
                self.loading = False
            return None

        def failed(exc: CentralError) -> Result:
            if self.step == "items" and self.code == code:
                self.loading, self.error = False, exc
            return None

        self.call(lambda: fetch_event(shell.central, shell.catalogue, code), done, failed)
        return None

    def _checklist_items(self) -> list[tuple[str, list | None]]:
        """(item name, its materials or None) in the citizen's language (kiosk.guide_text)."""
        tr = self.tr
        return [(guide_text.in_language(item.name, tr.lang),
                 guide_text.localise(guide, tr).materials if guide is not None else None)
                for item, guide in zip(self.event.items, self.guides, strict=True)]

    def page_items(self) -> LifeEventPage:
        tr, event = self.tr, self.event
        known = next((e for e in (self.events.items if self.events else []) if e.code == self.code), None)
        title = self.label(self.code, (event or known).name if (event or known) else self.code)
        if event is None:
            status = self.shell.error_text(self.error) if self.error else tr("common.loading")
            return LifeEventPage(title=title, status=status, error=self.error is not None, loading=self.loading)
        lang = tr.lang
        items = tuple(EventItem(item.item_code, f"{n}. {guide_text.in_language(item.name, lang)}",
                                guide_text.in_language(item.department, lang),
                                "" if guide is not None else tr("lifeevent.ask_window"))
                      for n, (item, guide) in enumerate(zip(event.items, self.guides, strict=True), 1))
        materials = tuple(slips.checklist_line(tr, m) for m in slips.combined_materials(self._checklist_items()))
        return LifeEventPage(title=title, note=guide_text.in_language(event.note, lang), items=items,
                             materials=materials,
                             status="" if materials else tr("lifeevent.ask_window_all"),
                             can_print=self.shell.printing is not None)

    def do_guide(self, code: str) -> Result:
        if self.event is None or code not in {item.item_code for item in self.event.items}:
            return None
        return Start("guide", {"code": code})

    def do_print(self) -> Result:
        shell = self.shell
        if self.step != "items" or self.event is None or shell.printing is None:
            return None
        terminal = shell.config.terminal
        doc = slips.life_event_checklist(self.label(self.event.code, self.event.name), self._checklist_items(),
                                         guide_text.in_language(self.event.note, self.tr.lang), self.tr, terminal.hall, terminal.id, shell.now())
        job = shell.printing.submit(doc, f"{terminal.id}-{shell.now():%Y%m%d%H%M%S%f}")
        return Notice("progress", Words("print.printing_title"), Words("print.printing"), job=job.id)
