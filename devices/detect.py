"""What is plugged in, and which installed driver claims it (`kiosk devices detect`).

Candidates come from the OS: serial ports (pyserial's list_ports), USB devices (sysfs), PC/SC
readers (pcscd, when it runs), input devices (evdev) and V4L2 nodes. Every installed driver is
asked ``supported(candidate)``; the claim with the highest priority wins, as in Odoo's IoT box.
Nothing here writes a configuration: the caller shows the proposal for staff to paste.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from devices import registry
from devices.contracts import PRIORITY_ANSWERED, Candidate, Claim

log = logging.getLogger("kiosk.devices.detect")

SYSFS_USB = "/sys/bus/usb/devices"
# USB vendor ids of barcode/QR scanner makers (what lsusb shows): Honeywell (Metrologic, Hand Held
# Products), Zebra (Symbol), Datalogic, Newland, Opticon.
SCANNER_VENDORS = {0x0C2E: "Honeywell", 0x0536: "Hand Held Products", 0x05E0: "Zebra (Symbol)",
                   0x05F9: "Datalogic", 0x1EAB: "Newland", 0x065A: "Opticon"}
USB_CLASS_PRINTER = 0x07


@dataclass
class Found:
    candidate: Candidate
    claims: list[tuple[str, Claim]] = field(default_factory=list)  # (driver, claim), best first
    errors: list[str] = field(default_factory=list)  # drivers whose probe failed, for staff

    @property
    def best(self) -> tuple[str, Claim] | None:
        return self.claims[0] if self.claims else None


def _hex(text: str) -> int | None:
    try:
        return int(text.strip(), 16)
    except ValueError:
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def serial_ports(extra: Iterable[str] = ()) -> list[Candidate]:
    """The machine's serial ports, plus ``extra`` paths (a pty is not in list_ports)."""
    out, seen = [], set()
    try:
        from serial.tools import list_ports

        ports = list(list_ports.comports())
    except Exception as exc:  # no /sys/class/tty in a container: nothing to list, not a crash
        log.debug("list_ports failed: %s", exc)
        ports = []
    for p in ports:
        if p.device in seen:
            continue
        seen.add(p.device)
        out.append(Candidate("serial", p.device, " ".join(filter(None, (p.manufacturer, p.product))) or p.description,
                             p.vid, p.pid))
    for path in extra:
        if os.path.realpath(path) not in {os.path.realpath(s) for s in seen}:
            seen.add(path)
            out.append(Candidate("serial", path, "given with --port", given=True))
    return out


def usb_devices(root: str = SYSFS_USB) -> list[Candidate]:
    """USB devices from sysfs, with their interfaces' classes; a printer's ``/dev/usb/lpN`` as path."""
    base = Path(root)
    if not base.is_dir():
        return []
    out = []
    for dev in sorted(base.iterdir()):
        if ":" in dev.name or not (dev / "idVendor").exists():  # interfaces, root hubs' ports
            continue
        classes, node = set(), ""
        for intf in sorted(base.glob(f"{dev.name}:*")):
            if (cls := _hex(_read(intf / "bInterfaceClass"))) is not None:
                classes.add(cls)
            for lp in sorted(intf.glob("usbmisc/lp*")):
                node = node or f"/dev/usb/{lp.name}"
        name = " ".join(filter(None, (_read(dev / "manufacturer"), _read(dev / "product"))))
        out.append(Candidate("usb", node or str(dev), name, _hex(_read(dev / "idVendor")),
                             _hex(_read(dev / "idProduct")), frozenset(classes)))
    return out


def pcsc_readers() -> tuple[list[Candidate], str]:
    """PC/SC readers, and why there are none when pcscd cannot be asked (not a failure)."""
    try:
        from smartcard import scard
    except Exception as exc:
        return [], f"pyscard cannot be imported: {exc}"
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return [], f"pcscd is not running ({scard.SCardGetErrorMessage(hr)})"
    try:
        hr, names = scard.SCardListReaders(ctx, [])
        if hr != scard.SCARD_S_SUCCESS:
            return [], ""  # SCARD_E_NO_READERS_AVAILABLE
        return [Candidate("pcsc", n, n) for n in names], ""
    finally:
        scard.SCardReleaseContext(ctx)


