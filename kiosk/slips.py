"""The slips this terminal prints, each described once as a devices.printdoc.Document.

Printer drivers decide how to put them on paper; nothing here knows about ESC/POS.
Slips carry no personal data unless the slip's purpose needs it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from devices.identity import mask_name, mask_number
from devices.printdoc import Align, Cut, Document, Feed, KeyValue, QRCode, Rule, Text
from kiosk import guide_text
from kiosk.i18n import Translator


@dataclass(frozen=True)
class CaseReceipt:
    """What a 受理回执 needs. The name and ID number are kept in full here and masked on paper."""

    case_number: str  # opaque, issued by the central platform (at most 50 characters)
    item_name: str
    item_code: str
    applicant_name: str
    applicant_id: str
    submitted_at: dt.datetime
    materials: tuple[str, ...]  # ticked when applying: the kiosk itself received nothing
    next_steps: str
    query_url: str
    # True while the platform has not answered yet: ``case_number`` is then the terminal's own
    # reference (the outbox's terminal_ref), which the platform also finds the case by.
    provisional: bool = False
    to_counter: tuple[str, ...] = ()  # required, not ticked: to be brought to the counter
    terminal_query: bool = False  # a self-service terminal can look the case up (the query journey)


@dataclass(frozen=True)
class CertificateProof:
    """A certificate proof (证照打印凭证) as the central platform issues it."""

    holder_name: str
    holder_id: str
    certificate_name: str
    certificate_number: str
    issuer: str
    issued_on: dt.date
    verification_code: str
    verify_url: str


@dataclass(frozen=True)
class QueueTicket:
    number: str  # e.g. A023
    service: str
    window: str
    waiting: int
    taken_at: dt.datetime


def _header(tr: Translator, hall: str, title_key: str) -> list:
    return [Text(hall, align=Align.CENTER, bold=True), Text(tr(title_key), align=Align.CENTER, bold=True, size=2),
            Rule()]


def _footer(tr: Translator, terminal_id: str, now: dt.datetime) -> list:
    return [
        Rule(),
        KeyValue(tr("slip.terminal"), terminal_id),
        KeyValue(tr("slip.time"), now.strftime("%Y-%m-%d %H:%M")),
        Feed(2),
        Cut(),
    ]


def guide_slip(guide, tr: Translator, hall: str, terminal_id: str, now: dt.datetime) -> Document:
    """办事指南 summary: what to bring, how long, where; a QR code to the full guide. In the
    citizen's language as far as the guide has it (kiosk.guide_text)."""
    text = guide_text.localise(guide, tr)
    els: list = [
        *_header(tr, hall, "slip.guide_title"),
        KeyValue(tr("guide.item"), text.name),
        KeyValue(tr("guide.code"), guide.item_code),
        KeyValue(tr("guide.department"), text.department),
    ]
    if text.chinese_only:
        els.append(Text(tr("guide.chinese_only")))
    if guide.detail_complete:
        els += [KeyValue(label, value) for label, value in facts(tr, guide, text)[:-2]]
        els += [Rule(), Text(tr("slip.materials_heading"), bold=True)]
        for i, m in enumerate(text.materials, 1):
            els.append(Text(f"□ {i}. {material_line(tr, m)}"))
        els += [Rule(), KeyValue(tr("guide.place"), text.place), KeyValue(tr("guide.hours"), text.hours)]
    else:
        els += [Rule(), Text(tr("guide.ask_window"))]
    # The portal link opens the full guide on a phone, and a kiosk reads the item code in it;
    # without a link the code alone still opens the guide on any kiosk of the province.
    els += [Feed(1), QRCode(guide.link or guide.item_code),
            Text(tr("slip.scan_full_guide" if guide.link else "slip.scan_guide_kiosk"), align=Align.CENTER)]
    els += _footer(tr, terminal_id, now)
    return Document(kind="guide", elements=tuple(els))


