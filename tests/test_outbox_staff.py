"""Only the platform's own word fails a submission; staff can send a failed one again or give it up
(asked first, audit-logged); a failed item's personal data goes after the retention time.

Over real HTTP: the reference platform, and the fault proxy standing in for a reverse proxy that
answers its own 404 page during a deploy.
"""

from __future__ import annotations

import os
import stat
import subprocess
import uuid

from contract.models import CaseSubmission
from kiosk import audit
from kiosk.central_client import CentralClient
from kiosk.outbox import Outbox, send_due
from tests.conftest import KIOSK
from tests.fault_proxy import FaultProxy

PERSON = ("110101199003070012", "张三")


def new_terminal(platform) -> tuple[str, str]:
    tid = "S-" + uuid.uuid4().hex[:8].upper()
    return tid, platform.store.add_terminal(tid)


def some_item(platform, query: str) -> str:
    return platform.store.search.search(query).items[0].item_code


def test_a_404_that_is_not_the_platforms_verdict_is_retried(platform, tmp_path):
    tid, secret = new_terminal(platform)
    box = Outbox(tmp_path / "outbox.db", tid)
    case = box.enqueue_case(CaseSubmission(item_code=some_item(platform, "hunyin")), *PERSON)
    # A reverse proxy's own 404 page during a deploy...
    with FaultProxy(platform.url, ["page404"]) as proxy:
        client = CentralClient(proxy.url, retries=1, terminal_id=tid, secret=secret)
        assert send_due(box, client) == {"delivered": 0, "failed": 0, "retry": 1}
    assert box.get(case.seq).state == "pending" and "404" in box.get(case.seq).last_error
    # ...and a wrong URL prefix that reaches the platform but no route of it.
    box.retry_now()
    wrong = CentralClient(platform.url + "/wrong-prefix", retries=1, terminal_id=tid, secret=secret)
    assert send_due(box, wrong) == {"delivered": 0, "failed": 0, "retry": 1}
    assert box.get(case.seq).state == "pending" and box.get(case.seq).person is not None
    # Once the path is right again, the case arrives.
    box.retry_now()
    right = CentralClient(platform.url, retries=1, terminal_id=tid, secret=secret)
    assert send_due(box, right) == {"delivered": 1, "failed": 0, "retry": 0}
    # The platform's own "no such item", in its error body, is final.
    bad = box.enqueue_case(CaseSubmission(item_code="NO-SUCH-ITEM"), *PERSON)
    assert send_due(box, right) == {"delivered": 0, "failed": 1, "retry": 0}
    assert box.get(bad.seq).state == "failed" and "not_found" in box.get(bad.seq).last_error


def write_config(tmp_path, platform, tid, secret, extra: str = "") -> str:
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[terminal]\nid = "{tid}"\n[central]\nurl = "{platform.url}"\nsecret = "{secret}"\n'
                   f'[paths]\nvar = "{tmp_path}"\n{extra}', encoding="utf-8")
    return str(cfg)


