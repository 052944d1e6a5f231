"""The soak (bench/soak.py), tiny: three citizens through the real app with faults drawn from a
fixed seed, the platform compared and the terminal's files audited; and the audit itself, shown to
find what it looks for."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import soak as bench_soak  # noqa: E402

pytestmark = pytest.mark.timeout(180)  # after waiting its turn for pcscd (conftest)


def test_a_tiny_soak_completes_with_nothing_lost_and_nothing_leaked(tmp_path):
    report = tmp_path / "soak.json"
    r = subprocess.run([sys.executable, str(REPO / "bench" / "soak.py"), "--sessions", "3", "--seed", "4",
                        "--out", str(tmp_path / "soak"), "--json", str(report), "--no-lock"],
                       capture_output=True, text=True, timeout=150, cwd=tmp_path)
    assert report.exists(), r.stderr[-3000:]
    s = json.loads(report.read_text("utf-8"))
    assert {"sessions", "seed", "completed", "crashes", "cases_lost", "cases_duplicated", "receipts_lost",
            "receipts_twice_unmarked", "memory_mb", "memory_growth_mb", "journeys", "faults", "privacy"} <= set(s)
    assert (s["sessions"], s["seed"], s["completed"]) == (3, 4, 3)
    assert [s[k] for k in ("crashes", "cases_lost", "cases_duplicated", "receipts_lost",
                           "receipts_twice_unmarked")] == [0] * 5, (s["exceptions"], s["stuck"], s["details"])
    assert s["privacy"]["files"] > 0 and s["privacy"]["findings"] == [] and s["privacy"]["bad_modes"] == []
    assert sum(s["journeys"].values()) >= 3
    # Session 1 applies: its receipt came out once, or was kept for staff if the person left first.
    assert s["cases_accepted"] >= 1
    assert s["receipts_printed"] + s["receipts_kept_for_staff"] == s["cases_accepted"]
    assert "| sessions completed | 3 of 3 |" in r.stdout
    assert r.returncode == 0, r.stdout[-2000:]


def test_the_audit_finds_a_person_outside_the_outboxs_undelivered_rows(tmp_path):
    from drivers.samv.emulator import SAMPLE_CARDS

    card = SAMPLE_CARDS["li_xiaomei"]
    wanted = bench_soak.needles(["CODE-abc123"])
    (tmp_path / "kiosk.log").write_text(f"read {card.id_number}\n", "utf-8")
    (tmp_path / f"shot-{card.name}.png").write_bytes(b"")
    from PIL import Image, PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_itxt("Comment", card.name, zip=True)  # compressed: not in the file's bytes as such
    Image.new("RGB", (4, 4)).save(tmp_path / "screen.png", pnginfo=meta)
    (tmp_path / "cache.txt").write_text("CODE-abc123", "utf-8")
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        db.execute("CREATE TABLE items (state TEXT, person TEXT)")
        db.execute("INSERT INTO items VALUES ('pending', ?)", (card.name,))  # allowed: undelivered
        db.execute("INSERT INTO items VALUES ('delivered', ?)", (card.id_number,))
    (tmp_path / "outbox.db").chmod(0o644)
    found = bench_soak.audit([tmp_path], wanted)
    text = "\n".join(found["findings"])
    assert "kiosk.log: holds li_xiaomei: ID number" in text
    assert "file name holds li_xiaomei: full name" in text
    assert "cache.txt: holds citizen code #1" in text
    assert "screen.png: holds li_xiaomei: full name" in text
    assert "outbox.db: a database row holds li_xiaomei: ID number" in text
    assert "outbox.db: a database row holds li_xiaomei: full name" not in text  # its undelivered row
    assert any("outbox.db: mode 0o644" in m for m in found["bad_modes"])