def facts(tr: Translator, guide, text: guide_text.LocalGuide | None = None) -> list[tuple[str, str]]:
    """The guide's key facts as (label, value): time limits, visits, fee, then place and hours."""
    text = text or guide_text.localise(guide, tr)
    rows = []
    for label, days in (("guide.limit_promised", guide.promised_limit_days),
                        ("guide.limit_legal", guide.legal_limit_days)):
        if days is not None:
            rows.append((tr(label), days_text(tr, days)))
    if guide.visits is not None:
        rows.append((tr("guide.visits"), tr("guide.visits_n", n=guide.visits)))
    rows += [(tr("guide.fee"), text.fee), (tr("guide.place"), text.place), (tr("guide.hours"), text.hours)]
    return rows


def days_text(tr: Translator, days: int) -> str:
    """A time limit in working days, 0 being 当场办结."""
    return tr("guide.same_day") if days == 0 else tr("guide.days", n=days)


material_line = guide_text.material_line


def test_slip(tr: Translator, hall: str, terminal_id: str, now: dt.datetime) -> Document:
    """Staff's test print: every element type once, Chinese punctuation and a rare name character."""
    els = [
        Text(hall, align=Align.CENTER, bold=True),
        Text(tr("slip.test_title"), align=Align.CENTER, size=2),
        Rule(),
        Text("中文：，。、；：？！“”（）《》"),
        Text("生僻字：𠮷 䶮 龑"),
        Text("ABC abc 0123456789"),
        QRCode("TEST " + terminal_id),
        *_footer(tr, terminal_id, now),
    ]
    return Document(kind="test", elements=tuple(els))


def group_number(number: str) -> str:
    """A case number as people read it out: GA2026 1130 ED85 ECDB (6, then groups of 4). A terminal
    reference (it has its own dashes) and anything short stay as they are; QR codes keep the
    number ungrouped."""
    if len(number) <= 6 or not number.isascii() or not number.isalnum():
        return number
    return " ".join([number[:6], *(number[i:i + 4] for i in range(6, len(number), 4))])


def case_receipt(case: CaseReceipt, tr: Translator, hall: str, terminal_id: str, now: dt.datetime) -> Document:
    """受理回执: the case number to quote, the materials as ticked (and those still to bring), what
    happens next, a QR to follow it. It promises a terminal look-up only where one exists."""
    materials: list = []
    for heading, names in (("slip.materials_ticked", case.materials), ("slip.materials_to_counter", case.to_counter)):
        if names:
            materials += [Text(tr(heading), bold=True), *(Text(f"{i}. {m}") for i, m in enumerate(names, 1))]
    els: list = [
        *_header(tr, hall, "slip.receipt_title"),
        *([KeyValue(tr("slip.terminal_ref"), case.case_number), Text(tr("slip.number_follows"))]
          if case.provisional else [KeyValue(tr("slip.case_number"), group_number(case.case_number))]),
        KeyValue(tr("guide.item"), case.item_name),
        KeyValue(tr("guide.code"), case.item_code),
        # Left-aligned, not a KeyValue: a rare surname (𠮷) makes its line a raster image, and a
        # short image costs a quarter of a full-width one (the 2 kB budget of an 80 mm receipt).
        Text(tr("slip.applicant") + mask_name(case.applicant_name)),
        KeyValue(tr("slip.id_number"), mask_number(case.applicant_id)),
        KeyValue(tr("slip.submitted"), case.submitted_at.strftime("%Y-%m-%d %H:%M")),
        Rule(),
        *materials,
        Rule(),
        Text(tr("slip.next_steps"), bold=True),
        Text(case.next_steps),
        Feed(1),
        QRCode(case.query_url),
        Text(tr("slip.scan_query_terminal" if case.terminal_query else "slip.scan_query"), align=Align.CENTER),
        Text(tr("slip.keep_receipt_terminal" if case.terminal_query else "slip.keep_receipt")),
        *_footer(tr, terminal_id, now),
    ]
    return Document(kind="receipt", elements=tuple(els))


