"""`kiosk drivers` and `kiosk devices ...`: what staff and integrators use to see and check devices."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

from devices import registry
from devices.codes import MAX_CODE_BYTES, printable
from devices.contracts import HealthLevel
from devices.events import CodeScanned, IdentityRead, RequestDone, StatusChanged, to_json
from devices.manager import DeviceManager
from devices.status import DeviceState
from kiosk import staff
from kiosk.config import KioskConfig

DATA_EVENTS = ("IdentityRead", "CardInserted", "CodeScanned")


def drivers(as_json: bool) -> int:
    rows = []
    for name, target in sorted(registry.available().items()):
        try:
            cls = registry.load(name)
        except registry.DriverNotFound as exc:
            rows.append({"driver": name, "target": target, "error": str(exc)})
            continue
        schema = cls.Options.model_json_schema()
        required = set(schema.get("required", []))
        options = {k: {"type": v.get("type", v.get("anyOf", "")), "default": v.get("default"),
                       "required": k in required, "bounds": bounds(v)}
                   for k, v in schema.get("properties", {}).items()}
        rows.append({"driver": name, "target": target, "kind": cls.kind,
                     "capabilities": sorted(cls.capabilities), "options": options})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for row in rows:
        if "error" in row:
            print(f"{row['driver']:16} BROKEN: {row['error']}")
            continue
        print(f"{row['driver']:16} {row['kind']:13} {row['target']}")
        for key, opt in row["options"].items():
            need = "required" if opt["required"] else f"default {opt['default']!r}"
            print(f"    {key:20} {need:22} {opt['bounds']}".rstrip())
    return 0


def bounds(prop: dict) -> str:
    """What an option's JSON schema allows, for staff: "one of 58, 80", "≥10 ≤60000", "≤255 chars"."""
    if "anyOf" in prop:
        return " or ".join(filter(None, (bounds(p) for p in prop["anyOf"])))
    if "enum" in prop or "const" in prop:
        return "one of " + ", ".join(map(repr, prop.get("enum", [prop.get("const")])))
    limits = " ".join(f"{sign}{prop[k]}" for k, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"),
                                                         ("maximum", "≤"), ("exclusiveMaximum", "<")) if k in prop)
    if limits:
        return limits
    if prop.get("type") == "array":
        inner = bounds(prop.get("items", {}))
        return f"≤{prop['maxItems']} items" + (f", each {inner}" if inner else "") if "maxItems" in prop else inner
    if "maxLength" in prop:
        return f"≤{prop['maxLength']} chars"
    return ""


def _manager(cfg: KioskConfig, names: list[str] | None = None) -> DeviceManager:
    tables = {n: t for n, t in cfg.devices.items() if not names or n in names}
    unknown = set(names or []) - set(cfg.devices)
    if unknown:
        raise SystemExit(f"no device named {', '.join(sorted(unknown))} in the configuration "
                         f"(configured: {', '.join(cfg.devices) or 'none'})")
    manager = DeviceManager(tables)
    manager.start()
    return manager


def _settle(manager: DeviceManager, wait: float) -> dict[str, StatusChanged]:
    """Collect status until every device said something, or ``wait`` seconds passed."""
    last: dict[str, StatusChanged] = {}
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for event in manager.drain():
            if isinstance(event, StatusChanged):
                last[event.device] = event
        if len(last) == len(manager.workers) and all(
                e.state is not DeviceState.UNKNOWN for e in last.values()):
            break
        time.sleep(0.05)
    return last


def devices_list(cfg: KioskConfig, wait: float, as_json: bool) -> int:
    manager = _manager(cfg)
    try:
        last = _settle(manager, wait)
        states = {n: {"state": e.state.value, **e.detail} for n, e in last.items()}
        rows = [{"device": d.name, "driver": d.driver, "kind": d.kind, "state": d.state, "detail": d.detail,
                 "capabilities": list(d.capabilities)} for d in staff.devices(manager, states)]
    finally:
        manager.stop()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            detail = " ".join(f"{k}={v}" for k, v in r["detail"].items())
            print(f"{r['device']:12} {r['driver']:12} {r['kind']:13} {r['state']:15} {detail}".rstrip())
            print(f"{'':12} capabilities: {', '.join(r['capabilities']) or '-'}")
    return 0


