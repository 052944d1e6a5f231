"""Device contracts that drivers implement.

Lifecycle (after UnifiedPOS): the manager constructs a driver with its validated options,
calls ``open()``, then drives it from one worker thread: ``poll()`` when idle, ``handle()`` for
requests, and ``close()`` when the port vanished or the app stops. A driver never starts its
own threads for the app and never talks to the UI: it reports through ``emit``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from devices.events import Event
from devices.printdoc import Document
from devices.status import DeviceState, PrinterStatus


class DriverOptions(BaseModel):
    """Base of every driver's option schema: unknown keys are a config error, not ignored, and a
    float option is a finite number (NaN passes every bound check, inf overflows a timeout).

    Drivers whose options are TOML-native types (str, int, bool, Literal, list[str]) also set
    ``strict=True`` in their ``model_config``: lax pydantic turns ``1e23`` into an int and ``true``
    into 1, which pass a lower bound and overflow pyserial or a timeout later. It is not set here
    because strict mode refuses a string for a ``Path`` or an ``Enum`` in a vendor's schema.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Configuration strings are one line without control characters: a NUL makes open() raise
# ValueError, a newline breaks an HTTP header or a slip, long after the check said OK.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
# A device path, glob pattern or host name.
DeviceName = Annotated[str, StringConstraints(max_length=255, pattern=NO_CONTROL)]


def shown(value: Any, limit: int = 60) -> str:
    """A value as staff see it in a one-line message: repr, cut to ``limit`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an int past sys.get_int_max_str_digits() has no repr
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def option_error(exc: ValidationError, prefix: str = "") -> str:
    """The first problem as ``<prefix><key>: <what is wrong> (got <value>)``, on one line."""
    err = exc.errors()[0]
    key = (prefix + ".".join(str(p) or '""' for p in err["loc"])).rstrip(".") or "?"  # no loc: the whole table
    got = "" if err["type"] == "missing" or isinstance(err.get("input"), dict) else f" (got {shown(err['input'])})"
    msg = _PLAIN.get(err["type"], err["msg"])  # pydantic's words where they name Python, not TOML
    if err["type"] == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == NO_CONTROL:
        msg = "must be one line without control characters"
    return f"{key}: {msg}{got}"


_PLAIN = {"extra_forbidden": "unknown key", "model_type": "must be a table", "dict_type": "must be a table"}


Emit = Callable[[Event], None]


class HealthLevel(StrEnum):
    """UnifiedPOS check-health levels."""

    INTERNAL = "internal"  # no physical effect
    EXTERNAL = "external"  # something a person notices: a test slip, a beep
    INTERACTIVE = "interactive"  # asks staff to act: present a card, scan a code


@dataclass(frozen=True)
class HealthReport:
    level: HealthLevel
    ok: bool
    state: DeviceState
    text: str  # for staff: what was checked and what was found


@dataclass(frozen=True)
class Candidate:
    """Something plugged in that a driver may be for (``kiosk devices detect``).

    ``bus`` says what ``path`` is: ``serial`` a tty, ``usb`` a device in sysfs (``path`` its
    ``/dev`` node when it has one, e.g. ``/dev/usb/lp0``), ``pcsc`` a reader name, ``input`` an
    evdev node, ``video`` a V4L2 node. USB ids and interface classes are there when the kernel
    knows them (a pty has none)."""

    bus: str
    path: str
    name: str = ""
    vendor_id: int | None = None
    product_id: int | None = None
    usb_classes: frozenset[int] = frozenset()  # bInterfaceClass of each interface: 0x07 printer
    given: bool = False  # named by staff (`--port`), not found by looking


@dataclass(frozen=True)
class Claim:
    """A driver's answer to ``supported()``: how sure it is (the highest priority wins, as in
    Odoo's IoT box), the options to configure it with (without ``driver``), and why, for staff."""

    priority: int
    options: dict[str, Any]
    why: str


# Priorities: a device that answered the driver's own protocol beats a known USB id, which beats
# "it is a serial port, it could be one of mine".
PRIORITY_ANSWERED, PRIORITY_KNOWN_ID, PRIORITY_FALLBACK = 100, 50, 10