def certificate_proof(cert: CertificateProof, tr: Translator, hall: str, terminal_id: str,
                      now: dt.datetime) -> Document:
    """证照打印凭证: the certificate's facts, its verification code large, and a QR to verify it."""
    els: list = [
        *_header(tr, hall, "slip.certificate_title"),
        KeyValue(tr("slip.certificate_name"), cert.certificate_name),
        KeyValue(tr("slip.certificate_number"), cert.certificate_number),
        KeyValue(tr("slip.holder"), mask_name(cert.holder_name)),
        KeyValue(tr("slip.id_number"), mask_number(cert.holder_id)),
        KeyValue(tr("slip.issuer"), cert.issuer),
        KeyValue(tr("slip.issued_on"), cert.issued_on.strftime("%Y-%m-%d")),
        Rule(),
        Text(tr("slip.verification_code"), align=Align.CENTER),
        Text(cert.verification_code, align=Align.CENTER, bold=True, size=2),
        Feed(1),
        QRCode(cert.verify_url),
        Text(tr("slip.scan_verify"), align=Align.CENTER),
        Text(tr("slip.certificate_note")),
        *_footer(tr, terminal_id, now),
    ]
    return Document(kind="certificate", elements=tuple(els))


def queue_ticket(ticket: QueueTicket, tr: Translator, hall: str, terminal_id: str, now: dt.datetime) -> Document:
    """排队号: the number readable from arm's length, the service, the window, how many are ahead."""
    els: list = [
        Text(hall, align=Align.CENTER, bold=True),
        Text(tr("slip.ticket_title"), align=Align.CENTER),
        Text(ticket.number, align=Align.CENTER, bold=True, size=4),
        Rule(),
        KeyValue(tr("slip.service"), ticket.service),
        KeyValue(tr("slip.window"), ticket.window),
        KeyValue(tr("slip.taken_at"), ticket.taken_at.strftime("%Y-%m-%d %H:%M")),
        Text(tr("slip.waiting", n=ticket.waiting), bold=True),
        Text(tr("slip.ticket_note")),
        *_footer(tr, terminal_id, now),
    ]
    return Document(kind="ticket", elements=tuple(els))


def reprint_mark(tr: Translator) -> Text:
    """Heads a slip printed a second time, so a duplicate is never mistaken for another case."""
    return Text(tr("slip.reprint"), align=Align.CENTER, bold=True, size=2)


def ticket_slip(ticket: QueueTicket, tr: Translator, hall: str, terminal_id: str, now: dt.datetime,
                holder: str = "") -> Document:
    """``queue_ticket`` as the ticket journey prints it: under the number, the holder's name
    (``holder``: already masked) for a citizen who was identified; no window row when the platform
    names none (the call screen names the window when the number is called)."""
    els = list(queue_ticket(ticket, tr, hall, terminal_id, now).elements)
    if not ticket.window:
        els.remove(KeyValue(tr("slip.window"), ""))
    if holder:
        els.insert(els.index(KeyValue(tr("slip.service"), ticket.service)), KeyValue(tr("ticket.holder"), holder))
    return Document(kind="ticket", elements=tuple(els))


# -- life events (一件事) ------------------------------------------------------------------------
@dataclass(frozen=True)
class ChecklistMaterial:
    """One material of a life event's combined checklist, asked for by one or more of its items."""

    name: str
    form: str
    copies: int
    required: str
    items: tuple[int, ...]  # the numbers (from 1) of the items that ask for it


def combined_materials(items) -> list[ChecklistMaterial]:
    """The materials of ``items`` ((item name, its materials or None), in order), each name once in
    the order first asked for: required if any item requires it, the most copies any asks for,
    every form asked for."""
    merged: dict[str, dict] = {}
    for number, (_name, materials) in enumerate(items, 1):
        for m in materials or ():
            key = " ".join(m.name.split())
            entry = merged.setdefault(key, {"forms": [], "copies": 0, "required": False, "items": []})
            if m.form not in entry["forms"]:
                entry["forms"].append(m.form)
            entry["copies"] = max(entry["copies"], m.copies)
            entry["required"] = entry["required"] or m.required == "必要"
            if number not in entry["items"]:
                entry["items"].append(number)
    return [ChecklistMaterial(name, "、".join(e["forms"]), e["copies"], "必要" if e["required"] else "非必要",
                              tuple(e["items"])) for name, e in merged.items()]


