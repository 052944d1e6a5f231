"""A QR/barcode scanner in USB CDC ("virtual COM") mode: an example kiosk driver.

Such a scanner appears as /dev/ttyACM0 and sends every code it reads as raw bytes followed by a
CR or CR LF suffix (configured on the scanner, usually by scanning a setup code). It answers no
questions: there is no status command.

What ONLINE means here: the port opened and reading it has not failed. That is all a send-only
device lets us know. A scanner whose decoder hung while its USB link stayed up looks exactly like
one nobody is using, so the class declares ``can_be_queried = False``: the conformance kit skips
its status-honesty checks, and the internal health check says that it only checked the port.
Staff prove a scanner reads with ``kiosk devices check --level interactive``: scan any code.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, ClassVar

import serial
from pydantic import Field

from devices.contracts import CodeScanner, DriverOptions, HealthLevel, HealthReport
from devices.errors import DeviceGone
from devices.events import CodeScanned, ErrorEvent
from devices.status import DeviceState

CR, LF = 0x0D, 0x0A
_PORT_ERRORS = (serial.SerialException, OSError)


def decode(data: bytes) -> str:
    """UTF-8 (most QR codes), else GB18030 (older Chinese systems), else "" (the bytes remain)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    return ""


class SerialLineScanner(CodeScanner):
    class Options(DriverOptions):
        port: str
        baud: int = Field(9600, ge=1200, le=921_600)  # CDC ignores it; a real RS-232 line does not
        gap_ms: int = Field(200, ge=10, le=5000)  # a code arrives in one burst: a stale part is noise
        max_length: int = Field(4096, ge=16, le=65_536)

    can_be_queried: ClassVar[bool] = False
    poll_interval = 0.05  # reading a port is cheap; a citizen is waiting for the screen to react

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        self.options: SerialLineScanner.Options = options
        self._serial: serial.Serial | None = None
        self._state = DeviceState.UNKNOWN
        self._buf = bytearray()
        self._last_byte = 0.0
        self._after_cr = False  # an LF right after a CR is the rest of a CR LF suffix
        self._skipping = False  # an over-long line is dropped up to its CR

    def open(self) -> None:
        self.close()
        try:
            self._serial = serial.Serial(self.options.port, self.options.baud, timeout=0)
        except (*_PORT_ERRORS, ValueError) as exc:
            raise DeviceGone(f"cannot open {self.options.port}: {exc}", zh="扫码器未连接") from exc
        self._state = DeviceState.ONLINE  # port open: all a send-only device can tell (module doc)

    def close(self) -> None:
        ser, self._serial = self._serial, None
        self._state = DeviceState.UNKNOWN
        self._buf.clear()
        self._after_cr = self._skipping = False
        if ser is not None:
            with contextlib.suppress(*_PORT_ERRORS):
                ser.close()

    def state(self) -> DeviceState:
        return self._state

    def poll(self) -> None:
        ser = self._serial
        if ser is None:
            raise DeviceGone("port is not open", zh="扫码器未连接")
        try:
            chunk = ser.read(max(1, ser.in_waiting))  # timeout=0: never blocks
        except _PORT_ERRORS as exc:  # unplugged: the tty answers EIO
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(f"{self.options.port}: {exc}", zh="扫码器已断开") from exc
        now = time.monotonic()
        if chunk:
            self._last_byte = now
            self._feed(chunk)
        elif (self._buf or self._skipping) and now - self._last_byte > self.options.gap_ms / 1000:
            self._discard("no CR within gap_ms")
            self._skipping = False

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Only the port can be checked here; ``kiosk devices check --level interactive`` waits
        for staff to scan a code, which is the check that proves the scanner reads."""
        ok = self._state is DeviceState.ONLINE
        return HealthReport(level, ok, self._state,
                            f"code scanner {self.name}: port {'open' if ok else 'not open'}; a scanner "
                            "cannot be asked for its status: scan a code (interactive check) to test it")

    def _feed(self, chunk: bytes) -> None:
        for b in chunk:
            if b == LF and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = b == CR
            if b == CR:
                line, self._buf = bytes(self._buf), bytearray()
                if line and not self._skipping:
                    self.emit(CodeScanned(device=self.name, data=line, text=decode(line)))
                self._skipping = False
            elif self._skipping:
                continue
            elif len(self._buf) >= self.options.max_length:
                self._discard(f"longer than {self.options.max_length} bytes")
                self._skipping = True
            else:
                self._buf.append(b)

    def _discard(self, why: str) -> None:
        if self._buf:
            self.emit(ErrorEvent(device=self.name, code="garbled", will_retry=True,
                                 message=f"{len(self._buf)} bytes discarded: {why}",
                                 message_zh="扫码数据不完整，请重新扫码"))
        self._buf.clear()