class Driver(ABC):
    kind: ClassVar[str] = "device"
    Options: ClassVar[type[DriverOptions]] = DriverOptions
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # False for a device that only sends (a scanner in virtual-COM mode): nothing can be asked, so
    # a silent unit looks idle. Its ONLINE means "port open"; the conformance kit says so.
    can_be_queried: ClassVar[bool] = True
    # Seconds between poll() calls while idle.
    poll_interval: float = 0.5

    @classmethod
    def supported(cls, candidate: Candidate) -> Claim | None:
        """Whether this driver is for ``candidate``: a Claim, or None ("not mine", the default).

        Called by ``kiosk devices detect`` with the kiosk stopped, once per candidate and driver.
        Look at the ids first; talk to the device only with a harmless query its protocol
        answers (a status request), with a short timeout (under a second per port), and leave
        the port as it was. Never claim on silence alone above ``PRIORITY_FALLBACK``.
        """
        return None

    def __init__(self, name: str, options: DriverOptions, emit: Emit):
        self.name = name
        self.options = options
        self._emit = emit

    def emit(self, event: Event) -> None:
        self._emit(event)

    @abstractmethod
    def open(self) -> None:
        """Acquire the port. Raise DeviceGone when it is not there."""

    @abstractmethod
    def close(self) -> None:
        """Release the port; must be safe to call twice and after a failed open."""

    @abstractmethod
    def state(self) -> DeviceState:
        """What the device is known to be; UNKNOWN when it has not answered."""

    def poll(self) -> None:  # noqa: B027 - optional hook
        """Called while idle: readers look for a card here."""

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Internal check by default: the device answered and is ready. Drivers extend it."""
        state = self.state()
        return HealthReport(level, state is DeviceState.ONLINE, state,
                            f"{self.kind} {self.name}: {state.value}")

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        if action == "check":
            return self.check_health(HealthLevel(args.get("level", "internal")), args)
        raise NotImplementedError(f"{self.kind} driver has no action {action!r}")


class IdReader(Driver):
    """Reads identity documents; emits IdentityRead once per card placed, CardRemoved when taken.

    Card presence, not only arrivals: CardRemoved also when the driver can no longer see a card
    it reported (``close()``: the reader vanished; an unseen card counts as taken), and the request
    ``announce`` reads the reader now and reports what lies on it: IdentityRead again for a card
    already reported (someone signed out and wants to go on with the same card), CardRemoved for
    one that has gone. Its result says whether a card is there.
    """

    kind = "id_reader"

    @abstractmethod
    def read_identity(self):
        """One find → select → read cycle; the Identity, or None when no card is present."""


class CardReader(Driver):
    """PC/SC smart-card slots: emits CardInserted (with what is readable without a PIN) and CardRemoved.

    Presence as for IdReader: CardRemoved for every reported card at ``close()``, and ``announce``
    reports each card in a slot again (CardInserted); its result is how many there are.
    """

    kind = "card_reader"

    @abstractmethod
    def read_card(self) -> dict[str, str] | None:
        """What the card in the slot tells without a PIN, or None when the slot is empty."""


class CodeScanner(Driver):
    """Barcode/QR scanners and camera decoders: emits CodeScanned for every code read."""

    kind = "code_scanner"


class Printer(Driver):
    kind = "printer"

    @abstractmethod
    def printer_status(self) -> PrinterStatus:
        """Ask the printer; words it did not answer stay UNKNOWN."""

    @abstractmethod
    def print_document(self, document: Document, job_id: str) -> None:
        """Print a whole document; raise DeviceError when it was not (fully) printed."""

    def job_bytes(self, document: Document) -> bytes:
        """The exact bytes ``print_document`` would send, without a printer (``kiosk print sample
        --to FILE``, benchmarks). Drivers whose printer language is bytes implement it."""
        raise NotImplementedError(f"{type(self).__name__} cannot write a job to a file")

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Internal: ask for status. External: print the test slip given as ``args["document"]``."""
        status = self.printer_status()
        text = (f"printer {self.name}: device {status.device.value}, paper {status.paper.value}, "
                f"cover {status.cover.value}")
        if level is HealthLevel.EXTERNAL and status.can_print and args.get("document") is not None:
            self.print_document(args["document"], args.get("job_id", f"check-{self.name}"))
            text += "; test slip printed"
        return HealthReport(level, status.can_print, status.device, text)

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        if action == "print":
            self.print_document(args["document"], args["job_id"])
            return args["job_id"]
        if action == "status":
            return self.printer_status()
        return super().handle(action, args)
