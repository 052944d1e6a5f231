"""Fleet load on the reference platform: locust simulating a province's terminals (issue #17).

For each worker count: a fresh database (a throwaway PostgreSQL cluster, tests/central_pg.py, or
a SQLite file with ``--db sqlite``), seeded with the catalogue; ``--terminals`` terminals
provisioned as `kiosk central add-terminal` does (PlatformStore.add_terminal, each with its own
secret); the platform under uvicorn with that many worker processes; then locust, headless, one
user per terminal (bench/fleet_locustfile.py: heartbeats, guide sync, cases, case queries, every
request signed). The users start at ``--spawn-rate`` per second, each registering itself; the
figures count from ``--warmup`` seconds after the last one started (a fleet booting at once is
not the steady state), for ``--duration`` seconds.

It reports, per worker count and per request type, throughput, p50/p95/p99 and failures
(locust's percentiles: exact to 1 ms below 100 ms, to 10 ms above), the CPU seconds the load
generator, the platform and PostgreSQL used in that window and how busy the whole machine was
(other work on it included), as a JSON file and a Markdown table; ``--write FILE`` puts the
table into FILE between its ``<!-- fleet:begin -->`` and ``<!-- fleet:end -->`` lines.

Run (`make fleet` does): .venv/bin/python bench/fleet.py --terminals 2000 --duration 60 --workers 1 2 4
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform as pyplatform
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 100
BEGIN, END = "<!-- fleet:begin -->", "<!-- fleet:end -->"
TICK = os.sysconf("SC_CLK_TCK")


def platform_app():
    """The app each uvicorn worker builds (``uvicorn --factory fleet:platform_app``)."""
    from central.app import create_app

    return create_app(os.environ["FLEET_DB"])


# -- the database ----------------------------------------------------------------------------------
def new_database(kind: str, name: str, out: Path) -> str:
    if kind == "sqlite":
        path = out / f"{name}.db"
        for side in ("", "-wal", "-shm"):
            Path(f"{path}{side}").unlink(missing_ok=True)
        return str(path)
    sys.path.insert(0, str(ROOT / "tests"))
    import central_pg
    import pytest

    try:
        return central_pg.new_database(name)
    except pytest.skip.Exception as exc:
        raise SystemExit(f"fleet: {exc.msg} (--db sqlite runs without it)") from None


def prepare(db: str, terminals: int, out: Path) -> tuple[Path, float]:
    """Seed the catalogue, provision the terminals; the plan file for locust and the seconds
    provisioning took."""
    from central.db import GuideStore, shared_engine
    from central.platform import PlatformStore
    from central.seed import seed_if_empty

    store = GuideStore(db)
    seed_if_empty(store)
    platform = PlatformStore(db)
    t0 = time.perf_counter()
    creds = [(f"FLEET-{i:05d}", platform.add_terminal(f"FLEET-{i:05d}", name=f"自助终端 {i}"))
             for i in range(1, terminals + 1)]
    provisioned = time.perf_counter() - t0
    _, page = store.browse(limit=60)
    items = [g["item_code"] for g in page]
    cases = [past_case(platform, tid, i, items) for i, (tid, _) in enumerate(creds)]
    since, after = "1970-01-01T00:00:00+00:00", ""
    while True:  # where a terminal whose copy is current stands in the change feed
        ch = store.changes(since, after, 1000)
        since, after = ch["next_since"], ch["next_after"]
        if not ch["more"]:
            break
    shared_engine(db).dispose()
    plan = out / "plan.json"  # terminal secrets: private
    plan.unlink(missing_ok=True)
    fd = os.open(plan, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"terminals": creds, "since": since, "after": after, "items": items, "cases": cases}, f)
    return plan, provisioned


def past_case(platform, tid: str, i: int, items: list[str]) -> tuple[str, tuple[str, str]]:
    """A case a citizen submitted at this terminal before the run: the first one it is asked about."""
    from contract.models import CaseSubmission

    person = (f"511602199001{i:05d}"[:17] + "X", f"测试{i}")
    sub = CaseSubmission(item_code=items[i % len(items)], materials=["身份证"], terminal_ref=f"PAST{i:05d}")
    body = sub.model_dump_json().encode()
    case, _ = platform.submit_case(tid, person, sub, f"past-{i:08d}", body)
    return case["case_no"], person


# -- processes and their CPU -------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """CPU time of a process tree: the living processes' own, plus what the reaped ones used
    (the parent's cutime/cstime), so a backend that came and went is counted too."""
    total = 0.0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / TICK  # utime stime cutime cstime
        stack += _children(p)
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def postmaster_pid(db_url: str) -> int | None:
    """The PostgreSQL server of this URL (tests/central_pg.py's cluster: /tmp/kiosk-pg-*)."""
    m = re.search(r":(\d+)/", db_url)
    if not m:
        return None
    for pidfile in Path("/tmp").glob("kiosk-pg-*/data/postmaster.pid"):
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            continue
        if len(lines) > 3 and lines[3].strip() == m.group(1):
            return int(lines[0])
    return None


def start_platform(db: str, workers: int, out: Path, http: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "FLEET_DB": db}
    log = open(out / f"platform-w{workers}.log", "w")  # noqa: SIM115 (the process keeps it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "fleet:platform_app", "--app-dir", str(ROOT / "bench"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         # as central/server.py runs it
         "--http", http, "--lifespan", "off", "--no-access-log", "--no-server-header", "--log-level", "warning",
         "--timeout-graceful-shutdown", "2", "--backlog", "4096"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fleet: the platform stopped at start-up (see {log.name})")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        stop(proc)
        raise SystemExit(f"fleet: the platform did not answer within 60 s (see {log.name})")
    # Every worker builds its app at start; the first answer comes from the quickest one.
    while len(_children(proc.pid)) < workers and workers > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0 + 0.5 * workers)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- one run ----------------------------------------------------------------------------------------
