"""`make bench` (bench/run.py): the report says what was measured beside its baseline, on what machine,
when and with what command; a script that fails is reported, not hidden."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402
from results import REQUIRED, SECTIONS, Figures  # noqa: E402


def fixture_results() -> list[dict]:
    """A figure in every section, as the scripts write them, and one script that failed."""
    out = Figures("fixture")
    out.add(SECTIONS[0], "`kiosk run`: process start → first frame drawn", 0.34, "s", baseline="bare Kivy",
            baseline_value=0.26, target="≤ 1.5× bare Kivy", met=0.34 / 0.26 <= 1.5)
    out.add(SECTIONS[1], "guide: welcome → guides, p95 (n=30)", 130, "ms", baseline="bare Kivy tap",
            baseline_value=4, target="≤ 100 ms", met=False)
    for section in SECTIONS[2:]:
        out.add(section, f"a figure of {section}", 2.0, "ms", baseline="a scan", baseline_value=120.0, faster=True)
    out.add(SECTIONS[5], "1k guides: search p95", 2.6, "ms", baseline="a scan", baseline_value=1.3, faster=True)
    out.note(SECTIONS[5], "300k behind --big")
    ok = {"name": "fixture", "script": "fixture.py", "args": ["--x"], "seconds": 12.0, "rc": 0,
          "figures": out.figures, "notes": out.notes}
    failed = {"name": "broken", "script": "broken_bench.py", "args": [], "seconds": 1.0, "rc": 1, "figures": [],
              "notes": [], "error": "Traceback ...\nRuntimeError: no display"}
    return [ok, failed]


INFO = {"command": "make bench", "date": "2026-11-30 12:00 UTC", "seconds": 600.0, "load_start": "3.0 / 2.0 / 1.0",
        "load_end": "4.0 / 3.0 / 2.0", "load_note": "Four other jobs ran meanwhile",
        "machine": {"CPU": "AMD EPYC (x86_64)", "cores": "2", "RAM": "23.5 GiB", "OS": "Debian 12",
                    "Python": "3.11.7", "libraries": "Kivy 2.3.1", "code": "abc1234"}}


def sections(report: str) -> list[str]:
    return re.findall(r"(?m)^## (.+)$", report)


def test_report_has_every_section_with_ratios_targets_and_the_machine():
    report = run.render(fixture_results(), INFO)
    assert sections(report) == ["Machine", "Summary", *SECTIONS, "Runs"]
    assert "`make bench`" in report and "2026-11-30 12:00 UTC" in report
    assert "3.0 / 2.0 / 1.0" in report and "Four other jobs ran meanwhile." in report
    for key in ("CPU", "cores", "RAM", "OS", "Python", "libraries"):
        assert re.search(rf"(?m)^\| {key} \| \S", report), key
    # ratios computed from the same run's baseline, in the direction each figure reads
    assert "| 0.34 s | bare Kivy | 0.26 s | 1.31× | ≤ 1.5× bare Kivy | yes |" in report
    assert "| 130 ms | bare Kivy tap | 4 ms | 32.5× | ≤ 100 ms | **no** |" in report
    assert "| 2 ms | a scan | 120 ms | 60× faster | — | — |" in report
    assert "| 2.60 ms | a scan | 1.30 ms | 2× slower | — | — |" in report
    assert "1 of 2 targets met. Missed:\n\n- Touch → next screen drawn: guide: welcome → guides, p95 (n=30): " \
           "130 ms (target ≤ 100 ms)\n" in report
    assert "- 300k behind --big" in report
    # the failed script is named, with the end of its output
    assert "**Failed:** `broken_bench.py` (exit 1)" in report
    assert "RuntimeError: no display" in report


def test_a_required_section_without_figures_says_so():
    results = fixture_results()
    results[0]["figures"] = [f for f in results[0]["figures"] if f["section"] != REQUIRED[3]]
    report = run.render(results, INFO)
    assert REQUIRED[3] in sections(report)
    after = report.split(f"## {REQUIRED[3]}\n", 1)[1]
    assert after.lstrip().startswith("Not measured in this run")


def test_the_runner_runs_a_script_in_its_own_process_and_writes_the_report(tmp_path):
    """The cheapest script for real (print_bench: bytes and render times of every slip)."""
    out = tmp_path / "REPORT.md"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--only", "print", "--quick", "--out",
                           str(out), "--command", "make bench"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "== print: done" in done.stdout  # progress as it goes
    report = out.read_text("utf-8")
    assert sections(report) == ["Machine", "Summary", *REQUIRED, "Runs"]
    receipts = report.split("## Receipts and slips\n", 1)[1].split("\n## ", 1)[0]
    row = next(x for x in receipts.splitlines() if x.startswith("| receipt, 80 mm, Chinese mode: bytes"))
    measured, baseline, ratio = re.search(r"\| ([\d,]+) B \| the same as raster \| ([\d,]+) B \| ([\d.]+)× \|",
                                          row).groups()
    assert abs(int(measured.replace(",", "")) / int(baseline.replace(",", "")) - float(ratio)) < 0.01 * float(ratio)
    assert "Not measured in this run" in report.split("## Start-up to the first frame\n", 1)[1]
    assert re.search(r"(?m)^\| cores \| \d+ \|$", report)
    assert re.search(r"(?m)^\| libraries \| .*Kivy \d", report)


def test_memory_growth_compares_medians_so_one_swinging_sample_does_not_decide_it():
    from results import memory_growth, window_median

    # Flat at 500 MB but for a sample in four that is 9 MB up (what a session's journeys left).
    flat = {n: 500.0 + (9.0 if n % 4 == 0 else 0.0) for n in range(1, 230)}
    a, b = memory_growth(flat)
    assert b - a == 0.0
    assert flat[200] - flat[10] == 9.0  # the single samples would have said +9
    # Real growth of 0.05 MB a session shows: 190 sessions between the windows' middles.
    rising = {n: 500.0 + 0.05 * n for n in range(1, 230)}
    a, b = memory_growth(rising)
    assert abs((b - a) - 9.5) < 1e-6
    assert memory_growth({n: 500.0 for n in range(1, 150)}) is None  # no session 200 yet
    assert window_median({10: 1.0, 11: 3.0}, 10) == 2.0


def test_the_soak_says_what_its_memory_growth_is_made_of():
    import soak

    assert soak.parts_line({}) == []  # fewer than 200 sessions: nothing to say
    line = soak.parts_line({"python_arenas_held": [124.0, 126.0], "heap_in_use": [265.56, 265.19]})[0]
    assert "Python's arenas held (1 MiB each) +2 (124 → 126)" in line
    assert "malloc's bytes in use -0.4 MB (265.56 → 265.19)" in line
