"""The /fleet page: every terminal of the hall on one server-rendered page for hall managers.

Plain HTML and CSS, no script: it refreshes itself every 30 s with a meta tag. Problems are
shown in words as well as colour (离线, 缺纸, 纸尽), never colour alone.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from central.platform import CHINA_TZ

DEVICE_WORDS = {"online": "正常", "offline": "离线", "no_device": "未连接", "hardware_error": "硬件故障",
                "user_error": "需人工处理", "busy": "忙", "unknown": "状态未知"}
PAPER_WORDS = {"full": "纸充足", "low": "缺纸", "out": "纸尽", "jammed": "卡纸", "unknown": "纸量未知"}
BAD_PAPER = {"low": "warn", "out": "bad", "jammed": "bad"}
BAD_DEVICE = {"offline", "no_device", "hardware_error", "user_error"}

PAGE_CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif; margin: 24px;
       color: #1b1b1b; background: #f6f7f9; font-size: 16px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 28px 0 8px; }
.muted { color: #555; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { border: 1px solid #c8ccd2; padding: 8px 10px; text-align: left; vertical-align: top; }
th { background: #e8ebf0; }
.tag { display: inline-block; padding: 2px 8px; margin: 2px 4px 2px 0; border-radius: 4px;
       border: 1px solid #9aa3ad; background: #eef1f4; }
.ok { background: #e3f4e6; border-color: #3c8a4a; }
.warn { background: #fff1c2; border-color: #a67c00; font-weight: bold; }
.bad { background: #ffd9d6; border-color: #b3261e; color: #8c1d18; font-weight: bold; }
.num { text-align: right; }
"""


def local_time(ts: str | None) -> str:
    if not ts:
        return "从未"
    return dt.datetime.fromisoformat(ts).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _ago(ts: str | None, now: float) -> str:
    if not ts:
        return ""
    s = int(now - dt.datetime.fromisoformat(ts).timestamp())
    if s < 60:
        return f"（{max(s, 0)} 秒前）"
    if s < 3600:
        return f"（{s // 60} 分钟前）"
    return f"（{s // 3600} 小时前）"


def _devices(devices: list[dict[str, Any]]) -> str:
    if not devices:
        return '<span class="muted">未上报</span>'
    out = []
    for d in devices:
        status = d.get("status", "unknown")
        cls = "bad" if status in BAD_DEVICE else ("warn" if status == "unknown" else "ok")
        words = DEVICE_WORDS.get(status, status)
        paper = d.get("paper")
        if paper:
            words += "，" + PAPER_WORDS.get(paper, paper)
            cls = BAD_PAPER.get(paper, cls) if cls != "bad" else cls
        detail = f"：{escape(d['detail'])}" if d.get("detail") else ""
        out.append(f'<span class="tag {cls}" data-device="{escape(d["name"])}" data-status="{escape(status)}"'
                   f' data-paper="{escape(paper or "")}">{escape(d["name"])} {escape(words)}{detail}</span>')
    return "".join(out)


COMMAND_WORDS = {"queued": ("待下发", ""), "delivered": ("已下发", "warn"), "ok": ("已完成", "ok"),
                 "failed": ("失败", "bad"), "acknowledged": ("已确认", "ok")}


def _commands(terminals: list[dict[str, Any]]) -> str:
    rows = []
    for t in terminals:
        for c in t.get("commands", ()):
            words, cls = COMMAND_WORDS.get(c["state"], (c["state"], ""))
            args = "，".join(f"{k}={v}" for k, v in c["args"].items())
            rows.append(
                f'<tr data-command="{c["command_id"]}" data-state="{escape(c["state"])}">'
                f'<td>{escape(t["terminal_id"])}</td><td class="num">{c["command_id"]}</td>'
                f'<td>{escape(c["command"])}<br><span class="muted">{escape(args)}</span></td>'
                f"<td>{local_time(c['created_at'])}</td>"
                f'<td><span class="tag {cls}">{words}</span></td><td>{escape(c["result"] or "")}</td></tr>')
    return "".join(rows) or '<tr><td colspan="6">尚无指令</td></tr>'


def render_fleet(terminals: list[dict[str, Any]], stats: list[dict[str, Any]], now: float) -> str:
    rows = []
    for t in terminals:
        state = '<span class="tag ok">在线</span>' if t["online"] else '<span class="tag bad">离线</span>'
        outbox = t["outbox_depth"]
        outbox_cls = "num warn" if outbox > 0 else "num"
        rows.append(
            f'<tr data-terminal="{escape(t["terminal_id"])}"><td><b>{escape(t["terminal_id"])}</b><br>'
            f'<span class="muted">{escape(t["name"] or "")} {escape(t["hall"] or "")}</span></td>'
            f"<td>{state}</td><td>{local_time(t['last_heartbeat'])}<br><span class='muted'>"
            f"{_ago(t['last_heartbeat'], now)}</span></td>"
            f"<td>{_devices(t['devices'])}</td><td class='{outbox_cls}'>{outbox}</td>"
            f"<td>{escape(t['version'] or '—')}</td></tr>")
    day_rows = []
    for d in stats:
        avg = f"{d['level_sum'] / d['ratings']:.1f}" if d["ratings"] else "—"
        bad = f'<span class="tag bad">{d["bad"]}</span>' if d["bad"] else "0"
        day_rows.append(f"<tr data-day='{d['day']}'><td>{d['day']}</td><td class='num'>{d['cases']}</td>"
                        f"<td class='num'>{d['ratings']}</td><td class='num'>{avg}</td><td class='num'>{bad}</td></tr>")
    offline = sum(1 for t in terminals if not t["online"])
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<title>终端运行监控</title><style>{PAGE_CSS}</style></head>
<body>
<h1>自助终端运行监控</h1>
<p class="muted">更新时间 {local_time(dt.datetime.fromtimestamp(now, dt.UTC).isoformat())} · 共 {len(terminals)} 台终端，
离线 {offline} 台 · 每 30 秒自动刷新</p>
<h2>终端</h2>
<table id="terminals"><thead><tr><th>终端</th><th>状态</th><th>最后心跳</th><th>设备状态</th>
<th>待发送</th><th>软件版本</th></tr></thead>
<tbody>{"".join(rows) or '<tr><td colspan="6">尚无终端</td></tr>'}</tbody></table>
<h2>远程指令</h2>
<table id="commands"><thead><tr><th>终端</th><th>编号</th><th>指令</th><th>下达时间</th><th>状态</th>
<th>终端回报</th></tr></thead>
<tbody>{_commands(terminals)}</tbody></table>
<h2>每日办件与评价</h2>
<table id="daily"><thead><tr><th>日期</th><th>申报办件</th><th>评价数</th><th>平均满意度</th><th>差评（待回访）</th>
</tr></thead><tbody>{"".join(day_rows)}</tbody></table>
</body></html>
"""
