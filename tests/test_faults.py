"""Exactly once through a hostile network and a killed process, over real HTTP on 127.0.0.1.

A fault proxy between the client and the reference platform drops connections (before and after
the server did the work), delays past the read timeout, answers 500, sends malformed JSON and cuts
answers mid-body; then a kiosk process is SIGKILLed at random moments while it submits. Every
submission must exist exactly once on the platform.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from contract.models import CaseSubmission, EvaluationSubmission
from kiosk.central_client import CentralClient
from kiosk.outbox import Outbox, send_due
from tests.conftest import REPO
from tests.fault_proxy import MODES, FaultProxy

PERSON = ("110101199003070012", "张三")
SCORES = {"overall": 2, "efficiency": 3, "competence": 4, "attitude": 5}


@pytest.fixture(scope="module")
def item(platform) -> str:
    return platform.store.search.search("hunyin").items[0].item_code


def new_terminal(platform) -> tuple[str, str]:
    tid = "F-" + uuid.uuid4().hex[:8].upper()
    return tid, platform.store.add_terminal(tid)


def rows(platform, q: str, **params) -> list[tuple]:
    with platform.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(q), params)]


def test_every_fault_mode_delivers_exactly_once(platform, item, tmp_path):
    tid, secret = new_terminal(platform)
    box = Outbox(tmp_path / "outbox.db", tid)
    n_cases, n_ratings = 12, 6
    for i in range(n_cases):
        box.enqueue_case(CaseSubmission(item_code=item, form={"n": str(i)}), *PERSON)
    for i in range(n_ratings):
        box.enqueue_evaluation(EvaluationSubmission(scores=SCORES, comment=f"{tid}-{i}"))
    modes = ["drop", "pass", "drop_after", "delay", "pass", "error500", "malformed", "pass", "cut", "pass"]
    with FaultProxy(platform.url, modes, delay_s=0.6) as proxy:
        client = CentralClient(proxy.url, timeout=(1, 0.3), retries=2, backoff=0.01, terminal_id=tid, secret=secret)
        for _ in range(200):
            if not box.depth():
                break
            box.retry_now()
            send_due(box, client, base_backoff=0.01)
        assert all(proxy.seen[m] for m in MODES if m in modes), proxy.seen
    assert box.depth() == 0 and box.counts() == {"delivered": n_cases + n_ratings}
    cases = rows(platform, "SELECT terminal_ref, case_no FROM cases WHERE terminal_id = :t", t=tid)
    assert sorted(r for r, _ in cases) == sorted(i.terminal_ref for i in box.items() if i.kind == "case")
    assert {c for _, c in cases} == {i.case_number for i in box.items() if i.kind == "case"}
    ratings = rows(platform, "SELECT comment, evaluation_id FROM evaluations WHERE terminal_id = :t", t=tid)
    assert sorted(c for c, _ in ratings) == sorted(f"{tid}-{i}" for i in range(n_ratings))
    assert {e for _, e in ratings} == {i.result_id for i in box.items() if i.kind == "evaluation"}


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(platform, item, tmp_path):
    tid, secret = new_terminal(platform)
    # Enough that 15 lives cut short cannot finish them (at ~9 ms a case, a life does 0-90)
    path, n = tmp_path / "outbox.db", 1000
    cmd = [sys.executable, "-m", "tests.outbox_child", platform.url, tid, secret, str(path), str(n), item]
    rnd = random.Random(20261122)
    kills, started = 0, time.monotonic()
    while kills < 15 and time.monotonic() - started < 30:
        child = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.3, 1.0))
        if child.poll() is not None:
            break  # it finished all n before this kill
        child.send_signal(signal.SIGKILL)
        child.wait()
        kills += 1
    final = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert final.returncode == 0, final.stderr[-2000:]
    assert kills >= 10, kills
    box = Outbox(path, tid)
    items = box.items()
    assert len(items) == n and all(i.state == "delivered" for i in items)
    cases = rows(platform, "SELECT terminal_ref, case_no, body FROM cases WHERE terminal_id = :t", t=tid)
    assert sorted(r for r, _, _ in cases) == sorted(i.terminal_ref for i in items)
    assert sorted(c for _, c, _ in cases) == sorted(i.case_number for i in items)
    # Each numbered submission exists once: a restart never re-enqueues what the outbox holds.
    assert sorted(int(json.loads(b)["form"]["n"]) for _, _, b in cases) == list(range(n))