def devices_check(cfg: KioskConfig, name: str | None, level: str, wait: float) -> int:
    names = [name] if name else list(cfg.devices)
    manager = _manager(cfg, names)
    failed = 0
    try:
        _settle(manager, wait)
        for dev in names:
            lvl = HealthLevel(level)
            if lvl is HealthLevel.INTERACTIVE:
                ok, text = _interactive(manager, dev)
            else:
                args = {"level": lvl.value}
                if lvl is HealthLevel.EXTERNAL and manager.workers[dev].driver.kind == "printer":
                    args["document"] = _test_slip(cfg)
                done = manager.call(dev, "check", timeout=20, **args)
                if done.ok:
                    ok, text = done.result.ok, done.result.text
                else:
                    ok, text = False, f"{dev}: {done.error}"
            print(f"{'OK  ' if ok else 'FAIL'} {text}")
            failed += not ok
    finally:
        manager.stop()
    return 1 if failed else 0


def _interactive(manager: DeviceManager, dev: str, timeout: float = 30.0) -> tuple[bool, str]:
    kind = manager.workers[dev].driver.kind
    if kind == "printer":
        return False, f"{dev}: printers have no interactive check; use --level external"
    print(f"{dev}: present a card or scan a code within {timeout:.0f} s …", file=sys.stderr)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in manager.drain():
            if event.device == dev and type(event).__name__ in DATA_EVENTS:
                what = event.identity.log_form() if isinstance(event, IdentityRead) else type(event).__name__
                return True, f"{dev}: read {what}"
        time.sleep(0.05)
    return False, f"{dev}: nothing was presented within {timeout:.0f} s"


def _test_slip(cfg: KioskConfig):
    from kiosk.i18n import Translator
    from kiosk.slips import test_slip

    return test_slip(Translator(cfg.terminal.language), cfg.terminal.hall, cfg.terminal.id, dt.datetime.now())


def devices_watch(cfg: KioskConfig, duration: float | None) -> int:
    manager = _manager(cfg)
    try:
        for event in _events(manager, duration):
            if isinstance(event, RequestDone):
                continue
            out = to_json(event)
            if isinstance(event, CodeScanned):  # a citizen code is a person's identity
                out |= _code_fields(cfg, event, reveal=False)
            print(json.dumps(out, ensure_ascii=False), flush=True)
    finally:
        manager.stop()
    return 0


def devices_scan(cfg: KioskConfig, device: str | None, duration: float | None, reveal: bool,
                 as_json: bool) -> int:
    """Codes from the configured scanners as they arrive, with what the kiosk would do with each."""
    scanners = [n for n, t in cfg.devices.items() if _kind(t) == "code_scanner"]
    if device is not None and device not in scanners:
        raise SystemExit(f"{device!r} is not a configured code scanner (scanners: {', '.join(scanners) or 'none'})")
    if not scanners:
        raise SystemExit("no code scanner is configured ([devices.*] with a code_scanner driver)")
    manager = _manager(cfg, [device] if device else scanners)
    print(f"scan codes on {', '.join(manager.workers)} (Ctrl-C ends) …", file=sys.stderr)
    try:
        for event in _events(manager, duration):
            if isinstance(event, StatusChanged):
                print(f"{event.device}: {event.state.value}", file=sys.stderr)
            elif isinstance(event, CodeScanned):
                fields = _code_fields(cfg, event, reveal)
                if as_json:
                    print(json.dumps({"device": event.device, "symbology": event.symbology, **fields},
                                     ensure_ascii=False), flush=True)
                else:
                    print(f"{dt.datetime.now():%H:%M:%S} {event.device} {event.symbology or '-'} "
                          f"{fields['text'] or 'hex:' + fields['data']}  → {fields['meaning']}", flush=True)
    finally:
        manager.stop()
    return 0


def _kind(table: dict) -> str:
    try:
        return registry.load(str(table.get("driver", ""))).kind
    except registry.DriverNotFound:
        return ""


