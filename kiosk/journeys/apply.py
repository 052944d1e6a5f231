"""Apply for a service (申报) and take the receipt.

Steps: ``confirm`` (a tick per material; required ones ticked; unticking a required one asks,
``ask``, whether the person will bring it to the counter; the page says beforehand when the
receipt cannot print now) → ``sending`` (committed; waiting up to ``case_wait_s`` for the case
number) → ``done`` (the number, grouped to be read out, what happens next, the receipt's
progress). It needs an identity: started without one, it has the shell ask for the ID card first;
when the card is taken away it is dropped with the identity.

"确认提交" commits the case and its receipt to the outbox in one transaction before anything else
happens and wakes the sender; the receipt then carries the case number, or the outbox's terminal
reference when the platform did not answer in time (the platform finds the case by either). A
receipt that a crash kept from printing prints at the next start; one whose session ends before it
could print is kept for staff rather than printed for the next person (kiosk.receipts).
"""

from __future__ import annotations

import logging

from contract.models import CaseSubmission
from kiosk import guide_text, receipts, slips
from kiosk.journeys.base import ABORT, HOME, NEEDS_IDENTITY, Journey, Notice, Result, Start, Words
from kiosk.journeys.printing import in_trouble, job_notice, job_text
from kiosk.pages import ApplyPage, DonePage, NoticePage, QuestionPage

log = logging.getLogger("kiosk.journeys.apply")


