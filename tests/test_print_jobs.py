"""The durable print queue against the real driver and the virtual printer over a pty: paper out
(before and mid-job), cover open, a silent printer, a crash mid-job, retries, staff reprint."""

from __future__ import annotations

import os
import stat
import time

import pytest

from devices.manager import DeviceManager
from devices.printdoc import Cut, Document, Text
from devices.status import DeviceState
from drivers.escpos.emulator import VirtualPrinter
from kiosk import print_cli, slips
from kiosk.i18n import Translator
from kiosk.print_jobs import JobState, PrintDispatcher, PrintQueue

pytestmark = pytest.mark.timeout(40)
tr = Translator("zh_CN")
MARK = slips.reprint_mark(tr)
SMALL = Document("test", (Text("测试凭条，打印正常。"), Cut()))
RECEIPT = print_cli.sample_document("receipt", tr)


@pytest.fixture
def rig(tmp_path):
    with VirtualPrinter() as vp:
        devices = DeviceManager({"printer": {"driver": "escpos", "port": vp.port, "status_timeout_ms": 200}})
        devices.start()
        queue = PrintQueue(tmp_path / "print_jobs.db")
        dispatcher = PrintDispatcher(queue, devices, "printer", MARK, backoff=(0.2, 1.0), request_timeout=20)
        try:
            yield vp, devices, queue, dispatcher
        finally:
            devices.stop()
            queue.close()


