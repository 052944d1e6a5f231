"""What a page says aloud (voice guidance, kiosk.voice): its heading and what to do there.

One function per screen, built from the page model and the translator, so every page of every
journey speaks in the citizen's language; a test checks every registered page has one. Spoken in
a hall, anyone near can hear it: nothing personal is said beyond the masked surname of the
greeting - never an ID or case number, a case's item, state or notes, a certificate's name. A
page still loading says nothing yet ("") and speaks once it has what it shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kiosk.i18n import Translator
from kiosk.pages import Page

SPEECH: dict[str, Callable[[Page, Translator], str]] = {}
# The English voice reads a Chinese character as "Chinese letter": in English a guide's Chinese
# name or a masked surname is left out rather than said so.
_HAN = re.compile(r"[\u3400-\u9fff\U00020000-\U0003ffff\uf900-\ufaff]+")


def says(*screens: str):
    def register(fn):
        for screen in screens:
            SPEECH[screen] = fn
        return fn
    return register


# Maintenance mode is for staff, who need no guidance read out in a hall: its pages say nothing.
SILENT = frozenset({"staff_pin", "staff_tiles", "staff_list"})


def speech(page: Page, tr: Translator) -> str:
    """What ``page`` says; "" when it has nothing to say (yet)."""
    fn = SPEECH.get(page.screen)
    return fn(page, tr) if fn is not None else ""


def joined(tr: Translator, *parts: str) -> str:
    """Sentences one after the other, each with its full stop (espeak-ng pauses on it)."""
    stop = ". " if tr.lang == "en" else "。"
    out = []
    for part in parts:
        part = part.replace("*", "")  # a masked name's stars: espeak-ng would say "asterisk"
        if tr.lang == "en":
            part = re.sub(r"\s*,\s*$|^\s*,\s*", "", _HAN.sub("", part))  # "Hello, 王*" -> "Hello"
        part = part.strip()
        if part:
            out.append(part if part[-1] in ".!?。！？" else part + stop.strip())
    return (" " if tr.lang == "en" else "").join(out)


def _trouble(page) -> str:
    """A page's error line (the platform cannot be reached...): said after the instruction."""
    return page.status if getattr(page, "error", False) else ""


# -- home ---------------------------------------------------------------------------------------
@says("welcome")
def _welcome(page, tr):
    if page.use_card:  # a card left on the reader: the prompt asks for it to be taken
        return joined(tr, page.prompt, page.prompt_sub)
    return joined(tr, tr("voice.welcome"), page.prompt)


@says("personal")
def _personal(page, tr):
    return joined(tr, page.greeting, tr("personal.choose"), page.take_card)  # the greeting's name is masked


@says("out_of_service")
def _out_of_service(page, tr):
    return joined(tr, page.title, page.message, page.notice)


@says("notice", "question")
def _notice(page, tr):
    return joined(tr, page.title, page.message, getattr(page, "take_card", ""))


# -- guides -------------------------------------------------------------------------------------
@says("guides")
def _guides(page, tr):
    return joined(tr, tr("guides.title"), tr("voice.guides"), _trouble(page))


@says("guide")
def _guide(page, tr):
    if not page.code:
        return ""
    return joined(tr, page.title, tr("voice.guide") if page.materials else page.note)


@says("apply")
def _apply(page, tr):
    return joined(tr, tr("apply.title"), tr("voice.apply"), page.printer_note)


@says("done")
def _done(page, tr):
    if not page.number:  # refused: the notice says why
        return ""
    return joined(tr, tr("done.title"), tr("voice.done"), page.receipt, page.take_card)


# -- query --------------------------------------------------------------------------------------
@says("query_number")
def _query_number(page, tr):
    return joined(tr, tr("query.number_title"), tr("voice.query_number"), _trouble(page))


@says("query_mine")
def _query_mine(page, tr):
    return "" if page.loading else joined(tr, tr("query.mine_title"), tr("voice.query_mine"), _trouble(page))


@says("query_timeline")
def _query_timeline(page, tr):
    return "" if not page.number else joined(tr, tr("query.title"), tr("voice.query_timeline"))


# -- certificates ------------------------------------------------------------------------------
@says("certificates")
def _certificates(page, tr):
    return "" if page.loading else joined(tr, tr("certificate.title"), tr("voice.certificates"), _trouble(page))


@says("certificate")
def _certificate(page, tr):
    return joined(tr, tr("voice.certificate"), page.note)


# -- life events --------------------------------------------------------------------------------
@says("life_events")
def _life_events(page, tr):
    return "" if page.loading else joined(tr, tr("lifeevent.title"), tr("lifeevent.hint"), _trouble(page))


@says("life_event")
def _life_event(page, tr):
    if page.loading:
        return ""
    return joined(tr, page.title, tr("voice.life_event") if page.items else "", page.status)


# -- rating -------------------------------------------------------------------------------------
@says("rating_levels")
def _rating_levels(page, tr):
    return joined(tr, page.title, tr("rating.hint"))


@says("rating_reasons")
def _rating_reasons(page, tr):
    return joined(tr, tr("rating.reasons_title"), tr("rating.reasons_heading"))


@says("rating_thanks")
def _rating_thanks(page, tr):
    return joined(tr, page.title, page.message)


# -- ticket -------------------------------------------------------------------------------------
@says("ticket_services")
def _ticket_services(page, tr):
    return "" if page.busy and not page.items else joined(tr, tr("ticket.title"), page.status)


@says("ticket_printed")
def _ticket_printed(page, tr):
    # The queue number is called out loud in the hall anyway; the holder's name is not said.
    return joined(tr, tr("ticket.your_number"), page.number, page.service, page.ahead, page.slip)


def idle_warning(tr: Translator, seconds: int) -> str:
    return joined(tr, tr("idle.warning", s=seconds), tr("voice.idle"))
