"""Local catalogue search against a naive LIKE scan of the same database, guide sync, outbox rate.

Search: p50/p95 of ``Catalogue.search`` (count + first page of 30, ranked) over a mix of what
citizens type (Chinese words from names, departments and materials, full pinyin, initials, item
code prefixes), at 1k, 10k, 100k (and with --big 300k) synthetic guides (bench/synth_guides.py),
against a naive table (``NaiveTable``: the same count + page by LIKE '%q%' over the same text) in
the same run; the keystroke mix (every prefix of real names' pinyin, initials, codes and Chinese
names, one search per key) and the file size per 100k guides.
Targets: p95 ≤ 20 ms at 300k and ≥ 50× faster than the scan.
Sync: 10k changed guides on the reference platform fetched over HTTP (target ≤ 5 s).
Outbox: durable enqueues per second (SQLite WAL, synchronous=FULL; target ≥ 50/s).

Run: .venv/bin/python bench/catalogue_bench.py [--big] [--sizes 1000,10000] [--json OUT]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import CATALOGUE_OTHER, SEARCH, Figures  # noqa: E402
from synth_guides import ACTIONS, DEPT_BASE, MATERIALS, OBJECTS, guides  # noqa: E402

from central.search import load_aliases  # noqa: E402
from contract.textkeys import pinyin_syllables  # noqa: E402
from kiosk.catalogue import Catalogue  # noqa: E402


def queries(n: int = 120, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rnd.choice(("zh", "zh", "pinyin", "initials", "material", "dept", "code"))
        word = rnd.choice(OBJECTS)
        if kind == "zh":
            out.append(word if rnd.random() < 0.5 else word + rnd.choice(ACTIONS))
        elif kind == "pinyin":
            out.append("".join(pinyin_syllables(word)))
        elif kind == "initials":
            out.append("".join(s[0] for s in pinyin_syllables(word + rnd.choice(ACTIONS))))
        elif kind == "material":
            out.append(rnd.choice(MATERIALS)[:4])
        elif kind == "dept":
            out.append(rnd.choice(DEPT_BASE)[:4])
        else:
            out.append(f"1151{rnd.randrange(10**6):06d}")
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def bench_search(size: int, folder: Path, out: Figures) -> None:
    cat = Catalogue(folder / f"cat-{size}.db")
    with cat.transaction() as conn:  # queries are read with the platform's everyday words, as in a hall
        cat.set_aliases(conn, load_aliases())
    t = time.perf_counter()
    batch = []
    for g in guides(size):
        batch.append(g)
        if len(batch) == 5000:
            cat.upsert(batch)
            batch = []
    cat.upsert(batch)
    build = time.perf_counter() - t
    naive = NaiveTable(folder / f"naive-{size}.db", guides(size))
    qs = queries()
    fast, slow = [], []
    for q in qs:
        cat.search(q, 30)  # warm the page cache the same for both
        t = time.perf_counter()
        cat.search(q, 30)
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        naive.search(q, 30)
        slow.append(time.perf_counter() - t)
    f50, f95, s50, s95 = pct(fast, 50), pct(fast, 95), pct(slow, 50), pct(slow, 95)
    ratio = statistics.mean(s / f for s, f in zip(slow, fast, strict=True))
    cat.close()
    megabytes = sum(p.stat().st_size for p in folder.glob(f"cat-{size}.db*")) / 1e6
    print(f"{size:>7} guides (built in {build:5.1f} s, file {megabytes:6.1f} MB = {megabytes * 100_000 / size:5.0f} MB "
          f"per 100k): search p50 {f50:6.2f} ms p95 {f95:6.2f} ms max {max(fast) * 1000:6.1f} ms | LIKE p50 "
          f"{s50:7.2f} ms p95 {s95:7.2f} ms | p50 {s50 / f50:5.1f}x p95 {s95 / f95:5.1f}x, mean per-query "
          f"{ratio:5.1f}x faster")
    big = size >= 300_000  # where the scan's ratio is a target; the times are one at every size
    for p, f, sl in ((50, f50, s50), (95, f95, s95)):
        if p == 95:
            target = "≤ 20 ms" + (", ≥ 50× the scan" if big else "")
            met = f <= 20 and (not big or sl / f >= 50)
        out.add(SEARCH, f"{size // 1000}k guides: search p{p} ({len(qs)} queries)", f, "ms",
                baseline="LIKE '%q%' scan of the same guides", baseline_value=sl, faster=True,
                target=target if p == 95 else "", met=met if p == 95 else None)
    per_100k = megabytes * 100_000 / size
    out.add(SEARCH, f"{size // 1000}k guides: file per 100k guides", per_100k, "MB",
            target="≤ 100 MB" if size >= 100_000 else "", met=per_100k <= 100 if size >= 100_000 else None)
    cat = Catalogue(folder / f"cat-{size}.db")
    for kind, typed in keystrokes(size).items():
        times = []
        for q in typed:
            t = time.perf_counter()
            cat.search(q, 30)
            times.append(time.perf_counter() - t)
        print(f"{'':>9}keystrokes, {kind:<9} p50 {pct(times, 50):6.2f} ms p95 {pct(times, 95):6.2f} ms "
              f"max {max(times) * 1000:6.1f} ms ({len(typed)} searches)")
        out.add(SEARCH, f"{size // 1000}k guides: keystrokes, {kind}, p95 ({len(typed)} searches)",
                pct(times, 95), "ms", target="≤ 20 ms", met=pct(times, 95) <= 20)
    cat.close()


class NaiveTable:
    """What search costs without an index: a table of guides (their JSON, as a catalogue stores
    them) with one text column holding everything a query may match (name, its pinyin from each
    syllable and initials, department, materials, code), scanned with LIKE '%q%'; the count plus a
    page ordered by name length, as the catalogue gives."""

    def __init__(self, path: Path, guides_):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS naive (id INTEGER PRIMARY KEY, sname TEXT, hay TEXT, body TEXT)")
        rows = []
        for g in guides_:
            syllables = pinyin_syllables(g.name)
            py = "".join(syllables)
            starts = [py[sum(map(len, syllables[:i])):] for i in range(len(syllables))]
            hay = " ".join([g.name, *starts, "".join(s[0] for s in syllables), g.department,
                            *(m.name for m in g.materials), g.item_code]).lower()
            rows.append((g.name, hay, g.model_dump_json()))
        self.db.executemany("INSERT INTO naive (sname, hay, body) VALUES (?, ?, ?)", rows)
        self.db.commit()

    def search(self, q: str, limit: int) -> int:
        pattern = f"%{''.join(q.lower().split())}%"
        total = self.db.execute("SELECT COUNT(*) FROM naive WHERE hay LIKE ?", (pattern,)).fetchone()[0]
        self.db.execute("SELECT body FROM naive WHERE hay LIKE ? ORDER BY length(sname), id LIMIT ?",
                        (pattern, limit)).fetchall()
        return total


def keystrokes(size: int, words: int = 25, seed: int = 11) -> dict[str, list[str]]:
    """What the kiosk searches while a citizen types, one search per key: every prefix of the
    pinyin, the initials and the item code of real names of the catalogue (the keyboard has
    letters and digits), and of the Chinese names (a handwriting or pinyin IME)."""
    rnd = random.Random(seed)
    sample = [g for i, g in enumerate(guides(size)) if i % max(1, size // (words * 4)) == 0][:words * 4]
    chosen = rnd.sample(sample, min(words, len(sample)))

    def prefixes(text: str, cap: int) -> list[str]:
        return [text[:i] for i in range(1, min(len(text), cap) + 1)]

    out: dict[str, list[str]] = {"pinyin": [], "initials": [], "code": [], "chinese": []}
    for g in chosen:
        syllables = pinyin_syllables(g.name)
        out["pinyin"] += prefixes("".join(syllables), 14)
        out["initials"] += prefixes("".join(s[0] for s in syllables), 8)
        out["code"] += prefixes(g.item_code, 10)
        out["chinese"] += prefixes(g.name, 8)
    return out


def bench_sync(folder: Path, out: Figures, n: int = 10_000) -> None:
    """The platform runs in its own process (`kiosk central serve`), as it does for a hall: in a
    thread of this process it would compete with the kiosk for the interpreter lock."""
    import socket
    import subprocess

    import requests

    from central.db import GuideStore
    from kiosk.central_client import CentralClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = folder / "central.db"
    server = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "central", "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--db", str(db)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the reference platform did not start")
            time.sleep(0.2)
        client = CentralClient(url)
        cat = Catalogue(folder / "sync.db")
        cat.sync(client)
        store = GuideStore(db)
        rows = [{"item_code": g.item_code, "name": g.name, "department": g.department,
                 "detail": g.model_dump(include=set(type(g).model_fields) - {"item_code", "name", "department",
                                                                      "updated_at"}, mode="json")}
                for g in guides(n, seed=3)]
        store.upsert(rows)
        r = cat.sync(client)
        print(f"sync: {r.changed} changed guides in {r.seconds:.2f} s ({r.pages} pages), target ≤ 5 s")
        out.add(CATALOGUE_OTHER, f"sync of {r.changed} changed guides over HTTP ({r.pages} pages)", r.seconds, "s",
                target="≤ 5 s", met=r.seconds <= 5)
    finally:
        server.terminate()
        server.wait(10)


def bench_outbox(folder: Path, out: Figures, n: int = 300) -> None:
    from contract.models import CaseSubmission
    from kiosk.outbox import Outbox

    box = Outbox(folder / "outbox.db", "BENCH-0001")
    sub = CaseSubmission(item_code="X", form={"a": "b" * 200})
    t = time.perf_counter()
    for _ in range(n):
        box.enqueue_case(sub, "110101199003070012", "张三")
    dt_ = time.perf_counter() - t
    print(f"outbox: {n / dt_:.0f} durable submissions/s (synchronous=FULL), target ≥ 50/s")
    out.add(CATALOGUE_OTHER, "outbox: durable submissions (synchronous=FULL)", n / dt_, "/s", target="≥ 50/s",
            met=n / dt_ >= 50)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--big", action="store_true", help="also 300k guides (several minutes)")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON (bench/run.py)")
    args = ap.parse_args()
    out = Figures("catalogue_bench")
    sizes = [int(s) for s in args.sizes.split(",")] + ([300_000] if args.big else [])
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent.parent / "var") as tmp:
        folder = Path(tmp)
        bench_outbox(folder, out)
        bench_sync(folder, out)
        for size in sizes:
            bench_search(size, folder, out)
    if not args.big:
        out.note(SEARCH, "the issue's targets are set at 300k guides (p95 ≤ 20 ms and ≥ 50× the scan): that "
                         "size runs with --big (`make bench BIG=1`, a few minutes more); here ≤ 20 ms is "
                         "checked at every size, the scan's ratio only at 300k")
    out.write(args.json)


if __name__ == "__main__":
    main()
