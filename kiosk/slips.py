"""The slips this terminal prints, each described once as a devices.printdoc.Document.

Printer drivers decide how to put them on paper; nothing here knows about ESC/POS.
Slips carry no personal data unless the slip's purpose needs it.
"""

from __future__ import annotations

import datetime as dt

from devices.printdoc import Align, Cut, Document, Feed, KeyValue, QRCode, Rule, Text
from kiosk.i18n import Translator


def _footer(tr: Translator, terminal_id: str, now: dt.datetime) -> list:
    return [
        Rule(),
        KeyValue(tr("slip.terminal"), terminal_id),
        KeyValue(tr("slip.time"), now.strftime("%Y-%m-%d %H:%M")),
        Feed(2),
        Cut(),
    ]


def guide_slip(guide, tr: Translator, hall: str, terminal_id: str, now: dt.datetime) -> Document:
    """办事指南 summary: what to bring, how long, where; a QR code to the full guide."""
    els: list = [
        Text(hall, align=Align.CENTER, bold=True),
        Text(tr("slip.guide_title"), align=Align.CENTER, bold=True, size=2),
        Rule(),
        KeyValue(tr("guide.item"), guide.name),
        KeyValue(tr("guide.code"), guide.item_code),
        KeyValue(tr("guide.department"), guide.department),
    ]
    if guide.detail_complete:
        els += [KeyValue(label, value) for label, value in facts(tr, guide)[:-2]]
        els += [Rule(), Text(tr("slip.materials_heading"), bold=True)]
        for i, m in enumerate(guide.materials, 1):
            els.append(Text(f"□ {i}. {material_line(tr, m)}"))
        els += [Rule(), KeyValue(tr("guide.place"), guide.place), KeyValue(tr("guide.hours"), guide.hours)]
    else:
        els += [Rule(), Text(tr("guide.ask_window"))]
    if guide.link:
        els += [Feed(1), QRCode(guide.link), Text(tr("slip.scan_full_guide"), align=Align.CENTER)]
    els += _footer(tr, terminal_id, now)
    return Document(kind="guide", elements=tuple(els))


def facts(tr: Translator, guide) -> list[tuple[str, str]]:
    """The guide's key facts as (label, value): time limits, visits, fee, then place and hours."""
    rows = []
    for label, days in (("guide.limit_promised", guide.promised_limit_days),
                        ("guide.limit_legal", guide.legal_limit_days)):
        if days is not None:
            rows.append((tr(label), tr("guide.same_day") if days == 0 else tr("guide.days", n=days)))
    if guide.visits is not None:
        rows.append((tr("guide.visits"), tr("guide.visits_n", n=guide.visits)))
    rows += [(tr("guide.fee"), guide.fee), (tr("guide.place"), guide.place), (tr("guide.hours"), guide.hours)]
    return rows


def material_line(tr: Translator, material) -> str:
    return tr(
        "guide.material_line",
        name=material.name,
        form=material.form,
        copies=material.copies,
        required=material.required,
    )


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
