"""The outbox against the reference platform over HTTP: durable before sending, delivered once
with its idempotency key, findable by terminal reference, permanent failures kept for staff."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid

from sqlalchemy import text

from contract.models import CaseSubmission, EvaluationSubmission
from kiosk.central_client import CentralClient
from kiosk.outbox import Outbox, Sender, send_due
from tests.conftest import KIOSK

ITEM = "11511602MB1552795G4000110000"
PERSON = ("110101199003070012", "张三")
SCORES = {"overall": 5, "efficiency": 5, "competence": 4, "attitude": 5}


def new_terminal(platform) -> tuple[str, str]:
    tid = "T-" + uuid.uuid4().hex[:8].upper()
    return tid, platform.store.add_terminal(tid)


def server_cases(platform, tid: str) -> list[tuple[str, str]]:
    with platform.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT terminal_ref, case_no FROM cases WHERE terminal_id = :t "
                                                    "ORDER BY terminal_ref"), {"t": tid})]


def item_code(platform) -> str:
    return platform.store.search.search("hunyin").items[0].item_code


def test_committed_private_and_delivered_once(platform, tmp_path):
    tid, secret = new_terminal(platform)
    box = Outbox(tmp_path / "outbox.db", tid)
    item = box.enqueue_case(CaseSubmission(item_code=item_code(platform)), *PERSON)
    assert item.terminal_ref.startswith(f"{tid}-") and item.terminal_ref.endswith("-0001")
    assert stat.S_IMODE(os.stat(tmp_path / "outbox.db").st_mode) == 0o600
    box.close()  # as if the kiosk stopped: the item is on disk
    box = Outbox(tmp_path / "outbox.db", tid)
    assert box.depth() == 1 and box.items()[0].idem_key == item.idem_key
    client = CentralClient(platform.url, terminal_id=tid, secret=secret)
    assert send_due(box, client)["delivered"] == 1
    done = box.get(item.seq)
    assert done.state == "delivered" and done.case_number.startswith("GA")
    assert done.body == {} and done.person is None  # personal data gone once delivered
    # Resending the same key (a lost answer) gives the same case, not a second one.
    again = client.submit_case(client.person_token(*PERSON).token,
                               CaseSubmission(item_code=item_code(platform), terminal_ref=item.terminal_ref),
                               item.idem_key)
    assert again.case_no == done.case_number
    assert server_cases(platform, tid) == [(item.terminal_ref, done.case_number)]
    # The reference printed on an offline receipt finds the case on the platform.
    assert client.get_case(item.terminal_ref).case_no == done.case_number


def test_unreachable_waits_and_rejected_is_kept_for_staff(platform, tmp_path):
    tid, secret = new_terminal(platform)
    box = Outbox(tmp_path / "outbox.db", tid)
    good = box.enqueue_evaluation(EvaluationSubmission(scores=SCORES))
    down = CentralClient("http://127.0.0.1:9", retries=1, terminal_id=tid, secret=secret)
    assert send_due(box, down) == {"delivered": 0, "failed": 0, "retry": 1}
    it = box.get(good.seq)
    assert it.state == "pending" and it.attempts == 1 and it.next_try > it.updated and "unreachable" in it.last_error
    bad = box.enqueue_case(CaseSubmission(item_code="NO-SUCH-ITEM"), *PERSON)
    box.retry_now()
    up = CentralClient(platform.url, terminal_id=tid, secret=secret)
    assert send_due(box, up) == {"delivered": 1, "failed": 1, "retry": 0}
    failed = box.get(bad.seq)
    assert failed.state == "failed" and "not_found" in failed.last_error and failed.person  # kept, not retried
    assert box.due() == [] and box.depth() == 0


def test_sender_thread_delivers_after_wake(platform, tmp_path):
    tid, secret = new_terminal(platform)
    box = Outbox(tmp_path / "outbox.db", tid)
    client = CentralClient(platform.url, terminal_id=tid, secret=secret)
    with Sender(box, client, idle_s=0.2) as sender:
        refs = [box.enqueue_case(CaseSubmission(item_code=item_code(platform), form={"n": str(i)}), *PERSON)
                .terminal_ref for i in range(5)]
        sender.wake()
        import time

        deadline = time.monotonic() + 10
        while box.depth():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert [r for r, _ in server_cases(platform, tid)] == refs


def test_cli_status_and_flush(platform, tmp_path):
    tid, secret = new_terminal(platform)
    box = Outbox(tmp_path / "outbox.db", tid)
    box.enqueue_evaluation(EvaluationSubmission(scores=SCORES))
    box.close()
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[terminal]\nid = "{tid}"\n[central]\nurl = "{platform.url}"\nsecret = "{secret}"\n'
                   f'[paths]\nvar = "{tmp_path}"\n', encoding="utf-8")
    r = subprocess.run([KIOSK, "outbox", "--config", str(cfg), "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "pending 1" in r.stdout and f"{tid}-" in r.stdout
    r = subprocess.run([KIOSK, "outbox", "--config", str(cfg), "flush"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "pending 0, delivered 1" in r.stdout, r.stdout + r.stderr