def run_locust(url: str, plan: Path, terminals: int, spawn_rate: float, warmup: float, duration: float,
               prefix: Path, speed: float) -> subprocess.Popen:
    ramp = terminals / spawn_rate
    data = json.loads(plan.read_text(encoding="utf-8"))
    data["speed"] = speed
    plan.write_text(json.dumps(data), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "fleet_locustfile.py"), "--headless",
         "-u", str(terminals), "-r", str(spawn_rate), "-t", f"{ramp + warmup + duration:.0f}s", "-H", url,
         "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"],
        env={**os.environ, "FLEET_PLAN": str(plan), "FLEET_WARMUP": str(warmup)}, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)


def parse_stats(prefix: Path) -> tuple[dict[str, dict], dict, list[dict]]:
    """(per request type, aggregated, failures) from locust's CSV files."""
    def num(v: str) -> float:
        try:
            return float(v)
        except ValueError:
            return 0.0

    types, total = {}, {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rec = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                   "rps": round(num(row["Requests/s"]), 1), "p50": num(row["50%"]), "p95": num(row["95%"]),
                   "p99": num(row["99%"]), "max": round(num(row["Max Response Time"]), 1),
                   "bytes": round(num(row["Average Content Size"]))}
            if row["Name"] == "Aggregated":
                total = rec
            elif rec["requests"]:  # a type seen only in the warm-up (register) is left with a zero row
                types[row["Name"]] = rec
    failures = []
    fpath = Path(f"{prefix}_failures.csv")
    if fpath.exists():
        with open(fpath, encoding="utf-8") as f:
            failures = [{"name": r["Name"], "error": r["Error"], "count": int(r["Occurrences"])}
                        for r in csv.DictReader(f)]
    return types, total, failures


def _reaped_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_one(args, workers: int, out: Path) -> dict:
    db = new_database(args.db, f"fleet_w{workers}", out)
    plan, provisioned = prepare(db, args.terminals, out)
    print(f"[{workers} worker(s)] {args.terminals} terminals provisioned in {provisioned:.1f} s", flush=True)
    proc, url = start_platform(db, workers, out, args.http)
    pg = postmaster_pid(db) if args.db == "postgres" else None
    try:
        prefix = out / f"w{workers}"
        reaped = _reaped_cpu()
        loc = run_locust(url, plan, args.terminals, args.spawn_rate, args.warmup, args.duration, prefix, args.speed)
        # The figures count from the end of the warm-up (the locustfile resets them): so does the CPU.
        time.sleep(args.terminals / args.spawn_rate + args.warmup)
        locust0, platform0, pg0 = cpu_seconds(loc.pid), cpu_seconds(proc.pid), cpu_seconds(pg) if pg else 0.0
        busy0, t0 = machine_busy(), time.monotonic()
        output, _ = loc.communicate()
        platform1, pg1 = cpu_seconds(proc.pid), cpu_seconds(pg) if pg else 0.0
        busy1, wall = machine_busy(), time.monotonic() - t0
        locust1 = _reaped_cpu() - reaped  # all of locust's, now that it has been reaped
        (out / f"locust-w{workers}.log").write_text(output, encoding="utf-8")
    finally:
        stop(proc)
    types, total, failures = parse_stats(prefix)
    if not types:
        raise SystemExit(f"fleet: locust reported nothing (see {out}/locust-w{workers}.log)")
    return {"workers": workers, "provision_s": round(provisioned, 2), "types": types, "total": total,
            "failures": failures, "window_s": round(wall, 1),
            "cpu": {"locust_s": round(locust1 - locust0, 1), "platform_s": round(platform1 - platform0, 1),
                    "postgres_s": round(pg1 - pg0, 1),
                    "machine_busy": round((busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 2)}}


# -- the report -------------------------------------------------------------------------------------
def machine() -> dict:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), pyplatform.machine())
    mem = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal"))) // 1024
    # from the installed metadata: importing locust here would monkey-patch this process (gevent)
    versions = {name: metadata.version(name) for name in ("locust", "uvicorn", "fastapi", "SQLAlchemy", "psycopg")}
    return {"cpu": model, "cores": os.cpu_count(), "memory_mb": mem, "python": pyplatform.python_version(),
            "load_before": os.getloadavg()[0], "versions": versions}


