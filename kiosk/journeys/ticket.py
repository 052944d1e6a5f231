"""Take a queue number (取号): choose the business, see who is waiting, take the printed ticket.

Steps: ``services`` (the platform's business types, each with how many are waiting) → ``printed``
(the number large on screen, how many are ahead, what became of the slip). The number is on the
screen before the slip is out: a printer out of paper keeps the slip in the durable print queue
(it prints once staff refill it) and the citizen queues with the number on screen. An identified
citizen's ticket carries the masked name. The platform names no window, so the ticket names none:
the hall's call screen does when the number is called.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import ClassVar

from kiosk import slips
from kiosk.central_client import CentralError
from kiosk.journeys.base import Journey, Notice, Result, Words
from kiosk.journeys.printing import WAITING
from kiosk.pages import Page, page
from kiosk.print_jobs import JobState

log = logging.getLogger("kiosk.journeys.ticket")


@dataclass(frozen=True)
class ServiceItem:
    code: str
    name: str
    waiting: str  # "3 人等候"


@page
@dataclass(frozen=True)
class TicketServicesPage(Page):
    screen: ClassVar[str] = "ticket_services"
    items: tuple[ServiceItem, ...] = ()
    status: str = ""
    error: bool = False
    busy: bool = False  # loading the list or taking a ticket: the buttons wait


@page
@dataclass(frozen=True)
class TicketPrintedPage(Page):
    screen: ClassVar[str] = "ticket_printed"
    number: str = ""
    service: str = ""
    ahead: str = ""
    holder: str = ""  # "取号人：李**" for an identified citizen
    slip: str = ""  # what became of the slip
    trouble: bool = False  # the slip is not out: the citizen should note the number


class Ticket(Journey):
    name = "ticket"
    first_step = "services"
    entry = "ticket.entry"
    on_welcome = True

    def __init__(self, shell):
        super().__init__(shell)
        self.services = None  # the platform's list, once it answered
        self.loading = self.taking = False
        self.error: CentralError | None = None
        self.ticket = None
        self.job = ""

    def start(self) -> Result:
        if not self.shell.session.active:
            self.shell.session.begin(None)  # anonymous use still times out
        return self.do_refresh()

    # -- services -------------------------------------------------------------------------------
    def do_refresh(self) -> Result:
        if self.step != "services" or self.loading:
            return None
        self.loading, self.error = True, None

        def done(answer) -> Result:
            self.services, self.loading = answer.items, False
            return None

        def failed(exc: CentralError) -> Result:
            self.loading, self.error = False, exc
            return None

        self.call(self.shell.central.queue_services, done, failed)
        return None

    def page_services(self) -> TicketServicesPage:
        tr = self.tr
        items = tuple(ServiceItem(s.code, s.name, tr("ticket.waiting", n=s.waiting)) for s in self.services or ())
        if self.error is not None:
            status = self.shell.error_text(self.error)
        elif self.loading:
            status = tr("common.loading")
        elif self.taking:
            status = tr("ticket.taking")
        elif self.services is not None and not items:
            status = tr("ticket.none")
        else:
            status = tr("ticket.choose")
        return TicketServicesPage(items=items, status=status, error=self.error is not None,
                                  busy=self.loading or self.taking)

    def do_take(self, code: str) -> Result:
        """One ticket per journey: a second touch while the first is being taken takes nothing."""
        if self.step != "services" or self.taking or self.ticket is not None:
            return None
        self.taking = True

        def failed(exc: CentralError) -> Result:
            self.taking = False
            log.warning("no ticket for service %s: %s", code, exc.code)
            return Notice("error", Words("error.title"), self.shell.error_words(exc))

        self.call(lambda: self.shell.central.take_ticket(code), self._taken, failed)
        return None

    # -- printed --------------------------------------------------------------------------------
    def _taken(self, ticket) -> Result:
        shell, ident = self.shell, self.shell.session.identity
        self.ticket, self.taking, self.step = ticket, False, "printed"
        log.info("ticket %s taken (%d ahead)", ticket.ticket_no, ticket.waiting_ahead)
        if shell.printing is None:
            return None
        terminal = shell.config.terminal
        taken_at = _local(ticket.issued_at)
        slip = slips.QueueTicket(number=ticket.ticket_no, service=ticket.service_name, window="",
                                 waiting=ticket.waiting_ahead, taken_at=taken_at)
        doc = slips.ticket_slip(slip, self.tr, terminal.hall, terminal.id, shell.now(),
                                holder=ident.masked_name if ident is not None else "")
        # One job per ticket: the number restarts daily, the day makes the id unique.
        self.job = shell.printing.submit(doc, f"ticket-{terminal.id}-{taken_at:%Y%m%d}-{ticket.ticket_no}").id
        shell.printing.pump()
        return None

    def _slip(self) -> tuple[str, bool]:
        tr, printing = self.tr, self.shell.printing
        if printing is None:
            return tr("ticket.no_printer"), True
        job = printing.queue.get(self.job)
        if job is None or job.state is JobState.DONE:
            return tr("ticket.take"), False
        if job.state is JobState.FAILED:
            return tr("ticket.not_printed"), True
        if job.blocked:
            return tr(WAITING.get(job.blocked, "print.waiting_printer")) + tr("ticket.note_number"), True
        return tr("ticket.printing"), False

    def page_printed(self) -> TicketPrintedPage:
        tr, t, ident = self.tr, self.ticket, self.shell.session.identity
        slip, trouble = self._slip()
        return TicketPrintedPage(number=t.ticket_no, service=t.service_name,
                                 ahead=tr("ticket.ahead", n=t.waiting_ahead),
                                 holder=tr("ticket.holder") + ident.masked_name if ident is not None else "",
                                 slip=slip, trouble=trouble)


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment
