"""The terminal's own SQLite files: private from the first byte, and bounded in memory however long
the terminal runs (a page cache that fills as the months' rows are read never comes back)."""

from __future__ import annotations

import os
import stat

from contract.models import CaseSubmission
from kiosk.collector import sqlite_mb
from kiosk.commands import CommandBook
from kiosk.durable_db import PAGE_CACHE_KIB, open_durable
from kiosk.outbox import Outbox
from kiosk.print_jobs import PrintQueue

ITEM = "11511602MB1552795G4000110000"


def test_each_store_is_private_before_its_first_row(tmp_path):
    stores = [Outbox(tmp_path / "o" / "outbox.db", "T-1"), PrintQueue(tmp_path / "p" / "print.db"),
              CommandBook(tmp_path / "c" / "commands.db")]
    for store in stores:
        store.close()
    for path in tmp_path.rglob("*.db*"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def months_of_cases(box: Outbox, n: int) -> None:
    for i in range(n):
        item = box.enqueue_case(CaseSubmission(item_code=ITEM, remarks="备注" * 200), "110101199003070012", "张三",
                                receipt={"lines": ["受理回执：请凭此回执到窗口领取结果"] * 60})
        box.delivered(item.seq, f"GA{i:010d}")


def read_all(box: Outbox) -> None:
    for item in box.items():
        assert box.find(item.terminal_ref) is not None
        box.receipt(item.terminal_ref)


def test_a_long_outbox_keeps_sqlite_memory_bounded(tmp_path):
    box = Outbox(tmp_path / "outbox.db", "T-1")
    before = sqlite_mb()
    months_of_cases(box, 1500)  # receipts and emptied bodies: a file of several MB
    read_all(box)
    grown = sqlite_mb() - before
    size = sum(p.stat().st_size for p in tmp_path.glob("outbox.db*"))
    assert size > 8 * PAGE_CACHE_KIB * 1024
    assert grown < 2 * PAGE_CACHE_KIB / 1024, f"SQLite grew {grown:.2f} MB writing and reading the outbox"
    # What SQLite's default cache would have kept, to show the bound is the cap and not the file.
    wide = open_durable(tmp_path / "outbox.db")
    wide.execute("PRAGMA cache_size=-2000")
    before = sqlite_mb()
    wide.execute("SELECT count(*) FROM items WHERE body LIKE '%x%' OR last_error LIKE '%x%'").fetchone()
    wide.execute("SELECT count(*) FROM receipts WHERE data LIKE '%x%'").fetchone()
    assert sqlite_mb() - before > 2 * PAGE_CACHE_KIB / 1024
    wide.close()
    box.close()