def checklist_for(tr: Translator, material: ChecklistMaterial) -> str:
    """``用于事项 1、3``: the items that ask for a material of the checklist."""
    return tr("lifeevent.for_items", items=tr("lifeevent.list_sep").join(str(n) for n in material.items))


def checklist_line(tr: Translator, material: ChecklistMaterial) -> str:
    """``name（form，n 份，必要） 用于事项 1、3`` (one line on screen)."""
    return f"{material_line(tr, material)} {checklist_for(tr, material)}"


def life_event_checklist(event_name: str, items, note: str, tr: Translator, hall: str, terminal_id: str,
                         now: dt.datetime) -> Document:
    """一件事材料清单: the event's items, then every material they ask for once, each with the items
    it is for; items without a material list say "ask at the window". Nothing personal."""
    els: list = [
        *_header(tr, hall, "lifeevent.slip_title"),
        KeyValue(tr("lifeevent.slip_event"), event_name),
        Text(tr("lifeevent.slip_items"), bold=True),
    ]
    for number, (name, materials) in enumerate(items, 1):
        els.append(Text(f"{number}. {name}" + ("" if materials is not None else tr("lifeevent.ask_window_mark"))))
    els += [Rule(), Text(tr("lifeevent.slip_materials"), bold=True)]
    materials = combined_materials(items)
    for m in materials:  # which items it is for on a line of its own: it would wrap mid-word
        els += [Text(f"□ {material_line(tr, m)}"), Text(f"    {checklist_for(tr, m)}")]
    if not materials:
        els.append(Text(tr("lifeevent.ask_window_all")))
    if note:
        els += [Rule(), Text(note)]
    els += [Feed(1), Text(tr("lifeevent.slip_check"))]
    els += _footer(tr, terminal_id, now)
    return Document(kind="checklist", elements=tuple(els))


@dataclass(frozen=True)
class CaseProgress:
    """办件进度: what the query journey shows of a case, already cut to what this person may see
    (the status only, unless it is their own case) and masked."""

    number: str  # grouped for reading (GA2026 1130 ED85 ECDB)
    item_name: str
    state: str
    steps: tuple[tuple[str, str, str], ...]  # (time, step, note), newest first
    query_url: str
    status_only: bool
    applicant: str = ""  # the masked ID number, the applicant's own case only
    deadline: str = ""
    supplement_title: str = ""
    supplement: tuple[str, ...] = ()
    supplement_note: str = ""


def case_progress(p: CaseProgress, tr: Translator, hall: str, terminal_id: str, now: dt.datetime) -> Document:
    """办件进度: the state, the deadline, what 补正 asks for, every step; a QR to follow it."""
    els: list = [
        *_header(tr, hall, "query.slip_title"),
        KeyValue(tr("slip.case_number"), p.number),
        KeyValue(tr("guide.item"), p.item_name),
        *([KeyValue(tr("slip.id_number"), p.applicant)] if p.applicant else []),
        Text(tr("query.slip_state") + p.state, bold=True),
        *([Text(p.deadline)] if p.deadline else []),
    ]
    if p.supplement_title:
        els += [Rule(), Text(p.supplement_title, bold=True),
                *(Text(f"□ {i}. {m}") for i, m in enumerate(p.supplement, 1)),
                *([Text(p.supplement_note)] if p.supplement_note else [])]
    els += [Rule(), Text(tr("query.steps"), bold=True)]
    for time, step, note in p.steps:
        els.append(Text(f"{time}  {step}"))
        if note:
            els.append(Text("    " + note))
    if p.status_only:
        els += [Rule(), Text(tr("query.status_only"))]
    els += [Feed(1), QRCode(p.query_url), Text(tr("slip.scan_query"), align=Align.CENTER),
            *_footer(tr, terminal_id, now)]
    return Document(kind="progress", elements=tuple(els))