def run(devices, dispatcher, cond, timeout: float = 8.0) -> None:
    """The shell's tick, until ``cond()``."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        for event in devices.drain():
            dispatcher.on_event(event)
        dispatcher.pump()
        time.sleep(0.02)


def settle(devices, dispatcher, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    run(devices, dispatcher, lambda: time.monotonic() >= end, seconds + 1)


def state(queue, job_id):
    return queue.get(job_id).state


def test_a_job_prints_once_and_is_done(rig):
    vp, devices, queue, d = rig
    job = d.submit(SMALL, "j1")
    assert queue.get("j1").state is JobState.PRINTING  # committed before it was sent
    run(devices, d, lambda: state(queue, "j1") is JobState.DONE)
    assert [s.text_lines for s in vp.wait_for_slips(1)] == [["测试凭条，打印正常。"]]
    assert job.attempts == 0 and queue.get("j1").attempts == 1


def test_jobs_survive_reopening_the_queue_file(tmp_path):
    q = PrintQueue(tmp_path / "q.db")
    q.add(RECEIPT, "printer", "r1")
    q.close()
    q = PrintQueue(tmp_path / "q.db")
    job = q.get("r1")
    assert job.state is JobState.QUEUED and job.document == RECEIPT and not job.reprint
    assert q.recovered == []
    q.close()


def test_queue_file_is_private(tmp_path):
    q = PrintQueue(tmp_path / "q.db")
    q.add(RECEIPT, "printer")
    for suffix in ("", "-wal"):
        path = tmp_path / f"q.db{suffix}"
        if path.exists():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert q.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert q.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    q.close()


def test_same_job_id_twice_prints_once(rig):
    vp, devices, queue, d = rig
    d.submit(SMALL, "tap")
    d.submit(SMALL, "tap")  # a double tap, or a retry after a restart
    run(devices, d, lambda: state(queue, "tap") is JobState.DONE)
    d.submit(SMALL, "tap")  # the same id after it printed: still not again
    settle(devices, d)
    assert len(vp.slips) == 1


def test_paper_out_blocks_then_prints_exactly_once_after_refill(rig):
    vp, devices, queue, d = rig
    vp.set_paper("out")
    d.submit(RECEIPT, "po")
    run(devices, d, lambda: queue.get("po").blocked == "paper_out")
    job = queue.get("po")
    assert job.state is JobState.QUEUED and "缺纸" in job.error_zh
    settle(devices, d)  # retries with backoff are refused too, nothing is sent
    assert vp.slips == [] and queue.get("po").state is not JobState.DONE
    vp.set_paper("full")
    run(devices, d, lambda: state(queue, "po") is JobState.DONE)
    settle(devices, d)
    assert len(vp.slips) == 1 and "办件回执" in vp.slips[0].text_lines
    assert "补打 REPRINT" not in vp.slips[0].text_lines


def test_paper_out_mid_job_is_held_and_finished_by_the_printer_not_resent(rig):
    vp, devices, queue, d = rig
    vp.paper_runs_out_after(200)
    d.submit(RECEIPT, "mid")
    run(devices, d, lambda: state(queue, "mid") is JobState.HELD)
    assert queue.get("mid").blocked == "paper_out" and vp.pending > 0 and vp.slips == []
    assert devices.state("printer") is DeviceState.OFFLINE  # truthful: not "printing", not "done"
    vp.set_paper("full")  # staff load a roll: the printer prints what it held
    run(devices, d, lambda: state(queue, "mid") is JobState.DONE)
    settle(devices, d)
    assert len(vp.slips) == 1  # the held slip, and no second copy
    assert "办件回执" in vp.slips[0].text_lines and vp.slips[0].row_kinds().count("qr") == 1


def test_cover_open_blocks_then_prints_once(rig):
    vp, devices, queue, d = rig
    vp.set_cover(True)
    d.submit(SMALL, "co")
    run(devices, d, lambda: queue.get("co").blocked == "cover_open")
    assert state(queue, "co") is JobState.QUEUED and vp.slips == []
    vp.set_cover(False)
    run(devices, d, lambda: state(queue, "co") is JobState.DONE)
    settle(devices, d)
    assert len(vp.slips) == 1


def test_silent_printer_is_unknown_and_the_job_waits(rig):
    vp, devices, queue, d = rig
    run(devices, d, lambda: devices.state("printer") is DeviceState.ONLINE)
    vp.silent = True
    d.submit(SMALL, "quiet")
    run(devices, d, lambda: queue.get("quiet").blocked == "unknown")
    # retried with backoff, each retry refused: never claimed done, never dropped
    run(devices, d, lambda: queue.get("quiet").attempts >= 2 and state(queue, "quiet") is JobState.QUEUED)
    assert queue.get("quiet").blocked == "unknown"
    assert devices.state("printer") is DeviceState.UNKNOWN and vp.slips == []
    vp.silent = False
    run(devices, d, lambda: state(queue, "quiet") is JobState.DONE)
    settle(devices, d)
    assert len(vp.slips) == 1


def test_a_job_left_printing_by_a_crash_is_reprinted_marked(rig, tmp_path):
    vp, devices, queue, d = rig
    queue.add(SMALL, "printer", "crash")
    queue.update("crash", JobState.PRINTING, attempts=1)  # sent, then the app died
    queue.close()
    queue = d.queue = PrintQueue(tmp_path / "print_jobs.db")
    assert queue.recovered == ["crash"]
    assert queue.get("crash").state is JobState.QUEUED and queue.get("crash").reprint
    run(devices, d, lambda: state(queue, "crash") is JobState.DONE)
    assert vp.wait_for_slips(1)[0].text_lines == ["补打 REPRINT", "测试凭条，打印正常。"]


def test_reprint_last_and_only_the_last_done_job_is_kept(rig):
    vp, devices, queue, d = rig
    assert d.reprint_last() is None
    for jid in ("a", "b"):
        d.submit(SMALL, jid)
        run(devices, d, lambda jid=jid: state(queue, jid) is JobState.DONE)
    assert queue.get("a") is None and queue.get("b") is not None  # slips hold personal data
    again = d.reprint_last()
    run(devices, d, lambda: state(queue, again.id) is JobState.DONE)
    slips_ = vp.wait_for_slips(3)
    assert slips_[2].text_lines == ["补打 REPRINT", "测试凭条，打印正常。"]


def test_finished_jobs_expire(tmp_path):
    now = [1000.0]
    q = PrintQueue(tmp_path / "q.db", clock=lambda: now[0], keep_done_s=60)
    q.add(SMALL, "printer", "x")
    q.update("x", JobState.DONE)
    assert q.last_done().id == "x"
    now[0] += 61
    q.purge()
    assert q.last_done() is None and q.jobs() == []
    q.close()


def test_cli_reprint_last_queues_for_the_running_kiosk_or_sends(tmp_path):
    import subprocess

    from tests.conftest import KIOSK

    with VirtualPrinter() as vp:
        cfg = tmp_path / "k.toml"
        cfg.write_text(f"[paths]\nvar = '{tmp_path}'\n[devices.printer]\ndriver = 'escpos'\nport = '{vp.port}'\n",
                       encoding="utf-8")
        args = [KIOSK, "print", "--config", str(cfg), "reprint-last"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "no slip to reprint" in r.stdout
        q = PrintQueue(tmp_path / "print_jobs.db")
        q.add(SMALL, "printer", "last")
        q.update("last", JobState.DONE)
        q.close()
        r = subprocess.run(args + ["--send"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert vp.wait_for_slips(1)[0].text_lines == ["补打 REPRINT", "测试凭条，打印正常。"]


def test_withdraw_takes_back_only_a_job_the_printer_was_not_sent(tmp_path):
    queue = PrintQueue(tmp_path / "print_jobs.db")
    try:
        queue.add(SMALL, "printer", "waiting")
        queue.add(SMALL, "printer", "sent")
        queue.update("sent", JobState.PRINTING, attempts=1)
        assert queue.withdraw("waiting") and queue.get("waiting") is None
        assert not queue.withdraw("sent") and queue.get("sent").state is JobState.PRINTING
        assert not queue.withdraw("no-such-job")
    finally:
        queue.close()
