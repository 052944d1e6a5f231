"""A receipt is as durable as its case: a kiosk killed between "case saved" and "receipt printed"
prints it once when it comes back; one found too late for the citizen waits for staff, who list and
print it with `kiosk print pending` and `kiosk print reprint REF` (audit-logged).

The kiosk is tests/powercut_child.py (real shell, outbox, print queue, ESC/POS driver on the
printer emulator's pty, reference platform over HTTP), SIGKILLed right after it commits a case.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import uuid

import pytest

from drivers.escpos.emulator import VirtualPrinter
from kiosk import audit, slips
from tests.conftest import KIOSK
from tests.test_powercut import Zygote

pytestmark = pytest.mark.timeout(90)
DEAD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def item(platform) -> str:
    return platform.store.search.search("hunyin").items[0].item_code


@pytest.fixture
def hall(platform, item, tmp_path):
    tid = "R-" + uuid.uuid4().hex[:8].upper()
    secret = platform.store.add_terminal(tid)
    with VirtualPrinter() as printer, open(tmp_path / "lives.log", "w") as log:
        args = {"url": platform.url, "tid": tid, "secret": secret, "var": str(tmp_path), "printer": printer.port,
                "item": item, "cases": 1, "case_wait_s": 30.0}
        yield args, printer, log


def killed_after_commit(args, log) -> str:
    """A kiosk that cannot reach the platform saves a case and dies before its receipt prints."""
    zygote = Zygote({**args, "sender_url": DEAD, "announce": True}, log)
    try:
        pid = zygote.start_life()
        assert zygote.line() == "READY"
        word, ref = zygote.line().split()
        assert word == "COMMITTED"
        os.kill(pid, signal.SIGKILL)
        assert zygote.line() == "ENDED"
    finally:
        zygote.proc.kill()
    return ref


def restart(args, log) -> None:
    zygote = Zygote(args, log)
    try:
        zygote.start_life()
        assert [zygote.line() for _ in range(3)] == ["READY", "DRAINED", "ENDED"]
    finally:
        zygote.proc.kill()


def receipts_of(printer: VirtualPrinter, ref: str, number: str = "") -> list[str]:
    texts = [s.raw.decode("gb18030", "replace") for s in printer.slips]
    numbers = (number, slips.group_number(number)) if number else ()
    return [t for t in texts if "回执" in t and (ref in t or any(n in t for n in numbers))]


def test_killed_between_commit_and_print_the_restart_prints_the_receipt_once(hall, platform):
    args, printer, log = hall
    ref = killed_after_commit(args, log)
    assert receipts_of(printer, ref) == []  # the citizen got nothing before the power cut
    restart(args, log)
    printer.wait_for_slips(1, timeout=5)
    # Delivered on the way back, the case may have its number by the time the receipt prints.
    number = platform.store.case_by_number_or_ref(ref, args["tid"])["case_no"]
    [slip] = receipts_of(printer, ref, number)
    assert "补打" not in slip  # it never came out before: the first copy is not marked
    assert "**" in slip  # the applicant masked on paper, as on any receipt
    restart(args, log)  # and once more: nothing prints twice
    assert len(receipts_of(printer, ref, number)) == 1
    assert platform.store.case_by_number_or_ref(ref, args["tid"])["terminal_ref"] == ref


def cli(args, *argv, var, stdin=None) -> subprocess.CompletedProcess:
    cfg = var / "kiosk.toml"
    cfg.write_text(f'[terminal]\nid = "{args["tid"]}"\n[central]\nurl = "{args["url"]}"\n'
                   f'secret = "{args["secret"]}"\n[paths]\nvar = "{var}"\n[devices.printer]\ndriver = "escpos"\n'
                   f'connection = "serial"\nport = "{args["printer"]}"\n', encoding="utf-8")
    return subprocess.run([KIOSK, argv[0], "--config", str(cfg), *argv[1:]], capture_output=True, text=True,
                          timeout=60, stdin=stdin)


def test_a_receipt_found_too_late_waits_for_staff_who_print_it(hall, platform, tmp_path):
    args, printer, log = hall
    ref = killed_after_commit(args, log)
    # Ten minutes pass before the kiosk comes back: the citizen has gone.
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        db.execute("UPDATE receipts SET created = created - 600")
    restart(args, log)
    number = platform.store.case_by_number_or_ref(ref, args["tid"])["case_no"]  # delivered by now
    assert receipts_of(printer, ref, number) == []  # not printed into an empty hall...

    r = cli(args, "print", "pending", var=tmp_path)  # ...but kept, and staff see it
    assert r.returncode == 0 and ref in r.stdout and "kept" in r.stdout and "10 min" in r.stdout, r.stdout
    assert number in r.stdout
    assert "李" not in r.stdout and "**" not in r.stdout  # references, not people

    # By what the citizen quotes: the number as grouped on screen (GA2026 1130 ED85 ECDB).
    r = cli(args, "print", "reprint", slips.group_number(number), "--send", var=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    printer.wait_for_slips(1, timeout=5)
    [first] = receipts_of(printer, ref, number)
    # The first copy that ever came out, with the case number.
    assert "补打" not in first and slips.group_number(number) in first
    assert ref not in cli(args, "print", "pending", var=tmp_path).stdout

    r = cli(args, "print", "reprint", ref, "--send", var=tmp_path)  # a second copy is marked
    assert r.returncode == 0, r.stdout + r.stderr
    printer.wait_for_slips(2, timeout=5)
    copies = receipts_of(printer, ref, number)
    assert len(copies) == 2 and "补打" in copies[1]

    trail = audit.read(tmp_path)
    assert [(e["action"], e["ref"], e["first_copy"]) for e in trail] == [
        ("print.reprint", ref, True), ("print.reprint", ref, False)]
    assert stat.S_IMODE(os.stat(audit.path(tmp_path)).st_mode) == 0o600

    r = cli(args, "print", "reprint", "NO-SUCH-REF", var=tmp_path)
    assert r.returncode == 2 and "no receipt" in r.stderr and "Traceback" not in r.stderr