class Apply(Journey):
    name = "apply"
    first_step = "confirm"
    needs_identity = True  # dropped when the card is taken away (kiosk.card)
    identify_words = "apply"

    def __init__(self, shell, guide):
        super().__init__(shell)
        self.guide = guide
        self.ticked = [m.is_required for m in guide.materials]
        self.ref = ""  # the outbox item's terminal reference, once committed
        self.deadline = 0.0
        self.number = ""
        self.job = ""
        self.told = False  # printer trouble was told once as a notice
        self.asking = -1  # the required material whose untick is being asked about

    def start(self) -> Result:
        return NEEDS_IDENTITY if self.shell.session.identity is None else None

    def resume(self) -> Result:
        return None if self.shell.session.identity is not None else ABORT

    def back(self) -> bool | Result:
        if self.step == "ask":
            return self.do_answer(yes=False) or True
        if self.step == "sending":
            return True  # nothing to go back to while the case is on its way
        return HOME if self.step == "done" else False  # never back to the confirm page of a sent case

    # -- confirm ----------------------------------------------------------------------------
    def do_toggle(self, index: int) -> Result:
        if self.step == "confirm" and 0 <= index < len(self.ticked):
            if self.ticked[index] and self.guide.materials[index].is_required:
                self.asking, self.step = index, "ask"  # never unticked silently
            else:
                self.ticked[index] = not self.ticked[index]
        return None

    def page_ask(self) -> QuestionPage:
        tr = self.tr
        return QuestionPage(title=tr("apply.required_title"),
                            message=tr("apply.required_ask", name=self.text.materials[self.asking].name),
                            yes=tr("apply.bring_to_counter"), no=tr("apply.keep_ticked"))

    def do_answer(self, yes: bool) -> Result:
        """Yes: unticked, and it is to be brought to the counter (the receipt says so)."""
        if self.step == "ask":
            self.ticked[self.asking] = not yes
            self.step = "confirm"
        return None

    @property
    def text(self) -> guide_text.LocalGuide:
        """The guide in the citizen's language (the submission keeps the platform's words)."""
        return guide_text.localise(self.guide, self.tr)

    def _to_counter(self) -> list[bool]:
        return [m.is_required and not on for m, on in zip(self.guide.materials, self.ticked, strict=True)]

    def page_confirm(self) -> ApplyPage:
        tr, ident, guide, shell = self.tr, self.shell.session.identity, self.guide, self.shell
        mark = tr("apply.to_counter_mark")
        if shell.printing is None:
            note = tr("apply.no_printer")
        elif not receipts.printer_ready(shell.device_states, shell.printing.printer):
            note = tr("apply.printer_down")  # the number will be on screen: note it; staff can reprint
        else:
            note = ""
        return ApplyPage(
            title=self.text.name, code=tr("guide.code") + guide.item_code,
            applicant=tr("slip.applicant") + (ident.masked_name if ident else ""),
            number=tr("slip.id_number") + (ident.masked_number if ident else ""),
            materials=tuple(slips.material_line(tr, m) + (mark if bring else "")
                            for m, bring in zip(self.text.materials, self._to_counter(), strict=True)),
            ticked=tuple(self.ticked), printer_note=note)

    def do_confirm(self) -> Result:
        """Commit durably first; the receipt follows from tick(). A second tap submits nothing."""

        shell, ident, guide = self.shell, self.shell.session.identity, self.guide
        if self.step != "confirm" or ident is None or shell.outbox is None:
            return None
        materials = tuple(m.name for m, on in zip(guide.materials, self.ticked, strict=True) if on)
        to_counter = tuple(m.name for m, bring in zip(guide.materials, self._to_counter(), strict=True) if bring)
        receipt = receipts.record(guide, materials, ident.name, ident.id_number, shell.now(), self.tr.lang,
                                  receipts.track_url(shell.config, shell.central), to_counter,
                                  terminal_query="query" in self.shell.journeys)  # the receipt promises only what exists
        try:
            item = shell.outbox.enqueue_case(CaseSubmission(item_code=guide.item_code, materials=list(materials)),
                                             ident.id_number, ident.name, receipt=receipt)
        except Exception:  # disk full, a bad item code: nothing was submitted, so nothing may print
            log.exception("case for %s not saved", guide.item_code)
            return Notice("error", Words("apply.not_saved_title"), Words("apply.not_saved"))
        log.info("case %s saved in the outbox (%s, %s)", item.terminal_ref, guide.item_code, ident.log_form())
        if shell.sender is not None:
            shell.sender.wake()
        self.ref, self.deadline, self.step = item.terminal_ref, shell.monotonic() + shell.case_wait_s, "sending"
        return None

    # -- sending ----------------------------------------------------------------------------
    def page_sending(self) -> NoticePage:
        return NoticePage(kind="progress", title=self.tr("apply.sending_title"), message=self.tr("apply.sending"))

    def tick(self) -> Result:
        """The receipt prints once the case number is known or the wait is over."""
        if self.step != "sending":
            return None
        item = self.shell.outbox.by_ref(self.ref)
        if item is not None and item.state == "pending" and self.shell.monotonic() < self.deadline:
            return None
        return self._receipt()

    def on_session_end(self) -> None:
        # The person has gone (sign-out, idle, the card taken away): a receipt not handed to the
        # printer yet, or one the printer cannot print now, is kept for staff rather than coming
        # out for whoever stands here next. One already printing has nothing left to stop.
        printing = self.shell.printing
        job = printing.queue.get(self.job) if printing is not None and self.job else None
        stuck = job is not None and (bool(job.blocked) or not receipts.printer_ready(self.shell.device_states,
                                                                                      printing.printer))
        if self.step == "sending" or stuck:
            receipts.keep(self.shell.outbox, printing.queue if printing is not None else None, self.ref)

    def _receipt(self) -> Result:
        shell = self.shell
        item = shell.outbox.by_ref(self.ref)
        if item is not None and item.state == "failed":
            # The platform refused the case itself (e.g. the item was withdrawn): no receipt for a
            # case that will never exist; staff see it in `kiosk outbox status`.
            log.error("case %s refused by the platform: %s", self.ref, item.last_error)
            shell.outbox.set_receipt_state(self.ref, "refused")
            self.step = "refused"
            return Notice("error", Words("apply.not_saved_title"), Words("apply.refused", ref=self.ref),
                          then="home")
        self.number = item.case_number if item is not None else ""
        if shell.printing is not None:
            # One job per case, whatever happens: its id comes from the terminal reference.
            terminal = shell.config.terminal
            self.job = receipts.hand_to_printer(shell.outbox, shell.printing.queue, shell.printing.printer,
                                                self.ref, terminal.hall, terminal.id, shell.now()).id
            shell.printing.pump()
        log.info("receipt of case %s: %s", self.ref, self.number or "terminal reference (not delivered yet)")
        self.step = "done"
        return None

    # -- done -------------------------------------------------------------------------------
    def page_done(self) -> DonePage:
        tr, provisional = self.tr, not self.number
        if self.job and self.shell.printing is not None:
            receipt = job_text(tr, self.shell.printing.queue.get(self.job))
        else:
            receipt = tr("done.no_printer")
        return DonePage(title=self.text.name, number=self.ref if provisional else slips.group_number(self.number),
                        provisional=provisional,
                        number_label=tr("done.number_terminal" if provisional else "done.number"),
                        follows=tr("slip.number_follows") if provisional else "",
                        next_steps=receipts.next_steps(tr, self.guide.promised_limit_days), receipt=receipt,
                        take_card=tr("personal.take_card") if self.shell.card.left else "",
                        can_rate=self._can_rate())

    def _can_rate(self) -> bool:

        return "rating" in self.shell.journeys and bool(self.number) and self.shell.session.identity is not None

    def do_rate(self) -> Result:
        """"评价": the service just received (申报), as this case's one rating."""
        return Start("rating", {"case_no": self.number}) if self.step == "done" and self._can_rate() else None

    def page_refused(self) -> DonePage:
        return DonePage(title=self.text.name)

    def on_job(self, job) -> Result:
        """The done page follows the receipt; trouble is also told as a notice, once."""
        if self.step != "done" or job.id != self.job or not in_trouble(job) or self.told:
            return None
        self.told = True
        return job_notice(self.tr, job)
