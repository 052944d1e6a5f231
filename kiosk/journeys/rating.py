"""Rate the service (好差评): the hall's service, or one case.

Steps: ``checking`` (a case only: is it there, and rated already?) → ``levels`` (the five national
levels as large buttons; one touch rates) → ``reasons`` (only for 不满意 / 非常不满意: fixed reasons
and a few fixed phrases to tick) → ``thanks`` (committed to the outbox; follows its delivery).
``rated`` says plainly that a case was rated already; ``closed`` that it cannot be rated here.

One overall choice answers all four questions of the offline set: a citizen at a kiosk answers one
question, not four five-level ones in a row (the platform takes ``overall`` as the level). The
reasons and phrases go into the comment in Chinese, for the staff who follow a 差评 up; this kiosk
has no Chinese text input (its keyboard types pinyin initials), so there is no free text.

A case is rated once: by its applicant (identified here) or with the case's rating code (from the
platform's case answer); the check before the levels asks the platform with a person token that
is revoked at once, and its answer's rating code then stands in for the person in the outbox, so
no ID number is written to disk for a rating when the platform could be reached. A rating of the
hall's service needs no card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from contract.models import BAD_RATING_MAX, EVALUATION_QUESTIONS, EvaluationSubmission
from kiosk.central_client import CentralError, person_session
from kiosk.i18n import Translator
from kiosk.journeys.base import ABORT, HOME, NEEDS_IDENTITY, Journey, Notice, Result, Words
from kiosk.outbox import is_permanent
from kiosk.pages import NoticePage, Page, page

log = logging.getLogger("kiosk.journeys.rating")

LEVELS = (5, 4, 3, 2, 1)  # the national order: 非常满意 first
# The fixed reasons for a 差评: the offline questions' subjects (效率, 水平, 态度) and what
# citizens most often name besides. Message ids "rating.reason_<code>".
REASONS = ("slow", "skill", "attitude", "guide", "trips", "device")
# Fixed phrases instead of free text; "callback" only where the platform knows who rated.
PHRASES = ("callback", "improve", "told")


def stars(level: int) -> str:
    return "★" * level + "☆" * (5 - level)


@page
@dataclass(frozen=True)
class RatingLevelsPage(Page):
    screen: ClassVar[str] = "rating_levels"
    title: str = ""
    subject: str = ""
    levels: tuple[tuple[int, str, str], ...] = ()  # (level, stars, national wording)


@page
@dataclass(frozen=True)
class RatingReasonsPage(Page):
    screen: ClassVar[str] = "rating_reasons"
    level: str = ""  # stars and wording of the chosen level
    reasons: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    ticked: tuple[bool, ...] = ()  # reasons, then phrases: "toggle" takes an index into both


@page
@dataclass(frozen=True)
class RatingThanksPage(Page):
    screen: ClassVar[str] = "rating_thanks"
    title: str = ""
    level: str = ""
    message: str = ""
    status: str = ""
    good: bool = True  # False: the rating was not taken (green title, or orange)


class Rating(Journey):
    name = "rating"
    first_step = "levels"
    entry = "rating.entry"
    on_welcome = True  # the hall's service: no card needed

    def __init__(self, shell, case_no: str = "", rating_code: str = ""):
        super().__init__(shell)
        self.case_no = case_no.strip()
        self.rating_code = rating_code.strip()
        self.item_name = self.item_code = ""
        self.level = 0
        self.ticked: list[bool] = []
        self.ref = ""  # the outbox item, once committed
        self.why = ""  # the message id of the "closed" page

    @property
    def needs_identity(self) -> bool:
        """A case is rated as its applicant (unless by its rating code): the card taken, it goes."""
        return bool(self.case_no) and not self.rating_code

    @property
    def phrases(self) -> tuple[str, ...]:
        # A hall rating is anonymous: nobody could call back.
        return PHRASES if self.case_no else tuple(p for p in PHRASES if p != "callback")

    def start(self) -> Result:
        session = self.shell.session
        if not session.active:
            session.begin(None)  # an anonymous rating still times out
        if not self.case_no:
            return None
        if self.rating_code or session.identity is not None:
            return self._check()
        return NEEDS_IDENTITY

    def resume(self) -> Result:
        return self._check() if self.shell.session.identity is not None else ABORT

    def back(self) -> bool | Result:
        if self.step == "reasons":
            self.step = "levels"
            return True
        return HOME if self.step in ("thanks", "rated") else False

    # -- checking -------------------------------------------------------------------------------
    def _in_outbox(self) -> bool:
        """A rating of this case is saved here already, not yet delivered (a delivered one the
        platform knows about)."""
        outbox = self.shell.outbox
        return outbox is not None and any(
            item.kind == "evaluation" and item.body.get("case_no") == self.case_no
            for item in outbox.items("pending", "failed"))

    def _check(self) -> Result:
        outbox = self.shell.outbox
        if outbox is not None and (case := outbox.find(self.case_no)) is not None and case.kind == "case":
            if not case.case_number:  # an offline receipt's reference: the platform has no case yet
                return self._close("rating.no_number")
            self.case_no = case.case_number
        if self._in_outbox():
            self.step = "rated"
            return None
        self.step = "checking"
        central, ident, code, case_no = self.shell.central, self.shell.session.identity, self.rating_code, self.case_no

        def fetch():
            if code or ident is None:
                return central.get_case(case_no)
            with person_session(central, ident.id_number, ident.name) as token:
                return central.get_case(case_no, token)

        self.call(fetch, self._checked, self._not_checked)
        return None

    def _checked(self, case) -> Result:
        self.case_no, self.item_name, self.item_code = case.case_no, case.item_name, case.item_code
        self.rating_code = self.rating_code or case.rating_code or ""
        self.step = "rated" if case.evaluated or self._in_outbox() else "levels"
        return None

    def _not_checked(self, exc: CentralError) -> Result:
        if is_permanent(exc):  # no such case for this person, or not theirs to rate
            log.info("case %s cannot be rated here: %s", self.case_no, exc.code)
            return self._close("rating.no_case")
        # The platform cannot be reached: the rating waits in the outbox, which delivers it later.
        self.step = "levels"
        return None

    def _close(self, why: str) -> Result:
        self.why, self.step = why, "closed"
        return None

    def page_checking(self) -> NoticePage:
        return NoticePage(kind="progress", title=self.tr("rating.checking_title"), message=self.tr("rating.checking"))

    def page_closed(self) -> RatingThanksPage:
        return RatingThanksPage(title=self.tr("rating.closed_title"), message=self.tr(self.why), good=False)

    def page_rated(self) -> RatingThanksPage:
        return RatingThanksPage(title=self.tr("rating.rated_title"), message=self.tr("rating.rated"), good=False)

    # -- levels and reasons --------------------------------------------------------------------
    def _level_text(self, level: int) -> str:
        return f"{stars(level)}  {self.tr(f'rating.level_{level}')}"

    def page_levels(self) -> RatingLevelsPage:
        tr = self.tr
        if self.case_no:
            subject = tr("rating.subject_case", name=self.item_name or tr("rating.case"), number=self.case_no)
        else:
            subject = self.shell.config.terminal.hall
        return RatingLevelsPage(title=tr("rating.title_case" if self.case_no else "rating.title_hall"),
                                subject=subject,
                                levels=tuple((n, stars(n), tr(f"rating.level_{n}")) for n in LEVELS))

    def do_choose(self, level: int) -> Result:
        if self.step != "levels" or level not in LEVELS:
            return None  # a second touch after the first one rated
        self.level = level
        if level <= BAD_RATING_MAX:
            self.ticked = [False] * (len(REASONS) + len(self.phrases))
            self.step = "reasons"
            return None
        return self._submit()

    def page_reasons(self) -> RatingReasonsPage:
        tr = self.tr
        return RatingReasonsPage(level=self._level_text(self.level),
                                 reasons=tuple(tr(f"rating.reason_{r}") for r in REASONS),
                                 phrases=tuple(tr(f"rating.phrase_{p}") for p in self.phrases),
                                 ticked=tuple(self.ticked))

    def do_toggle(self, index: int) -> Result:
        if self.step == "reasons" and 0 <= index < len(self.ticked):
            self.ticked[index] = not self.ticked[index]
        return None

    def do_submit(self) -> Result:
        return self._submit() if self.step == "reasons" else None

    def comment(self) -> str:
        """What was ticked, in the words staff read (Simplified Chinese, whatever the screen's language)."""
        zh = Translator("zh_CN")
        ticks = dict(zip((*(f"reason_{r}" for r in REASONS), *(f"phrase_{p}" for p in self.phrases)),
                         self.ticked, strict=True))
        reasons = [zh(f"rating.{k}") for k, on in ticks.items() if on and k.startswith("reason_")]
        phrases = [zh(f"rating.{k}") for k, on in ticks.items() if on and k.startswith("phrase_")]
        parts = []
        if reasons:
            parts.append(zh("rating.comment_reasons") + "；".join(reasons) + "。")
        if phrases:
            parts.append(zh("rating.comment_more") + "；".join(phrases) + "。")
        return "".join(parts)

    # -- submitting ----------------------------------------------------------------------------
    def _submit(self) -> Result:
        shell, ident = self.shell, self.shell.session.identity
        if shell.outbox is None:
            return Notice("error", Words("rating.not_saved_title"), Words("rating.not_saved"))
        if self.case_no and self._in_outbox():  # rated in another journey meanwhile
            self.step = "rated"
            return None
        ev = EvaluationSubmission(case_no=self.case_no or None, item_code=self.item_code,
                                  scores=dict.fromkeys(EVALUATION_QUESTIONS, self.level),
                                  comment=self.comment() if self.level <= BAD_RATING_MAX else "")
        try:
            if not self.case_no:
                item = shell.outbox.enqueue_evaluation(ev)
            elif self.rating_code:  # the code, not the person, where we have it: no ID number on disk
                item = shell.outbox.enqueue_evaluation(ev, rating_code=self.rating_code)
            else:
                item = shell.outbox.enqueue_evaluation(ev, ident.id_number, ident.name)
        except Exception:  # disk full: nothing was saved, so nothing may say "thank you"
            log.exception("rating not saved")
            return Notice("error", Words("rating.not_saved_title"), Words("rating.not_saved"))
        log.info("rating %s saved in the outbox (level %d, %s)", item.terminal_ref, self.level,
                 f"case {self.case_no}" if self.case_no else "the hall's service")
        if shell.sender is not None:
            shell.sender.wake()
        self.ref, self.step = item.terminal_ref, "thanks"
        return None

    def tick(self) -> Result:
        """The platform refused the rating because the case was rated meanwhile: say so."""
        if self.step == "thanks" and (item := self.shell.outbox.by_ref(self.ref)) is not None \
                and item.state == "failed" and item.last_error.startswith("already_rated"):
            self.step = "rated"
        return None

    def page_thanks(self) -> RatingThanksPage:
        tr = self.tr
        item = self.shell.outbox.by_ref(self.ref)
        if item is None or item.state == "pending":
            status = tr("rating.status_later" if item is not None and item.attempts else "rating.status_sending")
        elif item.state == "delivered":
            status = tr("rating.status_sent")
        else:
            status = tr("rating.status_refused")
        bad = self.level <= BAD_RATING_MAX
        return RatingThanksPage(title=tr("rating.thanks_title"), level=self._level_text(self.level),
                                message=tr("rating.saved") + (tr("rating.follow_up") if bad else ""),
                                status=status)
