"""QR/barcode scanner on a serial line or in USB CDC ("virtual COM") mode: the kiosk's own.

The scanner sends every code it reads as raw bytes (GBK or UTF-8 Chinese intact, binary codes
exact), framed as programmed on it: an optional prefix (STX on some), the payload, and a suffix
(CR by default, CR LF, LF, ETX...) or nothing, when the silence after a burst ends the code.
``devices.framing.CodeFramer`` cuts the byte stream into codes; this driver reads the port.

What ONLINE means here: the port is open and reading it has not failed. That is all a device that
only sends lets us know: a scanner whose decoder hung while its USB link stayed up looks exactly
like one nobody is using. So the class declares ``can_be_queried = False`` (the conformance kit
skips its status-honesty checks) and the internal health check says it only checked the port.
Staff prove a scanner reads with ``kiosk devices check NAME --level interactive``: scan any code.

Configure ``port`` as the ``/dev/serial/by-id/...`` link: it follows the scanner when it is
unplugged and comes back as another ttyACM. A read error is an unplug (``DeviceGone``); the
manager reopens the link with backoff. Bytes waiting when the port opens are dropped: a code
scanned while the kiosk was not listening is stale by now, and the citizen has moved on.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Annotated, Any, ClassVar, Literal

import serial
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from devices.codes import MAX_CODE_BYTES, printable
from devices.contracts import (
    PRIORITY_FALLBACK,
    PRIORITY_KNOWN_ID,
    Candidate,
    Claim,
    CodeScanner,
    DeviceName,
    DriverOptions,
    HealthLevel,
    HealthReport,
)
from devices.detect import SCANNER_VENDORS
from devices.errors import DeviceGone
from devices.events import CodeScanned
from devices.framing import CodeFramer
from devices.status import DeviceState

log = logging.getLogger("kiosk.drivers.serialscan")

SUFFIXES = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n", "none": b""}
BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_ESCAPE = re.compile(r"(\\x[0-9a-fA-F]{2})")
_MAX_FRAMING_BYTES = 8
_PORT_ERRORS = (serial.SerialException, OSError)
_GONE_ZH = "扫码器未连接"


def framing_bytes(value: str, names: dict[str, bytes] | None = None) -> bytes:
    """A prefix or suffix option as bytes: one of ``names``, or the bytes themselves as ``\\x``
    escapes ("\\x03", "\\x0d\\x0a"; the control characters themselves are taken too, as TOML's
    "\\u0003" gives them). Printable characters are not bytes here: "crl" or "CR LF" is a misspelt
    name, not bytes to wait for. ValueError when invalid."""
    names = names or {}
    if value.lower() in names:
        return names[value.lower()]
    out = bytearray()
    for i, piece in enumerate(_ESCAPE.split(value)):
        if i % 2:  # an escape: split() puts what the group matched at odd places
            out.append(int(piece[2:], 16))
        elif all(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in piece):
            out += piece.encode("ascii")
        else:
            raise ValueError("neither a name nor \\x escapes")
    if len(out) > _MAX_FRAMING_BYTES:
        raise ValueError("too long")
    return bytes(out)


def _checked(names: dict[str, bytes], what: str, empty_ok: bool):
    """A pydantic check that the option is ``framing_bytes``; the message is ``what``."""
    def check(value: str) -> str:
        try:
            framing_bytes(value, names)
        except ValueError:
            raise PydanticCustomError("framing", what) from None
        if not value and not empty_ok:  # no suffix is written "none", not left out by mistake
            raise PydanticCustomError("framing", what)
        return value
    return AfterValidator(check)


# A bound in the schema (kiosk drivers shows it), loose enough that the check below says what is wrong.
_FRAMING_TEXT = StringConstraints(max_length=64)
Suffix = Annotated[str, _FRAMING_TEXT, _checked(SUFFIXES, 'must be "cr", "crlf", "lf", "none" or the scanner\'s suffix '
                                 f'as \\x escapes such as "\\x03" (at most {_MAX_FRAMING_BYTES} bytes)', False)]
Prefix = Annotated[str, _FRAMING_TEXT, _checked({}, 'must be "" or the scanner\'s prefix as \\x escapes such as "\\x02" '
                                 f'(at most {_MAX_FRAMING_BYTES} bytes)', True)]


class SerialScanner(CodeScanner):
    """Codes from a scanner that sends them down a serial line (see the module doc)."""

    class Options(DriverOptions):
        model_config = ConfigDict(strict=True)  # 1e23 or true for an int is an error (DriverOptions)
        port: DeviceName  # /dev/serial/by-id/usb-...: survives re-enumeration
        baud: Literal[BAUDS] = 115200  # scan engines default to 115200 8N1; USB CDC ignores it
        suffix: Suffix = "cr"  # "none": a code ends after gap_ms of silence
        prefix: Prefix = ""  # stripped from a code that starts with it
        gap_ms: int = Field(200, ge=10, le=5000)  # silence that ends a code (suffix "none") or drops a half one
        max_length: int = Field(MAX_CODE_BYTES, ge=1, le=MAX_CODE_BYTES)  # longer codes are dropped

    can_be_queried: ClassVar[bool] = False
    poll_interval = 0.05  # reading a port is cheap; a citizen is waiting for the screen to react

    @classmethod
    def supported(cls, candidate: Candidate) -> Claim | None:
        """A scanner only sends, so nothing can be asked: a serial port of a scanner maker's USB
        id is claimed as known; another USB serial port, or one staff named, only as a fallback,
        for when no driver that can ask its device got an answer there. A built-in UART
        (ttyS*, no USB id) is not claimed: most machines have some with nothing behind them."""
        if candidate.bus != "serial" or (candidate.vendor_id is None and not candidate.given):
            return None
        maker = SCANNER_VENDORS.get(candidate.vendor_id or -1)
        if maker:
            return Claim(PRIORITY_KNOWN_ID, {"port": candidate.path}, f"USB id of a {maker} scanner")
        return Claim(PRIORITY_FALLBACK, {"port": candidate.path},
                     "a serial port nothing answered on: maybe a scanner in virtual-COM mode (scan a code "
                     "with `kiosk devices scan` to be sure)")

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        self.options: SerialScanner.Options = options
        self._serial: serial.Serial | None = None
        self._state = DeviceState.UNKNOWN
        self._framer = CodeFramer(name, suffix=framing_bytes(options.suffix, SUFFIXES),
                                  prefix=framing_bytes(options.prefix), gap=options.gap_ms / 1000,
                                  max_length=options.max_length)

    def open(self) -> None:
        self.close()
        try:
            # exclusive: a second reader of the port (another kiosk process, a modem manager's
            # probe) would take bytes out of the middle of codes.
            # pyserial's open() also flushes what is waiting: stale codes (see the module doc).
            self._serial = serial.Serial(self.options.port, self.options.baud, timeout=0, exclusive=True)
        except (*_PORT_ERRORS, ValueError) as exc:
            raise DeviceGone(f"cannot open {self.options.port}: {exc}", zh=_GONE_ZH) from exc
        self._state = DeviceState.ONLINE  # port open: all a send-only device can tell (module doc)

    def close(self) -> None:
        ser, self._serial = self._serial, None
        self._state = DeviceState.UNKNOWN
        self._framer.reset()
        if ser is not None:
            with contextlib.suppress(*_PORT_ERRORS):
                ser.close()

    def state(self) -> DeviceState:
        return self._state

    def poll(self) -> None:
        ser = self._serial
        if ser is None:
            raise DeviceGone("port is not open", zh=_GONE_ZH)
        try:
            chunk = ser.read(max(1, ser.in_waiting))  # timeout=0: never blocks
        except _PORT_ERRORS as exc:  # unplugged: the tty answers EIO
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(f"{self.options.port}: {exc}", zh="扫码器已断开") from exc
        now = time.monotonic()
        for event in self._framer.feed(chunk, now) if chunk else self._framer.idle(now):
            if isinstance(event, CodeScanned):  # never the whole code: it may be a citizen's ID
                log.debug("%s: code of %d bytes: %s", self.name, len(event.data), printable(event.text, 12))
            else:
                log.warning("%s: %s", self.name, event.message)
            self.emit(event)

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Only the port can be checked here; ``kiosk devices check --level interactive`` waits
        for staff to scan a code, which is the check that proves the scanner reads."""
        ok = self._state is DeviceState.ONLINE
        return HealthReport(level, ok, self._state,
                            f"code scanner {self.name}: port {'open' if ok else 'not open'}; a scanner "
                            "cannot be asked for its status: scan a code (interactive check) to test it")