def input_devices() -> tuple[list[Candidate], str]:
    try:
        import evdev
    except Exception as exc:
        return [], f"python-evdev cannot be imported: {exc}"
    if not os.path.isdir("/dev/input"):
        return [], "/dev/input does not exist on this machine"
    out = []
    for path in evdev.list_devices():
        try:
            with evdev.InputDevice(path) as dev:
                out.append(Candidate("input", path, dev.name, dev.info.vendor, dev.info.product))
        except OSError:
            continue  # not readable: the kiosk user needs the input group
    return out, ""


def video_devices() -> list[Candidate]:
    return [Candidate("video", p, _read(Path("/sys/class/video4linux", Path(p).name, "name")))
            for p in sorted(glob.glob("/dev/video*"))]


def candidates(extra_ports: Iterable[str] = (), sysfs_usb: str = SYSFS_USB) -> tuple[list[Candidate], list[str]]:
    """Everything to ask the drivers about, and notes on what could not be looked at."""
    notes = []
    serial = serial_ports(extra_ports)
    usb = usb_devices(sysfs_usb)
    # A USB serial adapter is already a serial candidate with its ids; list the others.
    serial_ids = {(c.vendor_id, c.product_id) for c in serial if c.vendor_id is not None}
    usb = [c for c in usb if (c.vendor_id, c.product_id) not in serial_ids or c.path.startswith("/dev/")]
    readers, why = pcsc_readers()
    if why:
        notes.append(f"PC/SC readers not listed: {why}")
    inputs, why = input_devices()
    if why:
        notes.append(f"input devices not listed: {why}")
    return [*serial, *usb, *readers, *inputs, *video_devices()], notes


def claims(cands: Iterable[Candidate], drivers: Iterable[str] | None = None) -> list[Found]:
    """Each candidate with the drivers that claim it, highest priority first.

    Drivers that can ask their device go first, in name order, and the first one answered stops
    the asking: a device that answered its own protocol gets no other driver's query (a SAM_V
    frame is text to a printer)."""
    classes = {}
    for name in sorted(drivers if drivers is not None else registry.available()):
        try:
            classes[name] = registry.load(name)
        except registry.DriverNotFound as exc:
            log.warning("%s", exc)
    order = sorted(classes.items(), key=lambda nc: (not nc[1].can_be_queried, nc[0]))
    out = []
    for cand in cands:
        found = Found(cand)
        for name, cls in order:
            if found.claims and found.claims[-1][1].priority >= PRIORITY_ANSWERED:
                break
            try:
                claim = cls.supported(cand)
            except Exception as exc:  # one driver's broken probe must not hide the others' claims
                found.errors.append(f"{name}: probe failed: {type(exc).__name__}: {exc}")
                continue
            if claim is not None:
                found.claims.append((name, claim))
        found.claims.sort(key=lambda nc: -nc[1].priority)
        out.append(found)
    return out


# -- the proposal -------------------------------------------------------------------------------

_NAMES = {"id_reader": "id_reader", "card_reader": "card_reader", "code_scanner": "scanner", "printer": "printer"}


def proposal(found: Iterable[Found]) -> str:
    """A ``[devices.*]`` section for every claimed candidate, as TOML to paste into kiosk.toml."""
    lines, used = [], set()
    for f in found:
        if f.best is None:
            continue
        driver, claim = f.best
        kind = registry.load(driver).kind
        base = _NAMES.get(kind, kind)
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        lines += [f"# {f.candidate.path}: {claim.why}", f"[devices.{name}]", f"driver = {toml_value(driver)}"]
        lines += [f"{k} = {toml_value(v)}" for k, v in claim.options.items()]
        lines.append("")
    return "\n".join(lines)


def toml_value(value) -> str:
    """A TOML literal for the option types drivers take (str, int, float, bool, lists of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    text = str(value)
    out = "".join(c if c.isprintable() and c not in '"\\' else
                  {"\\": "\\\\", '"': '\\"'}.get(c, f"\\u{ord(c):04x}") for c in text)
    return f'"{out}"'
