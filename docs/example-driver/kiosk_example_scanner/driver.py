"""A QR/barcode scanner in USB CDC ("virtual COM") mode: an example kiosk driver.

Such a scanner appears as /dev/ttyACM0 and sends every code it reads as raw bytes followed by a
CR or CR LF suffix (configured on the scanner, usually by scanning a setup code). It answers no
questions: there is no status command. Cutting the bytes into codes is the kiosk's
``devices.framing.CodeFramer``; this driver reads the port and hands it what arrives.

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

from devices.codes import MAX_CODE_BYTES
from devices.contracts import CodeScanner, DriverOptions, HealthLevel, HealthReport
from devices.errors import DeviceGone
from devices.framing import CodeFramer
from devices.status import DeviceState

_PORT_ERRORS = (serial.SerialException, OSError)


class SerialLineScanner(CodeScanner):
    class Options(DriverOptions):
        port: str
        baud: int = Field(9600, ge=1200, le=921_600)  # CDC ignores it; a real RS-232 line does not
        gap_ms: int = Field(200, ge=10, le=5000)  # a code arrives in one burst: a stale part is noise
        max_length: int = Field(MAX_CODE_BYTES, ge=16, le=MAX_CODE_BYTES)

    can_be_queried: ClassVar[bool] = False
    poll_interval = 0.05  # reading a port is cheap; a citizen is waiting for the screen to react

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        self.options: SerialLineScanner.Options = options
        self._serial: serial.Serial | None = None
        self._state = DeviceState.UNKNOWN
        # A CR ends a code (an LF right after it is the rest of a CR LF suffix); bytes left without
        # one for gap_ms are noise, dropped; so is a code longer than max_length.
        self._framer = CodeFramer(name, suffix=b"\r", gap=options.gap_ms / 1000,
                                  max_length=options.max_length)

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
        self._framer.reset()
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
        for event in self._framer.feed(chunk, now) if chunk else self._framer.idle(now):
            self.emit(event)  # CodeScanned (exact bytes, text per devices.codes.payload_text) or ErrorEvent

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Only the port can be checked here; ``kiosk devices check --level interactive`` waits
        for staff to scan a code, which is the check that proves the scanner reads."""
        ok = self._state is DeviceState.ONLINE
        return HealthReport(level, ok, self._state,
                            f"code scanner {self.name}: port {'open' if ok else 'not open'}; a scanner "
                            "cannot be asked for its status: scan a code (interactive check) to test it")