def markdown(report: dict) -> str:
    p = report["params"]
    m = report["machine"]
    lines = [f"Run {report['date']}: `{report['command']}`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mb'] // 1024} GB; Python {m['python']}; "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
             + f"; database {p['db']}; load average before the run {m['load_before']:.1f}.",
             f"{p['terminals']} terminals started at {p['spawn_rate']:.0f}/s, each registering; measured for "
             f"{p['duration']:.0f} s from {p['warmup']:.0f} s after the last had started; schedules ×{p['speed']:g}.",
             "",
             "| workers | req/s | requests | errors | p50 | p95 | p99 | max | CPU s: locust / platform / PostgreSQL "
             "| machine busy |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        t, c = r["total"], r["cpu"]
        lines.append(f"| {r['workers']} | {t['rps']:.1f} | {t['requests']} | {t['failures']} | {t['p50']:.0f} ms "
                     f"| {t['p95']:.0f} ms | {t['p99']:.0f} ms | {t['max']:.0f} ms | {c['locust_s']} / "
                     f"{c['platform_s']} / {c['postgres_s']} (of {r['window_s']:.0f} s) "
                     f"| {c['machine_busy']:.0%} |")
    for r in report["runs"]:
        lines += ["", f"{r['workers']} worker(s), per request type:", "",
                  "| request | req/s | requests | errors | p50 | p95 | p99 | max | bytes |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, t in sorted(r["types"].items(), key=lambda kv: -kv[1]["requests"]):
            flag = " **over**" if t["p95"] > TARGET_P95_MS else ""
            lines.append(f"| {name} | {t['rps']:.1f} | {t['requests']} | {t['failures']} | {t['p50']:.0f} ms "
                         f"| {t['p95']:.0f} ms{flag} | {t['p99']:.0f} ms | {t['max']:.0f} ms | {t['bytes']} |")
        for f in r["failures"]:
            lines.append(f"- error ×{f['count']} {f['name']}: {f['error'][:200]}")
    return "\n".join(lines)


def write_into(path: Path, text: str) -> None:
    doc = path.read_text(encoding="utf-8") if path.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"fleet: {path} has no {BEGIN} ... {END} lines to put the results between")
    head, rest = doc.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--terminals", type=int, default=2000)
    ap.add_argument("--duration", type=float, default=60, help="seconds measured once every terminal runs")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="uvicorn worker counts to run")
    ap.add_argument("--spawn-rate", type=float, default=100, help="terminals started per second")
    ap.add_argument("--warmup", type=float, default=30, help="seconds after the last start before measuring")
    ap.add_argument("--speed", type=float, default=1.0, help="divide every terminal's intervals by this")
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--http", default="central.server:H11NoDelay",
                    help="uvicorn's HTTP protocol (h11: as before the fix of bench/FLEET.md)")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "fleet", help="plans, CSV, logs, report.json")
    ap.add_argument("--write", type=Path, help="put the Markdown results into this file (between its markers)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
              "command": "bench/fleet.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "params": {k: v for k, v in vars(args).items() if k in ("terminals", "duration", "spawn_rate",
                                                                     "warmup", "speed", "db")},
              "runs": []}
    for n in args.workers:
        report["runs"].append(run_one(args, n, args.out))
    (args.out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    text = markdown(report)
    print(text)
    if args.write:
        write_into(args.write, text)
    errors = sum(r["total"]["failures"] for r in report["runs"])
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
