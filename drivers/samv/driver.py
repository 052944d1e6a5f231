"""二代身份证 reader speaking SAM_V over a serial port (pyserial).

Request/response on one port, driven by the device worker: poll() runs find → select → read and
turns the result into IdentityRead / CardRemoved events. A card left on the reader keeps
answering (Type B cards do not halt), so a card is reported once and remembered, as a keyed digest
rather than its number, until a find fails or a different card is read.

``port`` may be a path, a glob pattern or "auto", and ``baud`` may be "auto": open() then asks
each candidate for its SAM status (11 FF) and keeps the first that answers with a valid frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import importlib
import logging
import os
import termios
import time
from typing import Any, Literal

import serial
from pydantic import ConfigDict, Field

from devices.contracts import DeviceName, DriverOptions, HealthLevel, HealthReport, IdReader
from devices.errors import DeviceError, DeviceGone, DeviceTimeout, ProtocolError
from devices.events import CardRemoved, ErrorEvent, IdentityRead
from devices.identity import Identity
from devices.status import DeviceState
from drivers.samv import protocol as p
from drivers.samv.cardtext import parse_base_info

log = logging.getLogger("kiosk.drivers.samv")

BAUDS = (9600, 19200, 38400, 57600, 115200)
DETECT_BAUDS = (115200, 57600, 38400, 19200, 9600)  # the factory default first
AUTO_PORTS = ("/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*")
_DETECT_TIMEOUT = 0.3  # s a candidate port/baud gets to answer 11 FF
_READ_BYTES = {p.READ_BASE: 1295, p.READ_BASE_FP: 2321}  # longest reply, for the wire-time budget
_READ_SLICE = 0.05  # seconds a single serial read may block, so deadlines stay accurate
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class SamSerialReader(IdReader):
    class Options(DriverOptions):
        model_config = ConfigDict(strict=True)  # 1e23 or true for an int is an error (DriverOptions)
        port: DeviceName  # a path, a glob pattern such as /dev/ttyUSB*, or "auto"
        baud: Literal[9600, 19200, 38400, 57600, 115200, "auto"] = 115200  # BAUDS or "auto"
        poll_interval_ms: int = Field(500, ge=50, le=60_000)
        timeout_ms: int = Field(2000, ge=50, le=60_000)
        fingerprint: bool = False  # read with 30 10 (text + photo + fingerprint templates)
        newest_address: bool = True  # also read 30 03 (追加住址) after a successful read
        photo_decoder: DeviceName = ""  # "module:function" turning WLT bytes into an image; none ships

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
        self.port: str | None = None  # what open() found (after auto-detection)
        self.baud: int | None = None
        if options.fingerprint:
            self.capabilities = frozenset({"photo", "fingerprint"})
        self._decoder = _load_decoder(options.photo_decoder) if options.photo_decoder else None

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        self.close()
        ports, bauds = self._candidates()
        if len(ports) == 1 and len(bauds) == 1:
            self._open_port(ports[0], bauds[0])
            self._probe()
            return
        for port in ports:
            with contextlib.suppress(DeviceGone):
                self._open_port(port, bauds[0])
                for baud in bauds:
                    if self._answers_at(baud):
                        log.info("%s: SAM_V reader found on %s at %d baud", self.name, port, baud)
                        self._probe()
                        return
            self.close()
        raise DeviceGone(f"no SAM_V reader answered on {', '.join(ports) or self.options.port} at "
                         f"{'/'.join(map(str, bauds))} baud", zh="身份证阅读器未连接")

    def _candidates(self) -> tuple[list[str], tuple[int, ...]]:
        spec = self.options.port
        bauds = DETECT_BAUDS if self.options.baud == "auto" else (self.options.baud,)
        if spec != "auto" and not glob.has_magic(spec):
            return [spec], bauds
        patterns = AUTO_PORTS if spec == "auto" else (spec,)
        ports, seen = [], set()
        for pattern in patterns:
            for path in sorted(glob.glob(pattern)):
                real = os.path.realpath(path)
                if real not in seen:  # a by-id link and its ttyUSB node are one port
                    seen.add(real)
                    ports.append(path)
        return ports, bauds

    def _open_port(self, port: str, baud: int) -> None:
        try:
            self._serial = serial.Serial(port, baud, timeout=_READ_SLICE, write_timeout=self._timeout)
        except (*_PORT_ERRORS, ValueError) as exc:
            raise DeviceGone(f"cannot open {port}: {exc}", zh="身份证阅读器未连接") from exc
        self.port, self.baud = port, baud

    def _answers_at(self, baud: int) -> bool:
        """Whether a valid frame (whatever its SW3) answers 11 FF at this rate."""
        try:
            self._serial.baudrate = baud
            self.baud = baud
            self._transact(p.SAM_STATUS, timeout=min(self._timeout, _DETECT_TIMEOUT))
        except DeviceGone:
            raise
        except DeviceError:
            return False
        return True

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
            # A broken or unlicensed SAM will not mend itself: say so rather than promise a retry.
            self._report(exc, will_retry=not isinstance(exc, p.SamFaultError))
            return
        self._last_error = None
        self._track(identity, announce=True)

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        if action == "read":
            return self.read_identity()
        if action == "sam_id":
            return self.read_sam_id()
        return super().handle(action, args)

    def read_sam_id(self) -> str:
        """The SAM module number as printed on its label: AA.BB-CCCCCCCC-DDDDDDDDDD-EEEEEEEEEE."""
        reply = self._transact(p.SAM_ID)
        self._expect(reply, p.SAM_ID, p.SW_OK)
        return format_sam_id(reply.data)

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Internal: ask the SAM for its status (11 FF) and its id (12 FF); no card needed."""
        try:
            self._expect(self._transact(p.SAM_STATUS), p.SAM_STATUS, p.SW_OK)
            sam_id = self.read_sam_id()
        except DeviceGone:
            raise
        except DeviceError as exc:
            if self._state is DeviceState.ONLINE:
                self._state = DeviceState.UNKNOWN
            return HealthReport(level, False, self._state, f"{self.kind} {self.name}: {exc}")
        self._state = DeviceState.ONLINE
        return HealthReport(level, True, self._state, f"{self.kind} {self.name}: online, SAM {sam_id} "
                                                      f"on {self.port} at {self.baud} baud")

    # ------------------------------------------------------------ internals

    def _cycle(self) -> Identity | None:
        found = self._transact(p.FIND_CARD)
        if found.sw3 == p.SW_NO_CARD:
            return None
        self._expect(found, p.FIND_CARD, p.SW_FOUND)
        self._expect(self._transact(p.SELECT_CARD), p.SELECT_CARD, p.SW_OK)
        command = p.READ_BASE_FP if self.options.fingerprint else p.READ_BASE
        reply = self._transact(command)
        self._expect(reply, command, p.SW_OK)
        identity = parse_base_info(reply.data, fingerprint=self.options.fingerprint)
        extra = dict(identity.extra)
        if self.options.newest_address:
            # Right after 30 01 the card needs no new authentication for 30 03 (spec §2 note 4).
            address = self._newest_address()
            if address:
                extra["newest_address"] = address
        if self._decoder is not None and identity.photo:
            try:
                extra["photo_image"] = self._decoder(identity.photo)  # in memory only, like the photo
            except Exception as exc:  # a vendor library failing must not lose the identity
                log.warning("%s: photo decoder failed: %s", self.name, type(exc).__name__)
        identity = dataclasses.replace(identity, extra=extra)
        log.info("%s: read %r", self.name, identity)  # the repr masks name and number
        return identity

    def _newest_address(self) -> str:
        """The 追加住址 when the card has one; "" when it has none (91) or the read failed."""
        try:
            reply = self._transact(p.READ_NEWEST_ADDRESS)
        except DeviceGone:
            raise
        except DeviceError as exc:
            log.info("%s: newest address not read: %s", self.name, exc.code)
            return ""
        if reply.sw3 != p.SW_OK:
            return ""
        return reply.data.decode("utf-16-le", "replace").strip(" \x00")

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
            self._report(p.sam_error(reply.sw3, p.SAM_STATUS), will_retry=False)
        else:
            self._state = DeviceState.UNKNOWN
            self._report(p.sam_error(reply.sw3, p.SAM_STATUS))

    def _expect(self, reply: p.Reply, command: p.Command, ok: int) -> None:
        if reply.sw3 == ok:
            return
        if reply.sw3 in (p.SW_SELF_TEST_FAILED, p.SW_NOT_AUTHORIZED):
            self._state = DeviceState.HARDWARE_ERROR
        raise p.sam_error(reply.sw3, command)

    def _transact(self, command: p.Command, timeout: float | None = None) -> p.Reply:
        """Send one request and wait for one reply frame: the timeout plus the reply's wire time."""
        ser = self._serial
        if ser is None:
            raise DeviceGone("port is not open", zh="身份证阅读器未连接")
        wire = _READ_BYTES.get(command, 0) * 10 / (self.baud or 115200)
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout) + wire
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
            f"({self._frames.buffered} bytes pending)", zh="身份证阅读器无响应，请重新放置证件")

    def _report(self, exc: DeviceError, will_retry: bool = True) -> None:
        """One ErrorEvent per distinct problem, not one per poll while it lasts."""
        if exc.code == self._last_error:
            return
        self._last_error = exc.code
        log.warning("%s: %s", self.name, exc)
        self.emit(ErrorEvent(device=self.name, code=exc.code, message=str(exc), message_zh=exc.zh,
                             will_retry=will_retry))


def format_sam_id(data: bytes) -> str:
    """16 bytes → AA.BB-CCCCCCCC-DDDDDDDDDD-EEEEEEEEEE (two uint16 and three uint32, little-endian)."""
    if len(data) != 16:
        raise ProtocolError(f"SAM id is {len(data)} bytes, expected 16", code="bad_length",
                            zh="读卡器通信数据错误")
    a, b = (int.from_bytes(data[i:i + 2], "little") for i in (0, 2))
    c, d, e = (int.from_bytes(data[i:i + 4], "little") for i in (4, 8, 12))
    return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"


def _load_decoder(target: str):
    """Resolve "module:function" at construction, so a missing vendor library fails loudly."""
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise DeviceError(f"photo_decoder {target!r} cannot be loaded: {exc}", code="config",
                          zh="照片解码组件未安装") from exc
