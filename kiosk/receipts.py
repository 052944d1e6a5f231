"""Case receipts that survive a power cut: what the outbox keeps, and how it becomes a slip.

A case and its receipt are committed in one outbox transaction (``Outbox.enqueue_case(...,
receipt=record(...))``), so no crash can leave a saved case without its receipt. The record holds
what the slip says, the applicant masked (6 + 4 digits, surname only): enough to print it, nothing
more personal than the paper itself.

A receipt's states in the outbox: ``waiting`` (committed, not yet handed to the print queue) →
``queued`` (the durable print queue owns it from here: job ``receipt-<terminal ref>``; the queue's
own recovery reprints it marked 补打 if its outcome is unknown). A receipt never prints onto the
next person's session: when its session ends (sign-out, idle, the card taken away) before it was
handed to the printer, or while the printer cannot print it, it is ``kept`` for staff (``kiosk
print pending``, ``kiosk print reprint REF``) and its print job withdrawn (``keep``); one already
printing has nothing left to stop. At start-up ``resume`` hands every ``waiting`` receipt to the
print queue if it is recent (the kiosk died under the citizen, who may still be standing there),
else marks it ``kept``. A receipt whose case the platform refused is ``refused``: never printed by
itself.

What the receipt says of the materials: the kiosk receives none, so it lists those ticked when
applying (申报时勾选) and the required ones left unticked, to be brought to the counter
(需到窗口提交), never "received".

The print job id is derived from the terminal reference, and adding an existing job id is a no-op,
so the kiosk, a restart and a staff command can never print the same first copy twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from typing import Any
from urllib.parse import quote, unquote

from devices.identity import mask_name, mask_number
from devices.printdoc import Document
from kiosk import slips
from kiosk.i18n import Translator

log = logging.getLogger("kiosk.receipts")

RESUME_WINDOW_S = 300.0
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,49}")  # a case number or terminal reference


def job_id(terminal_ref: str) -> str:
    return f"receipt-{terminal_ref}"


def record(guide, materials: tuple[str, ...], name: str, id_number: str, at: dt.datetime, lang: str,
           track_url: str, to_counter: tuple[str, ...] = (), terminal_query: bool = False) -> dict[str, Any]:
    """What the outbox keeps of a receipt. ``materials``: ticked when applying; ``to_counter``:
    required but not ticked, to be brought to the counter. ``track_url`` has ``{number}`` for the
    case number. ``terminal_query``: a self-service terminal can look the case up (the query
    journey exists), so the receipt may say so."""
    return {"lang": lang, "item_name": guide.name, "item_code": guide.item_code,
            "applicant_name": mask_name(name), "applicant_id": mask_number(id_number),
            "submitted_at": at.isoformat(), "materials": list(materials), "to_counter": list(to_counter),
            "promised_limit_days": guide.promised_limit_days, "track_url": track_url,
            "terminal_query": terminal_query}


def track_url(config, central) -> str:
    """The page a receipt's QR opens, ``{number}`` standing for the case number or reference."""
    return config.central.track_url or f"{central.base_url}/track/{{number}}"


def number_from_code(text: str, pattern: str) -> str:
    """The case number or terminal reference in a scanned receipt QR (``pattern``: track_url);
    "" when the code is something else. Every terminal of the hall has the same pattern."""
    head, _, tail = pattern.partition("{number}")
    if not text.startswith(head) or not text.endswith(tail) or len(text) <= len(head) + len(tail):
        return ""
    number = unquote(text[len(head):len(text) - len(tail)])
    return number if _NUMBER.fullmatch(number) else ""


def printer_ready(device_states: dict[str, dict[str, str]], printer: str | None) -> bool:
    """Whether a receipt handed to ``printer`` now would come out: online, with paper, cover shut."""
    st = device_states.get(printer or "", {})
    return (st.get("state") == "online" and st.get("paper") not in ("out", "jammed")
            and st.get("cover") != "open")


def keep(outbox, queue, terminal_ref: str) -> bool:
    """The session of this receipt ended before it could print: keep it for staff rather than let
    it come out for whoever stands at the kiosk next. Its print job is withdrawn unless the printer
    has it already (printing, or held mid-slip): then there is nothing left to stop (False)."""
    if queue is not None:
        job = queue.get(job_id(terminal_ref))
        if job is not None and not queue.withdraw(job.id):
            return False
    item = outbox.by_ref(terminal_ref)
    if item is not None and item.state in ("failed", "discarded"):
        outbox.set_receipt_state(terminal_ref, "refused")  # no receipt for a case that will never exist
        return True
    outbox.set_receipt_state(terminal_ref, "kept")
    log.warning("receipt of case %s kept for staff: its session ended before it printed "
                "(kiosk print reprint %s)", terminal_ref, terminal_ref)
    return True


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
        to_counter=tuple(data.get("to_counter", ())),  # records saved before there were two lists
        next_steps=next_steps(tr, data["promised_limit_days"]),
        query_url=data["track_url"].replace("{number}", quote(number, safe="")), provisional=not case_number,
        terminal_query=data.get("terminal_query", False))


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
