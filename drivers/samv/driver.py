"""二代身份证 reader speaking SAM_V over a serial port (pyserial).

Request/response on one port, driven by the device worker: poll() runs find → select → read and
turns the result into IdentityRead / CardRemoved events. A card left on the reader keeps
answering (Type B cards do not halt), so a card is reported once and remembered, as a keyed digest
rather than its number, until a find fails or a different card is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import termios
import time
from typing import Any

import serial
from pydantic import Field, field_validator

from devices.contracts import DriverOptions, IdReader
from devices.errors import DeviceError, DeviceGone, DeviceTimeout, ProtocolError
from devices.events import CardRemoved, ErrorEvent, IdentityRead
from devices.identity import Identity
from devices.status import DeviceState
from drivers.samv import protocol as p
from drivers.samv.cardtext import parse_base_info

log = logging.getLogger("kiosk.drivers.samv")

BAUDS = (9600, 19200, 38400, 57600, 115200)
_READ_SLICE = 0.05  # seconds a single serial read may block, so deadlines stay accurate
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class SamSerialReader(IdReader):
    class Options(DriverOptions):
        port: str
        baud: int = 115200
        poll_interval_ms: int = Field(500, ge=50, le=60_000)
        timeout_ms: int = Field(2000, ge=50, le=60_000)

        @field_validator("baud")
        @classmethod
        def _known_baud(cls, v: int) -> int:
            if v not in BAUDS:
                raise ValueError(f"SAM_V readers run at {', '.join(map(str, BAUDS))} baud")
            return v

    capabilities = frozenset({"photo"})

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        self.options: SamSerialReader.Options = options
        self.poll_interval = options.poll_interval_ms / 1000
        self._timeout = options.timeout_ms / 1000
        self._serial: serial.Serial | None = None
        self._frames = p.FrameReader()
        self._state = DeviceState.UNKNOWN
        self._key = os.urandom(16)
        self._present: bytes | None = None  # digest of the card reported and still on the reader
        self._last_error: str | None = None

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        self.close()
        port = self.options.port
        try:
            self._serial = serial.Serial(port, self.options.baud, timeout=_READ_SLICE,
                                         write_timeout=self._timeout)
        except (*_PORT_ERRORS, ValueError) as exc:
            raise DeviceGone(f"cannot open {port}: {exc}", zh="身份证阅读器未连接") from exc
        self._probe()

    def close(self) -> None:
        ser, self._serial = self._serial, None
        self._state = DeviceState.UNKNOWN
        self._present = None
        self._frames.reset()
        if ser is not None:
            with contextlib.suppress(*_PORT_ERRORS):
                ser.close()

    def state(self) -> DeviceState:
        return self._state

    # ------------------------------------------------------------ reading

    def read_identity(self) -> Identity | None:
        """One find → select → read cycle; remembers the card so poll() does not report it again."""
        if self._state is not DeviceState.ONLINE:
            self._probe()
            if self._state is not DeviceState.ONLINE:
                raise DeviceError(f"reader not ready ({self._state})", code="not_ready",
                                  zh="身份证阅读器未就绪")
        identity = self._cycle()
        self._track(identity, announce=False)
        return identity

    def poll(self) -> None:
        if self._state is not DeviceState.ONLINE:
            self._probe()
            if self._state is not DeviceState.ONLINE:
                return
        try:
            identity = self._cycle()
        except DeviceGone:
            raise
        except DeviceError as exc:
            # The worker treats anything but DeviceGone from poll() as a crash: report, keep going.
            self._report(exc)
            return
        self._last_error = None
        self._track(identity, announce=True)

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        if action == "read":
            return self.read_identity()
        return super().handle(action, args)

    # ------------------------------------------------------------ internals

    def _cycle(self) -> Identity | None:
        found = self._transact(p.FIND_CARD)
        if found.sw3 == p.SW_NO_CARD:
            return None
        self._expect(found, p.FIND_CARD, p.SW_FOUND)
        self._expect(self._transact(p.SELECT_CARD), p.SELECT_CARD, p.SW_OK)
        reply = self._transact(p.READ_BASE)
        self._expect(reply, p.READ_BASE, p.SW_OK)
        identity = parse_base_info(reply.data)
        log.info("%s: read %r", self.name, identity)  # the repr masks name and number
        return identity

    def _track(self, identity: Identity | None, *, announce: bool) -> None:
        digest = self._digest(identity.id_number) if identity else None
        if self._present is not None and digest != self._present:
            self._present = None
            self.emit(CardRemoved(device=self.name))
        if identity is not None and digest != self._present:
            self._present = digest
            if announce:
                self.emit(IdentityRead(device=self.name, identity=identity))

    def _digest(self, number: str) -> bytes:
        return hashlib.blake2b(number.encode(), key=self._key, digest_size=16).digest()

    def _probe(self) -> None:
        """Ask the SAM for its status: only an explicit 90 makes the reader ONLINE."""
        try:
            reply = self._transact(p.SAM_STATUS)
        except DeviceGone:
            raise
        except DeviceError as exc:
            self._state = DeviceState.UNKNOWN
            self._report(exc)
            return
        if reply.sw3 == p.SW_OK:
            self._state = DeviceState.ONLINE
            self._last_error = None
        elif reply.sw3 in (p.SW_SELF_TEST_FAILED, p.SW_NOT_AUTHORIZED):
            self._state = DeviceState.HARDWARE_ERROR
            self._report(p.SamStatusError(reply.sw3, p.SAM_STATUS), will_retry=False)
        else:
            self._state = DeviceState.UNKNOWN
            self._report(p.SamStatusError(reply.sw3, p.SAM_STATUS))

    def _expect(self, reply: p.Reply, command: p.Command, ok: int) -> None:
        if reply.sw3 == ok:
            return
        if reply.sw3 in (p.SW_SELF_TEST_FAILED, p.SW_NOT_AUTHORIZED):
            self._state = DeviceState.HARDWARE_ERROR
        raise p.SamStatusError(reply.sw3, command)

    def _transact(self, command: p.Command) -> p.Reply:
        """Send one request and wait for one reply frame, within the configured timeout."""
        ser = self._serial
        if ser is None:
            raise DeviceGone("port is not open", zh="身份证阅读器未连接")
        deadline = time.monotonic() + self._timeout
        try:
            ser.reset_input_buffer()  # a late reply to an earlier request must not answer this one
            self._frames.reset()
            ser.write(p.build_request(command))
            while time.monotonic() < deadline:
                for item in self._frames.feed(ser.read(max(1, ser.in_waiting))):
                    if isinstance(item, ProtocolError):
                        raise item
                    return item
        except _PORT_ERRORS as exc:
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(f"{self.options.port}: {exc}", zh="身份证阅读器已断开") from exc
        self._state = DeviceState.UNKNOWN
        raise DeviceTimeout(
            f"no reply to {command.cmd:02X} {command.para:02X} within {self.options.timeout_ms} ms "
            f"({self._frames.buffered} bytes pending)", zh="身份证阅读器无响应")

    def _report(self, exc: DeviceError, will_retry: bool = True) -> None:
        """One ErrorEvent per distinct problem, not one per poll while it lasts."""
        if exc.code == self._last_error:
            return
        self._last_error = exc.code
        log.warning("%s: %s", self.name, exc)
        self.emit(ErrorEvent(device=self.name, code=exc.code, message=str(exc), message_zh=exc.zh,
                             will_retry=will_retry))
