"""The `kiosk` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.collector import limit_malloc_arenas
from kiosk.embedded import EMBEDDED_PARENT, NOT_INSTALLED, missing_module
from kiosk.startup import DEFAULT_CONFIG, DEMO_CONFIG, first_frame

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

log = logging.getLogger("kiosk")


def _setup_logging(verbose: bool, fmt: str = "text", file: str | None = None) -> None:
    from kiosk import logs

    logs.setup(verbose, fmt, file)


def _load(path: str) -> KioskConfig:
    from kiosk import config as cfgmod

    try:
        return cfgmod.load(path)
    except cfgmod.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_config_check(args) -> int:
    cfg = _load(args.file)
    print(f"{args.file}: OK ({len(cfg.devices)} devices: {', '.join(cfg.devices) or 'none'})")
    return 0


def cmd_drivers(args) -> int:
    from kiosk import devices_cli

    return devices_cli.drivers(args.json)


def cmd_devices(args) -> int:
    from kiosk import devices_cli, read_cli

    def load():
        return _load(args.config)

    if args.devices_command == "read-id":
        return read_cli.read_id(load, args.device, args.driver, args.port, args.baud, args.json,
                                args.reveal, args.wait)
    if args.devices_command == "read-card":
        return read_cli.read_card(load, args.device, args.driver, args.reader, args.json, args.reveal,
                                  args.wait)
    if args.devices_command == "detect":
        return devices_cli.detect(args.port, args.json)
    if args.devices_command == "scan-image":
        return devices_cli.scan_image(args.files, args.json, args.formats, args.engines)
    cfg = _load(args.config)
    if args.devices_command == "list":
        return devices_cli.devices_list(cfg, args.wait, args.json)
    if args.devices_command == "check":
        return devices_cli.devices_check(cfg, args.name, args.level, args.wait)
    if args.devices_command == "scan":
        return devices_cli.devices_scan(cfg, args.device, args.duration, args.reveal, args.json)
    return devices_cli.devices_watch(cfg, args.duration)


def cmd_doctor(args) -> int:
    from kiosk.doctor_cli import doctor_cmd

    return doctor_cmd(args.config, args.json, args.wait, args.max_skew, args.min_free_mb)


def cmd_print(args) -> int:
    from kiosk import print_cli

    cfg = _load(args.config)
    if args.print_command == "sample":
        return print_cli.sample(cfg, args.kind, args.width, args.printer, args.to)
    if args.print_command == "pending":
        return print_cli.pending(cfg, args.json)
    if args.print_command == "reprint":
        return print_cli.reprint_receipt(cfg, args.ref, args.send)
    return print_cli.reprint_last(cfg, args.send)


def cmd_guides(args) -> int:
    from kiosk import central_cli

    cfg = _load(args.config)
    if args.guides_command == "sync":
        return central_cli.guides_sync(cfg)
    if args.guides_command == "import":
        return central_cli.guides_import(cfg, args.file)
    return central_cli.guides_search(cfg, args.query, args.limit, args.json)


def cmd_outbox(args) -> int:
    from kiosk import central_cli

    cfg = _load(args.config)
    if args.outbox_command == "status":
        return central_cli.outbox_status(cfg, args.json)
    if args.outbox_command == "retry":
        return central_cli.outbox_retry(cfg, args.ref, args.all_failed)
    if args.outbox_command == "discard":
        return central_cli.outbox_discard(cfg, args.ref, args.yes, args.reason)
    return central_cli.outbox_flush(cfg)


def cmd_staff_hash_pin(_args) -> int:
    """The line to paste into [staff]: the PIN asked twice without echo (or one line on stdin)."""
    import getpass

    from kiosk.staff_access import hash_pin

    if sys.stdin.isatty():
        pin = getpass.getpass("maintenance PIN (4-12 digits): ")
        if getpass.getpass("again: ") != pin:
            print("kiosk staff hash-pin: the two PINs differ; nothing printed", file=sys.stderr)
            return 1
    else:
        pin = sys.stdin.readline().strip()
    try:
        line = f'pin_hash = "{hash_pin(pin)}"'
    except ValueError as exc:
        print(f"kiosk staff hash-pin: {exc}", file=sys.stderr)
        return 1
    print("# paste under [staff] in the kiosk's configuration:")
    print(line)
    return 0


def _central_installed(command: str) -> bool:
    if module := missing_module():
        print(f"kiosk central {command}: {NOT_INSTALLED.format(module=module)}", file=sys.stderr)
        return False
    return True


def cmd_central_serve(args) -> int:
    if not _central_installed("serve"):
        return 1
    from central.server import serve

    if os.environ.get(EMBEDDED_PARENT):
        from kiosk.embedded import die_with_parent

        die_with_parent(int(os.environ[EMBEDDED_PARENT]))
    serve(host=args.host, port=args.port, db_path=args.db if "://" in args.db else Path(args.db))
    return 0


def cmd_central_add_terminal(args) -> int:
    if not _central_installed("add-terminal"):
        return 1
    from central.platform import PlatformStore

    try:
        secret = PlatformStore(args.db if "://" in args.db else Path(args.db)).add_terminal(
            args.terminal_id, args.secret, name=args.name)
    except ValueError as exc:
        print(f"kiosk central add-terminal: {exc}", file=sys.stderr)
        return 1
    print(f"terminal {args.terminal_id} added; its secret (put it in the kiosk's config, shown once):")
    print(secret)
    return 0


def cmd_run(args) -> int:
    from screens.run import run_ui

    def assemble(stack):  # after the first frame (kiosk.startup)
        from kiosk import config as cfgmod
        from kiosk.runtime import running_kiosk

        return stack.enter_context(running_kiosk(cfgmod.load(args.config), config_path=args.config)), None

    code, failure = run_ui(args.config, first_frame(args.config), assemble)
    if failure:
        print(failure, file=sys.stderr)
    return code


def cmd_demo(args) -> int:
    first = first_frame(args.config)
    headless = args.headless or not os.environ.get("DISPLAY")
    out = Path(args.out or (Path(first.var) / "tour"))
    slips_dir = out if headless else Path(first.var) / "slips"
    if headless:
        if os.environ.get("DISPLAY"):
            code = _demo(args.config, first, slips_dir, out, tour=True, audit=args.audit)
        else:
            from kiosk.xvfb import virtual_display

            with virtual_display(first.width + 240, first.height):
                code = _demo(args.config, first, slips_dir, out, tour=True, audit=args.audit)
        if code == 0:
            print(f"Tour finished: the screens and printed slips are PNG files in {out.resolve()}")
            if args.audit:
                print(f"Audit: {(out / 'audit.txt').read_text(encoding='utf-8').splitlines()[0]}; "
                      f"the list is in {(out / 'audit.txt').resolve()}")
        return code
    return _demo(args.config, first, slips_dir, out, tour=False)


def _demo(config_path: str, first, slips_dir: Path, out: Path, tour: bool, audit: bool = False) -> int:
    from screens.run import run_ui

    def assemble(stack):  # after the first frame (kiosk.startup)
        from kiosk import config as cfgmod
        from kiosk.demo import DemoHardware
        from kiosk.runtime import running_kiosk

        cfg = cfgmod.load(config_path)
        hw = stack.enter_context(DemoHardware(cfg, slips_dir))
        return stack.enter_context(running_kiosk(cfg, hw.device_overrides(), config_path=config_path)), hw

    code, failure = run_ui(config_path, first, assemble, demo=True, tour_out=out if tour else None, audit=audit)
    if failure:
        print(failure if failure.startswith("config error") else f"Tour failed: {failure}", file=sys.stderr)
    return code


def _config_option(parser: argparse.ArgumentParser) -> None:
    """--config, defaulting to $KIOSK_CONFIG and then the shipped config/kiosk.toml."""
    parser.add_argument("--config", default=os.environ.get("KIOSK_CONFIG", str(DEFAULT_CONFIG)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description="Government service hall kiosk (政务服务自助终端)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--log-format", choices=["text", "json"],
                   help="text (default) or JSON lines for the journal; default $KIOSK_LOG_FORMAT")
    p.add_argument("--log-file", metavar="FILE",
                   help="also log to FILE (rotated at 10 MB, 5 kept); default $KIOSK_LOG_FILE")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run the kiosk on real hardware")
    _config_option(r)
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="run the kiosk on emulated hardware with the reference central platform")
    d.add_argument("--config", default=str(DEMO_CONFIG))
    d.add_argument("--headless", action="store_true", help="run the scripted tour under Xvfb and save PNGs")
    d.add_argument("--out", help="folder for the tour's screenshots and slips (default: VAR/tour)")
    d.add_argument("--audit", action="store_true", help="with --headless: audit every page the tour shows, in "
                   "every language and elder mode (targets, text size, contrast, overflow, untranslated "
                   "words); the violations go to OUT/audit.txt and audit.json")
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("config", help="configuration files")
    csub = c.add_subparsers(dest="config_command", required=True)
    chk = csub.add_parser("check", help="validate a configuration file")
    chk.add_argument("file")
    chk.set_defaults(func=cmd_config_check)

    dr = sub.add_parser("drivers", help="installed device drivers and their options")
    dr.add_argument("--json", action="store_true")
    dr.set_defaults(func=cmd_drivers)

    dv = sub.add_parser("devices", help="configured devices: status, health checks, events")
    _config_option(dv)
    dvsub = dv.add_subparsers(dest="devices_command", required=True)
    ls = dvsub.add_parser("list", help="each device with its driver, status and capabilities")
    ls.add_argument("--wait", type=float, default=3.0, help="seconds to wait for every device to answer")
    ls.add_argument("--json", action="store_true")
    ck = dvsub.add_parser("check", help="health check; exit 1 if any device fails it")
    ck.add_argument("name", nargs="?", help="one device (default: all)")
    ck.add_argument("--level", choices=["internal", "external", "interactive"], default="internal",
                    help="internal: no physical effect; external: test slip; interactive: present a card")
    ck.add_argument("--wait", type=float, default=3.0)
    wt = dvsub.add_parser("watch", help="print device events as JSON lines until Ctrl-C")
    wt.add_argument("--duration", type=float, help="stop after this many seconds")
    sc = dvsub.add_parser("scan", help="print codes from the configured scanners as they arrive (stop the kiosk first)")
    sc.add_argument("--device", help="one configured scanner (default: all)")
    sc.add_argument("--duration", type=float, help="stop after this many seconds")
    sc.add_argument("--reveal", action="store_true", help="show citizen codes in full (default: masked)")
    sc.add_argument("--json", action="store_true")
    ri = dvsub.add_parser("read-id", help="read the ID card on the reader once (stop the kiosk first)")
    rc = dvsub.add_parser("read-card", help="read the smart card in a PC/SC slot once")
    for rp in (ri, rc):
        src = rp.add_mutually_exclusive_group()
        src.add_argument("--device", help="a configured device (default: the first of its kind)")
        src.add_argument("--driver", help="an installed driver, with its options given below")
        rp.add_argument("--json", action="store_true")
        rp.add_argument("--reveal", action="store_true", help="show full name and numbers (default: masked)")
        rp.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a card (default 5)")
    ri.add_argument("--port", help="with --driver: serial port, glob pattern or 'auto'")
    ri.add_argument("--baud", help="with --driver: 115200 (default), 57600, 38400, 19200, 9600 or auto")
    rc.add_argument("--reader", action="append", default=[],
                    help="with --driver: part of a PC/SC reader name (repeatable; default: all)")
    si = dvsub.add_parser("scan-image", help="read the codes in image files (a camera's view, a photo)")
    si.add_argument("files", nargs="+", metavar="FILE")
    si.add_argument("--json", action="store_true")
    si.add_argument("--formats", default=None,
                    help="comma-separated zxing-cpp format names (default: QRCode,MicroQRCode)")
    si.add_argument("--engines", default="zxing-cpp,pyzbar",
                    help="engines in order; the next is asked only when one finds nothing")
    de = dvsub.add_parser("detect", help="what is plugged in, which driver claims it, and a [devices.*] "
                          "section to paste (stop the kiosk first; writes nothing)")
    de.add_argument("--port", action="append", default=[], metavar="PATH",
                    help="also ask about this serial port (a pty, a port list_ports misses); repeatable")
    de.add_argument("--json", action="store_true")
    dv.set_defaults(func=cmd_devices)

    do = sub.add_parser("doctor", help="display, fonts, devices, config, platform and clock, disk, data "
                        "folder permissions, systemd units; exit 1 if any check fails (stop the kiosk first)")
    _config_option(do)
    do.add_argument("--json", action="store_true")
    do.add_argument("--wait", type=float, default=3.0, help="seconds each device gets to answer (default 3)")
    do.add_argument("--max-skew", type=float, default=30.0, help="seconds the clock may differ from the platform's")
    do.add_argument("--min-free-mb", type=int, default=200, help="free space the data folder needs (default 200)")
    do.set_defaults(func=cmd_doctor)

    pr = sub.add_parser("print", help="sample slips; receipts waiting; reprints")
    _config_option(pr)
    prsub = pr.add_subparsers(dest="print_command", required=True)
    sm = prsub.add_parser("sample", help="print a sample slip, or write its exact printer bytes to a file")
    sm.add_argument("kind", choices=["receipt", "certificate", "ticket", "guide"])
    sm.add_argument("--width", type=int, choices=[58, 80], help="paper width in mm (default: as configured)")
    where = sm.add_mutually_exclusive_group(required=True)
    where.add_argument("--printer", help="configured printer to print on")
    where.add_argument("--to", metavar="FILE.bin", help="write the bytes the printer would get")
    rl = prsub.add_parser("reprint-last", help="print the last slip again, marked 补打 REPRINT")
    pe = prsub.add_parser("pending", help="receipts a citizen did not get, and slips waiting for the printer")
    pe.add_argument("--json", action="store_true")
    rr = prsub.add_parser("reprint", help="print a case's receipt (by terminal reference or case number)")
    rr.add_argument("ref")
    for rp in (rl, rr):
        rp.add_argument("--send", action="store_true",
                        help="print it from this command (only when the kiosk is not running)")
    pr.set_defaults(func=cmd_print)

    gu = sub.add_parser("guides", help="the local guide catalogue")
    _config_option(gu)
    gusub = gu.add_subparsers(dest="guides_command", required=True)
    gusub.add_parser("sync", help="fetch what changed on the central platform")
    gi = gusub.add_parser("import", help="import guides from a file, one contract Guide JSON per line")
    gi.add_argument("file", metavar="FILE.jsonl")
    gs = gusub.add_parser("search", help="search the local copy (name, department, material, pinyin, code)")
    gs.add_argument("query")
    gs.add_argument("--limit", type=int, default=20)
    gs.add_argument("--json", action="store_true")
    gu.set_defaults(func=cmd_guides)

    ob = sub.add_parser("outbox", help="submissions and ratings waiting to reach the platform")
    _config_option(ob)
    obsub = ob.add_subparsers(dest="outbox_command", required=True)
    st = obsub.add_parser("status", help="counts, and every pending or failed item; exit 1 if any failed")
    st.add_argument("--json", action="store_true")
    obsub.add_parser("flush", help="send every pending item now; exit 1 if any is left")
    rt = obsub.add_parser("retry", help="send failed items again (audit-logged)")
    which = rt.add_mutually_exclusive_group(required=True)
    which.add_argument("ref", nargs="?", help="terminal reference or case number of the item")
    which.add_argument("--all-failed", action="store_true", help="every failed item")
    dc = obsub.add_parser("discard", help="give up a pending or failed item for good (asks; audit-logged)")
    dc.add_argument("ref", help="terminal reference or case number of the item")
    dc.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    dc.add_argument("--reason", default="", help="why, for the audit log")
    ob.set_defaults(func=cmd_outbox)

    sf = sub.add_parser("staff", help="maintenance mode on the touchscreen")
    sfsub = sf.add_subparsers(dest="staff_command", required=True)
    sfsub.add_parser("hash-pin", help="print the [staff] pin_hash line for a PIN (asked without echo)")
    sf.set_defaults(func=cmd_staff_hash_pin)

    ce = sub.add_parser("central", help="the reference central platform")
    cesub = ce.add_subparsers(dest="central_command", required=True)
    s = cesub.add_parser("serve", help="serve the reference central platform over HTTP")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8700)
    s.add_argument("--db", default="var/central.db",
                   help="SQLite file, sqlite:///FILE or postgresql://USER:PW@HOST/DB (created and seeded if empty)")
    s.set_defaults(func=cmd_central_serve)
    at = cesub.add_parser("add-terminal", help="provision a terminal id and print its signing secret")
    at.add_argument("terminal_id")
    at.add_argument("--db", default="var/central.db", help="as for serve")
    at.add_argument("--name", default="", help="a name for the fleet page")
    at.add_argument("--secret", help="use this secret instead of a generated one")
    at.set_defaults(func=cmd_central_add_terminal)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limit_malloc_arenas()
    # Whatever this process writes may hold personal data (outbox, print jobs, the embedded
    # platform's database, logs, the audit trail): the kiosk user's alone, whoever forgot a mode.
    os.umask(0o077)
    fmt = args.log_format or os.environ.get("KIOSK_LOG_FORMAT") or "text"
    if fmt not in ("text", "json"):
        print(f"kiosk: KIOSK_LOG_FORMAT: {fmt!r} is not text or json", file=sys.stderr)
        return 2
    try:
        _setup_logging(args.verbose, fmt, args.log_file or os.environ.get("KIOSK_LOG_FILE") or None)
    except OSError as exc:
        print(f"kiosk: cannot write the log file: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args) or 0
    except Exception as exc:
        from kiosk.config import ConfigError

        if not isinstance(exc, ConfigError):
            raise
        print(f"config error: {exc}", file=sys.stderr)  # found after loading: an unreadable secret_file
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
