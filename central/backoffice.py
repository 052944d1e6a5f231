"""The simulated back office: moves cases through the canonical states as time passes.

A real province's departments do this by hand. Here each case gets a *path* at submission
(approve, supplement, special, deny, refuse) and takes one step every ``step_seconds``. Steps are
materialised lazily when a case is read (``due_steps``): each event is stamped with the time it
was due, not the time it was read, so the timeline looks the same whenever it is asked for, and a
test with an injected clock is deterministic. The supplement path stops at 补齐补正 until the
citizen hands in the missing materials.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from contract.models import CaseResult, CaseState

S = CaseState


@dataclass(frozen=True)
class Step:
    state: CaseState
    note: str = ""
    result: CaseResult | None = None


SUPPLEMENT_MATERIALS = ["户口簿本人页复印件（原提交材料不清晰）", "近期免冠照片 1 张"]

_TAIL_APPROVED = [
    Step(S.CONCLUDED, "准予：结果证照已生成，可在本终端打印电子证照证明", "approved"),
    Step(S.DELIVERED, "已送达（可到窗口领取或选择邮寄）"),
    Step(S.AWAITING_RATING, "请对本次服务进行评价"),
]
_HEAD = [Step(S.SUBMITTED, "申报已提交"), Step(S.PRE_REVIEW, "窗口人员正在预审材料")]
_ACCEPT = [Step(S.ACCEPTED, "材料齐全，已受理，出具受理通知书"), Step(S.PROCESSING, "部门审查办理中")]

PATHS: dict[str, list[Step]] = {
    "approve": [*_HEAD, *_ACCEPT, *_TAIL_APPROVED],
    "supplement": [*_HEAD, Step(S.SUPPLEMENT, "一次性告知：请补齐以下材料"),
                   Step(S.PRE_REVIEW, "已收到补正材料，重新预审"), *_ACCEPT, *_TAIL_APPROVED],
    "special": [*_HEAD, *_ACCEPT, Step(S.SPECIAL, "现场核查（特别程序，所需时间不计入办理时限）"),
                Step(S.PROCESSING, "特别程序结束，继续办理"), *_TAIL_APPROVED],
    "deny": [*_HEAD, *_ACCEPT, Step(S.CONCLUDED, "不予许可：不符合法定条件，详见决定书", "denied"),
             Step(S.DELIVERED, "不予许可决定书已送达"), Step(S.AWAITING_RATING, "请对本次服务进行评价")],
    "refuse": [*_HEAD, Step(S.NOT_ACCEPTED, "不属于本机关职权范围，不予受理；请向有权机关申请")],
}
# Hash buckets 0-9 → path, when the submission does not choose one (demo/test hook).
_BUCKETS = ["approve"] * 5 + ["supplement"] * 2 + ["special", "deny", "refuse"]
DEMO_PATH_FIELD = "_demo_path"


def choose_path(case_no: str, form: dict[str, str]) -> str:
    wanted = form.get(DEMO_PATH_FIELD, "")
    if wanted in PATHS:
        return wanted
    return _BUCKETS[int(hashlib.sha256(case_no.encode()).hexdigest(), 16) % 10]


def due_steps(path: str, step: int, state_since: float, now: float,
              step_seconds: float) -> list[tuple[int, float]]:
    """The (step index, due time) pairs the case has reached by ``now``, after ``step``."""
    plan = PATHS[path]
    out: list[tuple[int, float]] = []
    t = state_since
    while step + 1 < len(plan) and plan[step].state != S.SUPPLEMENT:
        t += step_seconds
        if t > now:
            break
        step += 1
        out.append((step, t))
    return out
