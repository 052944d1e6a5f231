"""Case receipts that survive a power cut: what the outbox keeps, and how it becomes a slip.

A case and its receipt are committed in one outbox transaction (``Outbox.enqueue_case(...,
receipt=record(...))``), so no crash can leave a saved case without its receipt. The record holds
what the slip says, the applicant masked (6 + 4 digits, surname only): enough to print it, nothing
more personal than the paper itself.

A receipt's states in the outbox: ``waiting`` (committed, not yet handed to the print queue) →
``queued`` (the durable print queue owns it from here: job ``receipt-<terminal ref>``; the queue's
own recovery reprints it marked 补打 if its outcome is unknown). At start-up ``resume`` hands every
``waiting`` receipt to the print queue if it is recent (the citizen may still be standing there),
else marks it ``kept`` for staff (``kiosk print pending``, ``kiosk print reprint REF``). A receipt
whose case the platform refused is ``refused``: never printed by itself.

The print job id is derived from the terminal reference, and adding an existing job id is a no-op,
so the kiosk, a restart and a staff command can never print the same first copy twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any
from urllib.parse import quote

from devices.identity import mask_name, mask_number
from devices.printdoc import Document
from kiosk import slips
from kiosk.i18n import Translator

log = logging.getLogger("kiosk.receipts")

RESUME_WINDOW_S = 300.0


def job_id(terminal_ref: str) -> str:
    return f"receipt-{terminal_ref}"


def record(guide, materials: tuple[str, ...], name: str, id_number: str, at: dt.datetime, lang: str,
           track_url: str) -> dict[str, Any]:
    """What the outbox keeps of a receipt. ``track_url`` has ``{number}`` for the case number."""
    return {"lang": lang, "item_name": guide.name, "item_code": guide.item_code,
            "applicant_name": mask_name(name), "applicant_id": mask_number(id_number),
            "submitted_at": at.isoformat(), "materials": list(materials),
            "promised_limit_days": guide.promised_limit_days, "track_url": track_url}


def next_steps(tr: Translator, promised_limit_days: int | None) -> str:
    text = tr("apply.next_review")
    if promised_limit_days is not None:
        text += tr("guide.limit_promised") + slips.days_text(tr, promised_limit_days)
    return text


def receipt(data: dict[str, Any], terminal_ref: str, case_number: str) -> slips.CaseReceipt:
    """The slip's content: the case number once the platform gave one, else the terminal reference."""
    number = case_number or terminal_ref
    tr = Translator(data["lang"])
    return slips.CaseReceipt(
        case_number=number, item_name=data["item_name"], item_code=data["item_code"],
        applicant_name=data["applicant_name"], applicant_id=data["applicant_id"],
        submitted_at=dt.datetime.fromisoformat(data["submitted_at"]), materials=tuple(data["materials"]),
        next_steps=next_steps(tr, data["promised_limit_days"]),
        query_url=data["track_url"].replace("{number}", quote(number, safe="")), provisional=not case_number)


def document(data: dict[str, Any], terminal_ref: str, case_number: str, hall: str, terminal_id: str,
             now: dt.datetime) -> Document:
    return slips.case_receipt(receipt(data, terminal_ref, case_number), Translator(data["lang"]), hall,
                              terminal_id, now)


def hand_to_printer(outbox, queue, printer: str, terminal_ref: str, hall: str, terminal_id: str,
                    now: dt.datetime, reprint: bool = False):
    """Queue the receipt of ``terminal_ref`` on ``printer`` (exactly once: the job id is the
    reference's) and mark it queued. ``reprint``: a further copy, marked 补打, under its own id.
    The caller's dispatcher sends it."""
    found = outbox.receipt(terminal_ref)
    if found is None:
        raise KeyError(terminal_ref)
    item = outbox.by_ref(terminal_ref)
    number = item.case_number if item is not None else ""
    doc = document(found[0], terminal_ref, number, hall, terminal_id, now)
    if reprint:
        job = queue.add(doc, printer, f"{job_id(terminal_ref)}-r{uuid.uuid4().hex[:6]}", reprint=True)
    else:
        job = queue.add(doc, printer, job_id(terminal_ref))
    # Committed in the print queue first: a crash between the two commits leaves "waiting", and the
    # next resume finds the job already there.
    outbox.set_receipt_state(terminal_ref, "queued")
    return job


def resume(outbox, dispatcher, hall: str, terminal_id: str, now: dt.datetime, wall: float,
           window_s: float = RESUME_WINDOW_S) -> tuple[list[str], list[str]]:
    """At start-up: receipts committed but never handed to the printer. Returns (printed, kept)."""
    printed, kept = [], []
    for ref, _state, created in outbox.receipts("waiting"):
        item = outbox.by_ref(ref)
        if item is not None and item.state in ("failed", "discarded"):
            outbox.set_receipt_state(ref, "refused")
            continue
        if dispatcher.queue.get(job_id(ref)) is not None or wall - created <= window_s:
            hand_to_printer(outbox, dispatcher.queue, dispatcher.printer, ref, hall, terminal_id, now)
            printed.append(ref)
            log.warning("receipt of case %s was not printed before the restart: printing it now", ref)
        else:
            outbox.set_receipt_state(ref, "kept")
            kept.append(ref)
            log.warning("receipt of case %s was not printed before the restart and is %.0f minutes old: "
                        "kept for staff (kiosk print reprint %s)", ref, (wall - created) / 60, ref)
    if printed:
        dispatcher.pump()
    return printed, kept