def kiosk(cfg: str, *argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([KIOSK, "outbox", "--config", cfg, *argv], capture_output=True, text=True, timeout=60,
                          **kw)


def test_staff_retry_a_failed_case_once_the_cause_is_fixed(platform, tmp_path):
    tid, secret = new_terminal(platform)
    code = some_item(platform, "yingye")
    full = platform.store.guides.get(code)
    box = Outbox(tmp_path / "outbox.db", tid)
    case = box.enqueue_case(CaseSubmission(item_code=code), *PERSON)
    platform.store.guides.delete([code])  # the item is withdrawn for an hour...
    try:
        client = CentralClient(platform.url, retries=1, terminal_id=tid, secret=secret)
        assert send_due(box, client)["failed"] == 1
    finally:
        platform.store.guides.upsert([full])  # ...and put back
    cfg = write_config(tmp_path, platform, tid, secret)
    r = kiosk(cfg, "status")
    assert r.returncode == 1 and "failed 1" in r.stdout and case.terminal_ref in r.stdout

    r = kiosk(cfg, "retry", case.terminal_ref)
    assert r.returncode == 0 and "pending again" in r.stdout, r.stdout + r.stderr
    r = kiosk(cfg, "flush")
    assert r.returncode == 0 and "delivered 1, failed 0" in r.stdout, r.stdout + r.stderr
    delivered = box.get(case.seq)
    assert delivered.state == "delivered" and delivered.case_number and delivered.person is None
    [entry] = audit.read(tmp_path)
    assert entry["action"] == "outbox.retry" and entry["ref"] == case.terminal_ref and entry["who"]
    assert PERSON[0] not in audit.path(tmp_path).read_text()

    r = kiosk(cfg, "retry", "NO-SUCH-REF")
    assert r.returncode == 2 and "no item" in r.stderr and "Traceback" not in r.stderr
    r = kiosk(cfg, "retry", "--all-failed")
    assert r.returncode == 0 and "no failed items" in r.stdout


def test_discard_asks_first_and_leaves_a_trace(platform, tmp_path):
    tid, secret = new_terminal(platform)
    box = Outbox(tmp_path / "outbox.db", tid)
    case = box.enqueue_case(CaseSubmission(item_code="NO-SUCH-ITEM"), *PERSON)
    client = CentralClient(platform.url, retries=1, terminal_id=tid, secret=secret)
    assert send_due(box, client)["failed"] == 1
    cfg = write_config(tmp_path, platform, tid, secret)

    # No terminal to ask on and no --yes: nothing happens.
    r = kiosk(cfg, "discard", case.terminal_ref, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "not confirmed" in r.stderr and box.get(case.seq).state == "failed"
    # At a terminal: the wrong answer keeps it, the reference typed back discards it.
    assert _at_terminal(cfg, case.terminal_ref, "yes\n").returncode == 1
    assert box.get(case.seq).state == "failed"
    done = _at_terminal(cfg, case.terminal_ref, case.terminal_ref + "\n")
    assert done.returncode == 0, done.stdout
    gone = box.get(case.seq)
    assert gone.state == "discarded" and gone.person is None and gone.body == {}
    [entry] = audit.read(tmp_path)
    assert (entry["action"], entry["ref"], entry["was"]) == ("outbox.discard", case.terminal_ref, "failed")
    assert stat.S_IMODE(os.stat(audit.path(tmp_path)).st_mode) == 0o600
    r = kiosk(cfg, "discard", case.terminal_ref, "--yes")
    assert r.returncode == 2 and "only pending or failed" in r.stderr


def _at_terminal(cfg: str, ref: str, answer: str) -> subprocess.CompletedProcess:
    """Run `kiosk outbox discard REF` on a pseudo-terminal and type ``answer`` at its question."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([KIOSK, "outbox", "--config", cfg, "discard", ref], stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        os.write(master, answer.encode())
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def test_a_failed_items_personal_data_goes_after_the_retention_time(platform, tmp_path, caplog):
    tid, secret = new_terminal(platform)
    now = [1_800_000_000.0]
    box = Outbox(tmp_path / "outbox.db", tid, clock=lambda: now[0])
    case = box.enqueue_case(CaseSubmission(item_code="NO-SUCH-ITEM"), *PERSON)
    client = CentralClient(platform.url, retries=1, terminal_id=tid, secret=secret)
    assert send_due(box, client)["failed"] == 1
    now[0] += 29 * 86400
    assert box.expire_failed(30 * 86400) == [] and box.get(case.seq).person is not None  # staff may still retry
    now[0] += 2 * 86400
    with caplog.at_level("WARNING", logger="kiosk.outbox"):
        [expired] = box.expire_failed(30 * 86400)
    kept = box.get(case.seq)
    assert expired.terminal_ref == case.terminal_ref
    assert kept.person is None and kept.body == {} and kept.state == "failed"  # the record stays
    assert case.terminal_ref in caplog.text and PERSON[0] not in caplog.text
    for name in ("outbox.db", "outbox.db-wal"):  # overwritten on disk, not just unlinked
        assert PERSON[0].encode() not in (tmp_path / name).read_bytes()
    cfg = write_config(tmp_path, platform, tid, secret)
    r = kiosk(cfg, "retry", case.terminal_ref)
    assert r.returncode == 1 and "dropped after the retention time" in r.stderr


def test_files_the_kiosk_writes_are_its_users_alone(tmp_path):
    """Even where nothing sets a mode by hand (the embedded platform's database, the catalogue),
    under a permissive umask: the kiosk's files hold or may hold personal data."""
    var = tmp_path / "var"
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[central]\nurl = "embedded"\n[paths]\nvar = "{var}"\n', encoding="utf-8")
    r = subprocess.run([KIOSK, "guides", "--config", str(cfg), "sync"], capture_output=True, text=True,
                       timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stderr[-2000:]
    files = [p for p in var.rglob("*") if p.is_file()]
    assert any(p.name == "central.db" for p in files)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o600" for p in files}
