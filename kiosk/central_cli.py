"""`kiosk guides ...` and `kiosk outbox ...`: the local catalogue and the outbox, for staff.

Both work on the same files as the running kiosk (SQLite WAL: safe while it runs). Commands that
need the platform use the configured URL and credentials; with url = "embedded" they start the
reference platform on the configured var directory, as the kiosk does.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

from contract.models import SEARCH_COUNT_CAP
from kiosk import audit, staff
from kiosk.catalogue import Catalogue, CatalogueError
from kiosk.catalogue import default_path as catalogue_path
from kiosk.central_client import CentralClient, CentralError
from kiosk.config import KioskConfig
from kiosk.outbox import Outbox, send_due
from kiosk.outbox import default_path as outbox_path


@contextmanager
def central_client(cfg: KioskConfig):
    url = cfg.central.url
    server = None
    if url == "embedded":
        from central.server import BackgroundServer  # the composition root may start it

        cfg.var_dir.mkdir(parents=True, exist_ok=True)
        server = BackgroundServer(cfg.var_dir / "central.db").__enter__()
        url = server.url
    terminal_id, secret = cfg.central_credentials()
    client = CentralClient(url, timeout=(3.05, cfg.central.timeout_s), terminal_id=terminal_id, secret=secret)
    try:
        yield client
    finally:
        client.close()
        if server is not None:
            server.__exit__(None, None, None)


def guides_sync(cfg: KioskConfig) -> int:
    cat = Catalogue(catalogue_path(cfg.var_dir), cfg.search.aliases)
    try:
        with central_client(cfg) as client:
            r = cat.sync(client)
    except CentralError as exc:
        print(f"kiosk guides sync: {exc.message}", file=sys.stderr)
        return 1
    print(f"synced: {r.changed} changed, {r.deleted} deleted, {r.pages} page(s) in {r.seconds:.1f} s; "
          f"{cat.count()} guides")
    return 0


def guides_import(cfg: KioskConfig, path: str) -> int:
    cat = Catalogue(catalogue_path(cfg.var_dir), cfg.search.aliases)
    try:
        n = cat.import_jsonl(path)
    except (CatalogueError, OSError) as exc:
        print(f"kiosk guides import: {exc} (nothing imported)", file=sys.stderr)
        return 1
    print(f"imported {n} guides; {cat.count()} in the catalogue")
    return 0


def guides_search(cfg: KioskConfig, query: str, limit: int, as_json: bool) -> int:
    cat = Catalogue(catalogue_path(cfg.var_dir), cfg.search.aliases)
    page = cat.search(query, limit=limit)
    if as_json:
        print(page.model_dump_json())
        return 0
    print(f"{page.total}{'+' if page.total >= SEARCH_COUNT_CAP else ''} found"
          + ("" if cat.ready else " (catalogue incomplete: run `kiosk guides sync`)"))
    for g in page.items:
        if g.matched == "material" and (g is page.items[0] or page.items[page.items.index(g) - 1].matched != "material"):
            print("-- only mentioned among the materials (在材料中提到):")
        print(f"{g.item_code}\t{g.name}\t{g.department}\t{g.matched}")
    if page.suggestions:
        print("try: " + ", ".join(page.suggestions))
    return 0


def _outbox(cfg: KioskConfig) -> Outbox:
    return Outbox(outbox_path(cfg.var_dir), cfg.central.terminal_id or cfg.terminal.id)


def outbox_status(cfg: KioskConfig, as_json: bool) -> int:
    info = staff.outbox(_outbox(cfg))
    counts = info.counts
    if as_json:
        print(json.dumps({"counts": counts, "items": [
            {"ref": i.terminal_ref, "kind": i.kind, "state": i.state, "attempts": i.attempts,
             "last_error": i.last_error, "result_id": i.result_id} for i in info.problems]}, ensure_ascii=False))
    else:
        print(", ".join(f"{k} {counts.get(k, 0)}" for k in ("pending", "delivered", "failed", "discarded")))
        for i in info.problems:  # no personal data: reference, kind, state, error
            print(f"{i.terminal_ref}\t{i.kind}\t{i.state}\tattempts={i.attempts}\t{i.last_error}")
    return 1 if counts.get("failed") else 0


def outbox_flush(cfg: KioskConfig) -> int:
    """Send every pending item now; exit 1 if any is left pending or has failed."""
    box = _outbox(cfg)
    box.retry_now()
    with central_client(cfg) as client:
        while True:
            r = send_due(box, client, limit=100)
            if r["retry"] or not box.due(limit=1):
                break
    counts = box.counts()
    print(f"pending {counts.get('pending', 0)}, delivered {counts.get('delivered', 0)}, "
          f"failed {counts.get('failed', 0)}")
    return 1 if counts.get("pending") or counts.get("failed") else 0


def outbox_retry(cfg: KioskConfig, ref: str | None, all_failed: bool) -> int:
    """Staff: send failed items again (the running kiosk's sender picks them up at once)."""
    box = _outbox(cfg)
    if all_failed:
        targets = box.items("failed")
    else:
        item = box.find(ref or "")
        if item is None:
            print(f"kiosk outbox retry: no item {ref!r} (see `kiosk outbox status`)", file=sys.stderr)
            return 2
        targets = [item]
    status = 0
    for item in targets:
        try:
            staff.retry(box, cfg.var_dir, item)
        except ValueError as exc:
            print(f"kiosk outbox retry: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{item.terminal_ref}\t{item.kind}\tpending again (was: {item.last_error})")
    if not targets:
        print("no failed items")
    return status


def outbox_discard(cfg: KioskConfig, ref: str, yes: bool, why: str) -> int:
    """Staff: give up an item for good, after confirmation; audit-logged."""
    box = _outbox(cfg)
    item = box.find(ref)
    if item is None:
        print(f"kiosk outbox discard: no item {ref!r} (see `kiosk outbox status`)", file=sys.stderr)
        return 2
    if item.state not in ("pending", "failed"):
        print(f"kiosk outbox discard: {item.terminal_ref} is {item.state}; only pending or failed items "
              "can be discarded", file=sys.stderr)
        return 2
    print(f"{item.terminal_ref}\t{item.kind}\t{item.state}\tattempts={item.attempts}\t{item.last_error}")
    print("Discarding it means it never reaches the platform and the citizen's data in it is erased.")
    if not yes:
        if not sys.stdin.isatty():
            print("kiosk outbox discard: not confirmed (no terminal to ask on; pass --yes to confirm)",
                  file=sys.stderr)
            return 1
        answer = input(f"Type the reference {item.terminal_ref} to confirm: ").strip()
        if answer != item.terminal_ref:
            print("not confirmed: nothing discarded")
            return 1
    reason = why or "discarded by staff"
    box.discard(item.seq, reason)
    audit.record(cfg.var_dir, "outbox.discard", ref=item.terminal_ref, kind=item.kind, was=item.state,
                 last_error=item.last_error, reason=reason)
    print(f"{item.terminal_ref}: discarded")
    return 0
