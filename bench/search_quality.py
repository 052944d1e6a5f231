"""Search quality on judged citizen queries: the kiosk's offline search against a plain FTS5 baseline.

The query sets (bench/search-queries/*.json) were written and judged against the 广安区 catalogue
before any search ran on them (each file's ``about`` says how; every query has the judge's note).
``dev`` is what the search was tuned on; ``heldout`` was kept aside to report.

What runs, as in a hall: the reference platform (seeded with the catalogue) on 127.0.0.1, a kiosk
catalogue filled by ``Catalogue.sync`` over HTTP (what `kiosk guides sync` does), then every query
against that offline copy. In the same run:

- baseline: FTS5 over the same guides with the trigram tokenizer on name, department and
  materials, the query as typed, ordered by bm25 - what SQLite gives without tuning;
- platform: GET /guides on the platform, to show the online answers are the offline ones.

Reported per search: MRR@10 (1/rank of the first relevant item in the top 10), top-1, recall@5
(relevant items in the top 5, out of min(5, relevant)), and queries with no result at all.

Run: .venv/bin/python bench/search_quality.py [--set dev|heldout|all] [--show] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from central.server import BackgroundServer  # noqa: E402
from kiosk.catalogue import Catalogue  # noqa: E402
from kiosk.central_client import CentralClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import QUALITY, Figures  # noqa: E402

QUERIES = Path(__file__).resolve().parent / "search-queries"


def load(name: str) -> list[dict]:
    names = ["dev", "heldout"] if name == "all" else [name]
    return [dict(q, set=n) for n in names for q in json.loads((QUERIES / f"{n}.json").read_text("utf-8"))["queries"]]


def metrics(queries: list[dict], answers: list[list[str]]) -> dict[str, float]:
    rr, top1, recall, zero = [], [], [], 0
    for q, got in zip(queries, answers, strict=True):
        zero += not got
        rel = set(q["relevant"])
        if not rel:
            continue
        rank = next((i for i, c in enumerate(got[:10], 1) if c in rel), None)
        rr.append(1 / rank if rank else 0.0)
        top1.append(1.0 if rank == 1 else 0.0)
        recall.append(len(rel & set(got[:5])) / min(5, len(rel)))
    n = len(rr)
    return {"MRR@10": sum(rr) / n, "top-1": sum(top1) / n, "recall@5": sum(recall) / n, "no result": zero,
            "queries": len(queries)}


class Baseline:
    """FTS5 trigram over the guides of ``cat``, no tuning."""

    def __init__(self, cat: Catalogue):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE t USING fts5(code UNINDEXED, name, department, materials, "
                        "tokenize='trigram')")
        for g in cat.guides():
            self.db.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (g.item_code, g.name, g.department,
                                                                  " ".join(m.name for m in g.materials)))

    def search(self, q: str) -> list[str]:
        words = [w for w in q.split() if w]
        if not words:
            return []
        expr = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
        try:
            return [r[0] for r in self.db.execute("SELECT code FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10",
                                                  (expr,))]
        except sqlite3.OperationalError:
            return []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="all", choices=["dev", "heldout", "all"])
    ap.add_argument("--show", action="store_true", help="list the queries whose first relevant item is not first")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON (bench/run.py)")
    args = ap.parse_args()
    queries = load(args.set)
    with tempfile.TemporaryDirectory() as tmp, BackgroundServer(Path(tmp) / "central.db") as server:
        client = CentralClient(server.url)
        cat = Catalogue(Path(tmp) / "catalogue.db")
        cat.sync(client)
        base = Baseline(cat)
        kiosk = [[g.item_code for g in cat.search(q["q"], limit=10).items] for q in queries]
        online = [[g.item_code for g in client.search_guides(q["q"], limit=10).items] for q in queries]
        plain = [base.search(q["q"]) for q in queries]
        names = {c: cat.get(c).name for got in kiosk for c in got[:1]}
    print(f"{len(queries)} queries ({args.set}); catalogue: 广安区, {cat.count()} guides")
    print(f"{'search':<28}{'MRR@10':>8}{'top-1':>8}{'recall@5':>10}{'no result':>11}")
    for label, answers in (("kiosk (offline copy)", kiosk), ("plain FTS5 trigram", plain), ("platform (online)", online)):
        m = metrics(queries, answers)
        print(f"{label:<28}{m['MRR@10']:>8.2f}{m['top-1']:>8.2f}{m['recall@5']:>10.2f}{m['no result']:>7} of {m['queries']}")
    same = sum(a == b for a, b in zip(kiosk, online, strict=True))
    print(f"offline and online answers identical (top 10) for {same} of {len(queries)} queries")
    out = Figures("search_quality")
    for name in sorted({q["set"] for q in queries}, reverse=True):  # heldout (what is reported) first
        pick = [i for i, q in enumerate(queries) if q["set"] == name]
        qs = [queries[i] for i in pick]
        mine = metrics(qs, [kiosk[i] for i in pick])
        base = metrics(qs, [plain[i] for i in pick])
        for key in ("MRR@10", "top-1", "recall@5"):
            out.add(QUALITY, f"{name} ({len(qs)} queries): {key}, kiosk offline", mine[key], "",
                    baseline="plain FTS5 trigram", baseline_value=base[key], target="> plain FTS5",
                    met=mine[key] > base[key])
        out.add(QUALITY, f"{name} ({len(qs)} queries): no result, kiosk offline", mine["no result"], "queries",
                baseline="plain FTS5 trigram", baseline_value=base["no result"])
    out.add(QUALITY, "top 10 identical offline and online (the platform's own search)", same, "queries",
            baseline="queries asked", baseline_value=len(queries), target="all", met=same == len(queries))
    out.write(args.json)
    kinds = sorted({q["kind"] for q in queries})
    print("kiosk MRR@10 by kind: " + ", ".join(
        f"{k} {metrics([q for q in queries if q['kind'] == k], [a for q, a in zip(queries, kiosk, strict=True) if q['kind'] == k])['MRR@10']:.2f}"
        for k in kinds if k != "none"))
    if args.show:
        for q, got in zip(queries, kiosk, strict=True):
            rel = set(q["relevant"])
            rank = next((i for i, c in enumerate(got[:10], 1) if c in rel), None)
            if rank != 1 and (rel or got):
                first = names.get(got[0], "") if got else "(nothing)"
                print(f"  [{q['set']}/{q['kind']}] {q['q']!r}: first relevant at {rank}; got {first}")


if __name__ == "__main__":
    main()
