"""The /track/{number} page: what a citizen's phone opens from the QR on a receipt.

Open, no login: it shows the item, the state and the timeline of a case found by its case number
or by the terminal reference of an offline receipt, and nothing about the person (not even
masked), so a number read over someone's shoulder gives away no personal data.
"""

from __future__ import annotations

from html import escape
from typing import Any

from central.fleet import PAGE_CSS, local_time


def render_track(number: str, case: dict[str, Any] | None) -> str:
    if case is None:
        body = (f"<h1>没有找到这个办件</h1><p>编号：{escape(number)}</p>"
                "<p>请核对回执上的编号。在自助终端离线时受理的办件，终端联网后即可查询。</p>")
    else:
        steps = "".join(f'<tr data-state="{escape(e["state"])}"><td>{escape(local_time(e["at"]))}</td>'
                        f'<td><b>{escape(e["label"])}</b></td><td>{escape(e["note"] or "")}</td></tr>'
                        for e in reversed(case["timeline"]))
        promised = (f'<p>承诺办结时间：{escape(local_time(case["promised_by"]))}</p>' if case.get("promised_by") else "")
        sup = case.get("supplement")
        if sup:  # 一次性告知: everything to bring, so the citizen comes once
            items = "".join(f"<li>{escape(m)}</li>" for m in sup["materials"])
            due = f'（请在 {escape(local_time(sup["due"]))} 前）' if sup.get("due") else ""
            promised += f'<h2>需要补正的材料{due}</h2><ul id="supplement">{items}</ul>'
            promised += f'<p>{escape(sup["note"])}</p>' if sup.get("note") else ""
        body = (f'<h1>{escape(case["item_name"])}</h1>'
                f'<p class="muted">受理编号：{escape(case["case_no"])}</p>'
                f'<p>当前状态：<span class="tag ok" id="state">{escape(case["state_label"])}</span></p>{promised}'
                f"<h2>办理进度</h2><table><tr><th>时间</th><th>环节</th><th>说明</th></tr>{steps}</table>")
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>办件进度查询</title><style>{PAGE_CSS}</style></head><body>{body}</body></html>")
