"""`make bench`: every benchmark of bench/, each in a process of its own, collected in bench/REPORT.md.

Each script writes its figures with ``--json`` (bench/results.py); this renders them, a table per
section with the baseline measured in the same run, the ratio, the target and whether it is met,
and says on what machine, when, with what command and under what load the run was made.

Run: .venv/bin/python bench/run.py [--big] [--quick] [--only samv,print,...] [--out bench/REPORT.md]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from results import REQUIRED, SECTIONS  # noqa: E402

# (name, script, arguments, arguments with --quick): in the order they run, the cheap ones first.
SCRIPTS = [
    ("samv", "samv_bench.py", [], []),
    ("print", "print_bench.py", [], []),
    ("code", "code_bench.py", [], []),
    ("quality", "search_quality.py", [], []),
    ("catalogue", "catalogue_bench.py", ["--sizes", "1000,10000,100000"], ["--sizes", "1000"]),
    ("ui", "ui_bench.py", ["--runs", "5", "--taps", "10", "--sessions", "219"],
     ["--runs", "1", "--taps", "2", "--sessions", "12"]),
]
LIBRARIES = ["Kivy", "pyserial", "python-escpos", "zxing-cpp", "pyzbar", "pydantic", "fastapi", "uvicorn",
             "SQLAlchemy", "requests", "pypinyin", "rapidfuzz", "Pillow"]


# -- the machine ---------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip('"')
        except OSError:
            pass
        return "?"

    ram = first("/proc/meminfo", "MemTotal")
    ram = f"{int(ram.split()[0]) / 1024 / 1024:.1f} GiB" if ram != "?" else ram
    versions = []
    for lib in LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{lib} {metadata.version(lib)}")
    versions.append(f"SQLite {sqlite3.sqlite_version}")
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "?", ""
    return {
        "CPU": f"{first('/proc/cpuinfo', 'model name')} ({platform.machine()})",
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{first('/etc/os-release', 'PRETTY_NAME=')}, Linux {platform.release()}",
        "Python": platform.python_version(),
        "libraries": ", ".join(versions),
        "code": (commit or "?") + (" (with uncommitted changes)" if dirty else ""),
    }


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


# -- running -------------------------------------------------------------------------------------
def run_script(name: str, script: str, args: list[str], folder: Path) -> dict:
    """The script in a process of its own, its output shown as it comes (progress); its figures."""
    out = folder / f"{name}.json"
    cmd = [sys.executable, "-u", str(BENCH / script), *args, "--json", str(out)]
    print(f"== {name}: {' '.join(shlex.quote(c) for c in cmd[2:])}", flush=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    for line in proc.stdout:
        print(f"  [{name}] {line.rstrip()}", flush=True)
        tail = (tail + [line.rstrip()])[-15:]
    rc = proc.wait()
    seconds = time.monotonic() - t0
    print(f"== {name}: {'done' if rc == 0 else f'FAILED (exit {rc})'} in {seconds:.0f} s", flush=True)
    result = {"name": name, "script": script, "args": args, "seconds": seconds, "rc": rc, "figures": [], "notes": []}
    if rc == 0 and out.exists():
        got = json.loads(out.read_text("utf-8"))
        result.update(figures=got["figures"], notes=got["notes"])
    else:
        result["error"] = "\n".join(tail)
    return result


# -- the report ----------------------------------------------------------------------------------
def number(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100 or x == int(x):
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def quantity(x: float | None, unit: str) -> str:
    return number(x) if x is None or not unit else f"{number(x)} {unit}"


def ratio(fig: dict) -> str:
    r = fig.get("ratio")
    if r is None:
        return "—"
    if fig.get("faster"):
        return f"{number(r)}× faster" if r >= 1 else f"{number(1 / r)}× slower"
    return f"{number(r)}×"


def met(fig: dict) -> str:
    return {True: "yes", False: "**no**"}.get(fig.get("met"), "—")


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ") or "—"


def render(results: list[dict], info: dict) -> str:
    """REPORT.md from the scripts' results and ``info`` (machine, date, command, seconds, load)."""
    figures = [f for r in results for f in r["figures"]]
    targets = [f for f in figures if f.get("met") is not None]
    missed = [f for f in targets if not f["met"]]
    lines = [
        "# Benchmarks report",
        "",
        f"Produced by `{info['command']}` on {info['date']} in {info['seconds'] / 60:.1f} min; regenerate it "
        "with the same command (bench/README.md says what each script measures). Every figure stands beside "
        "a baseline measured in the same run on the same machine: compare ratios between machines, not times.",
        "",
        f"Load average (1 / 5 / 15 min) at the start: {info['load_start']}; at the end: {info['load_end']}"
        + (f". {info['load_note'].rstrip('.')}." if info.get("load_note") else "."),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {cell(v)} |" for k, v in info["machine"].items()),
        "",
        "## Summary",
        "",
        f"{len(targets) - len(missed)} of {len(targets)} targets met." + (" Missed:" if missed else ""),
    ]
    if missed:
        lines += [""] + [f"- {f['section']}: {f['name']}: {quantity(f['value'], f['unit'])} (target {f['target']})"
                         for f in missed]
    failed = [r for r in results if r["rc"] != 0]
    if failed:
        lines += ["", "**Failed:** " + ", ".join(f"`{r['script']}` (exit {r['rc']})" for r in failed)
                  + ": their figures are missing; the end of their output is under Runs."]
    present = {f["section"] for f in figures}
    for section in [s for s in SECTIONS if s in present or s in REQUIRED] + sorted(present - set(SECTIONS)):
        lines += ["", f"## {section}", ""]
        rows = [f for f in figures if f["section"] == section]
        if not rows:
            lines.append("Not measured in this run (its script failed or was left out with --only).")
            continue
        lines += ["| figure | measured | baseline (same run) | baseline measured | ratio | target | met |",
                  "|---|---|---|---|---|---|---|"]
        for f in rows:
            lines.append(f"| {cell(f['name'])} | {quantity(f['value'], f['unit'])} | {cell(f['baseline'])} | "
                         f"{quantity(f['baseline_value'], f['unit']) if f['baseline'] else '—'} | {ratio(f)} | "
                         f"{cell(f['target'])} | {met(f)} |")
        notes = [n["text"] for r in results for n in r["notes"] if n["section"] == section]
        if notes:
            lines += [""] + [f"- {n}" for n in notes]
    lines += ["", "## Runs", "", "| script | arguments | seconds | result |", "|---|---|---|---|"]
    for r in results:
        outcome = "ok" if r["rc"] == 0 else f"failed (exit {r['rc']})"
        lines.append(f"| `{r['script']}` | `{' '.join(r['args']) or '—'}` | {r['seconds']:.0f} | {outcome} |")
    for r in failed:
        lines += ["", f"`{r['script']}`, the end of its output:", "", "```", r.get("error", ""), "```"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", action="store_true", help="the catalogue also at 300k guides (several minutes more)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the machinery, not the figures")
    ap.add_argument("--only", help="comma-separated: " + ",".join(n for n, *_ in SCRIPTS))
    ap.add_argument("--out", type=Path, default=BENCH / "REPORT.md")
    ap.add_argument("--command", help="the command to name in the report (default: this one)")
    ap.add_argument("--load-note", default="", help="a sentence on what else ran on the machine")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {n for n, *_ in SCRIPTS}
    if unknown:
        ap.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    (ROOT / "var").mkdir(exist_ok=True)  # the scripts keep their scratch files there
    info = {"command": args.command or "python bench/run.py " + " ".join(sys.argv[1:]),
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": machine(), "load_start": load_average(), "load_note": args.load_note}
    t0 = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-", dir=ROOT / "var") as tmp:
        for name, script, full, quick in SCRIPTS:
            if only and name not in only:
                continue
            extra = quick if args.quick else full
            if name == "catalogue" and args.big:
                extra = [*extra, "--big"]
            results.append(run_script(name, script, extra, Path(tmp)))
    info["seconds"] = time.monotonic() - t0
    info["load_end"] = load_average()
    args.out.write_text(render(results, info), "utf-8")
    print(f"wrote {args.out} ({info['seconds'] / 60:.1f} min)")
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