def _events(manager: DeviceManager, duration: float | None):
    """The manager's events until ``duration`` seconds have passed (None: until Ctrl-C)."""
    deadline = time.monotonic() + duration if duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            yield from manager.drain()
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass


def _code_fields(cfg: KioskConfig, event: CodeScanned, reveal: bool) -> dict[str, str]:
    from kiosk import scanned

    prefix = cfg.codes.citizen_prefix
    track = cfg.central.track_url or f"{cfg.central.url.rstrip('/')}/track/{{number}}"
    found = scanned.meaning(event.text, track, prefix, lambda code: None)
    secret = found.kind == "citizen" and not reveal
    return {"text": scanned.masked(event.text, prefix) if secret else printable(event.text, MAX_CODE_BYTES),
            "data": "" if secret else event.data.hex(), "bytes": str(len(event.data)),
            "meaning": found.describe() if secret else f"{found.kind} {printable(found.value, MAX_CODE_BYTES)}".rstrip()}


def scan_image(files: list[str], as_json: bool, formats: str | None, engines: str) -> int:
    """Each file's codes: the text, or hex when the payload is binary; ``none`` when it has none.
    A file that cannot be read gets one error line; the exit code is then 1."""
    from devices import imagecodes

    kw = {"engines": tuple(e.strip() for e in engines.split(",") if e.strip())}
    if formats:
        kw["formats"] = tuple(f.strip() for f in formats.split(",") if f.strip())
    try:  # an unknown engine or format is the same mistake for every file: say it once
        imagecodes.decode(b"", **kw)
    except imagecodes.ImageError:
        pass
    except ValueError as exc:
        raise SystemExit(f"scan-image: {exc}") from exc
    failed = 0
    rows = []
    for name in files:
        try:
            found = imagecodes.decode(name, **kw)
        except imagecodes.ImageError as exc:
            failed += 1
            rows.append({"file": name, "error": str(exc)})
            if not as_json:
                print(f"{printable(name, 200)}: error: {exc}", file=sys.stderr)
            continue
        rows.append({"file": name, "codes": [
            {"symbology": r.symbology, "engine": r.engine, "text": r.text, "hex": r.data.hex()} for r in found]})
        if not as_json:
            for r in found or [None]:
                what = "none" if r is None else \
                    f"{r.symbology} " + (printable(r.text, 10_000) if r.text else f"hex:{r.data.hex()}")
                print(f"{printable(name, 200)}: {what}")
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    return 1 if failed else 0


def detect(ports: list[str], as_json: bool) -> int:
    """What is plugged in and which driver claims it, and a ``[devices.*]`` proposal to paste.
    It only reads and asks harmless status queries; it never writes the configuration."""
    from devices import detect as det

    cands, notes = det.candidates(ports)
    found = det.claims(cands)
    proposal = det.proposal(found)
    if as_json:
        print(json.dumps({"candidates": [
            {"bus": f.candidate.bus, "path": f.candidate.path, "name": f.candidate.name,
             "vendor_id": f.candidate.vendor_id, "product_id": f.candidate.product_id,
             "claims": [{"driver": d, "priority": c.priority, "options": c.options, "why": c.why}
                        for d, c in f.claims], "errors": f.errors} for f in found],
            "notes": notes, "proposal": proposal}, ensure_ascii=False, indent=1))
        return 0
    for f in found:
        c = f.candidate
        ids = f" {c.vendor_id:04x}:{c.product_id or 0:04x}" if c.vendor_id is not None else ""
        best = f"{f.best[0]} ({f.best[1].why})" if f.best else "no driver claims it"
        print(f"{c.bus:7} {printable(c.path, 80):32}{ids} {printable(c.name, 40)}".rstrip())
        print(f"{'':8}→ {best}")
        for err in f.errors:
            print(f"{'':8}! {err}")
    for note in notes:
        print(f"note: {note}")
    if not found:
        print("nothing found (a pty or another port can be given with --port PATH)")
    if proposal:
        print("\n# Proposed for kiosk.toml (check it, then paste it; nothing was written):\n")
        print(proposal, end="")
    return 0
