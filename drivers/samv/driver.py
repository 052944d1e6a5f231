"""二代身份证 reader speaking SAM_V over a serial port (pyserial).

Request/response on one port, driven by the device worker: poll() runs find → select → read and
turns the result into IdentityRead / CardRemoved events. A card left on the reader keeps
answering (Type B cards do not halt), so a card is reported once and remembered, as a keyed digest
rather than its number, until a find fails or a different card is read. ``announce`` reports the
card on the reader again on request; closing the port reports a remembered card as removed.

``port`` may be a path, a glob pattern or "auto", and ``baud`` may be "auto": open() then asks
each candidate for its SAM status (11 FF) and keeps the first that answers with a valid frame.

A noisy line damages frames: a reply that fails its checksum, one cut off, or our request heard
damaged (SW3 10). Such a frame is never used; the request (the whole find → select → read for a
card) is sent again until a deadline: RETRY_WINDOW in the worker, the caller's in read_identity.
Only then is the error reported. ``retries`` counts these since open().
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

from devices.contracts import (
    PRIORITY_ANSWERED,
    Candidate,
    Claim,
    DeviceName,
    DriverOptions,
    HealthLevel,
    HealthReport,
    IdReader,
)
from devices.errors import DeviceError, DeviceGone, DeviceTimeout, ProtocolError
from devices.events import CardRemoved, ErrorEvent, IdentityRead, StatusChanged
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
RETRY_WINDOW = 2.0  # s the worker asks again on a damaged line before it reports the error
_FRAME_GAP = 0.2  # s of silence inside a frame after which its rest is not coming
_NO_REPLY_ZH = "身份证阅读器无响应，请重新放置证件"


class ReplyLost(DeviceTimeout):
    """A reply began on the line but never arrived whole: cut off, or drowned in noise."""


def _transient(exc: DeviceError) -> bool:
    """Whether the line, not the reader or the card, failed: a damaged or cut-off frame, or our
    request heard damaged (SW3 10/11). Sending the request again may well work."""
    return isinstance(exc, ProtocolError | ReplyLost) or (
        isinstance(exc, p.HostFrameError) and exc.sw3 in (p.SW_BAD_CHECKSUM, p.SW_BAD_LENGTH))


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

    @classmethod
    def supported(cls, candidate: Candidate) -> Claim | None:
        """A serial port whose device answers SAM_STATUS (11 FF) at one of the rates: the same
        search as ``port = "auto"``, on this port alone, 0.3 s per rate."""
        if candidate.bus != "serial":
            return None
        probe = cls("detect", cls.Options(port=candidate.path, baud="auto", timeout_ms=300), lambda _e: None)
        try:
            probe.open()
        except DeviceError:
            return None
        finally:
            probe.close()
        return Claim(PRIORITY_ANSWERED, {"port": candidate.path, "baud": probe.baud},
                     f"a SAM_V reader answered SAM_STATUS at {probe.baud} baud")

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
        self.retries = 0  # requests sent again since open() because the line damaged a frame
        self._retries_shown = 0  # the count last put in a StatusChanged
        self.port: str | None = None  # what open() found (after auto-detection)
        self.baud: int | None = None
        if options.fingerprint:
            self.capabilities = frozenset({"photo", "fingerprint"})
        self._decoder = _load_decoder(options.photo_decoder) if options.photo_decoder else None

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        self.close()
        self.retries = self._retries_shown = 0
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
        """Whether a frame (whatever its SW3, even damaged) answers 11 FF at this rate: at another
        rate not even a preamble comes through."""
        try:
            self._serial.baudrate = baud
            self.baud = baud
            self._transact(p.SAM_STATUS, timeout=min(self._timeout, _DETECT_TIMEOUT))
        except DeviceGone:
            raise
        except (p.SamStatusError, ProtocolError, ReplyLost):
            return True
        except DeviceError:
            return False
        return True

    def close(self) -> None:
        ser, self._serial = self._serial, None
        self._state = DeviceState.UNKNOWN
        if self._present is not None:
            # A card we can no longer see counts as taken: the kiosk must not go on in its holder's
            # name. Put back (or seen again after a reopen), it is reported again.
            self._present = None
            self.emit(CardRemoved(device=self.name))
        self._frames.reset()
        if ser is not None:
            with contextlib.suppress(*_PORT_ERRORS):
                ser.close()

    def state(self) -> DeviceState:
        return self._state

    # ------------------------------------------------------------ reading

    def read_identity(self, until: float | None = None) -> Identity | None:
        """One find → select → read cycle; remembers the card so poll() does not report it again.

        ``until`` (a time.monotonic() deadline): a cycle the line damages is run again until then,
        and only the last line error is raised. Without it, the first one is.
        """
        until = time.monotonic() if until is None else until
        if self._state is not DeviceState.ONLINE:
            err = self._sam_status(until)
            if err is not None:
                raise err
        identity = self._read_card(until)
        self._track(identity, announce=False)
        return identity

    def poll(self) -> None:
        until = time.monotonic() + RETRY_WINDOW
        before = self.retries
        try:
            if self._state is not DeviceState.ONLINE:
                err = self._sam_status(until)
                if err is not None:
                    raise err
            identity = self._read_card(until)
        except DeviceGone:
            raise
        except DeviceError as exc:
            # The worker treats anything but DeviceGone from poll() as a crash: report, keep going.
            # A broken or unlicensed SAM will not mend itself: say so rather than promise a retry.
            self._report(exc, will_retry=not isinstance(exc, p.SamFaultError), retries=self.retries - before)
            return
        self._last_error = None
        self._track(identity, announce=True)

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        if action == "read":
            return self.read_identity(until=time.monotonic() + RETRY_WINDOW)
        if action == "announce":  # what lies on the reader now, reported even if reported before
            identity = self.read_identity(until=time.monotonic() + RETRY_WINDOW)
            if identity is not None:
                self.emit(IdentityRead(device=self.name, identity=identity))
            return identity is not None
        if action == "sam_id":
            return self.read_sam_id(until=time.monotonic() + RETRY_WINDOW)
        return super().handle(action, args)

    def read_sam_id(self, until: float | None = None) -> str:
        """The SAM module number as printed on its label: AA.BB-CCCCCCCC-DDDDDDDDDD-EEEEEEEEEE."""
        reply = self._ask(p.SAM_ID, until)
        self._expect(reply, p.SAM_ID, p.SW_OK)
        return format_sam_id(reply.data)

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Internal: ask the SAM for its status (11 FF) and its id (12 FF); no card needed."""
        until = time.monotonic() + RETRY_WINDOW
        try:
            self._expect(self._ask(p.SAM_STATUS, until), p.SAM_STATUS, p.SW_OK)
            sam_id = self.read_sam_id(until)
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

    def _ask(self, command: p.Command, until: float | None) -> p.Reply:
        """One request, sent again while the line damages it until ``until``."""
        return self._retrying(lambda: self._transact(command), until)

    def _retrying(self, step, until: float | None):
        """``step()``, run again after a line error (see _transient) until ``until`` has passed;
        then that error is raised. Anything else is raised at once."""
        while True:
            try:
                return step()
            except DeviceError as exc:
                if not _transient(exc) or until is None or time.monotonic() >= until:
                    raise
                self.retries += 1
                log.debug("%s: %s, asking again", self.name, exc.code)

    def _read_card(self, until: float) -> Identity | None:
        identity = self._retrying(lambda: self._cycle(until), until)
        # A whole cycle was answered: the reader works, whatever a lost frame on the way said.
        self._state = DeviceState.ONLINE
        return identity

    def _cycle(self, until: float) -> Identity | None:
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
            address = self._newest_address(until)
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

    def _newest_address(self, until: float) -> str:
        """The 追加住址 when the card has one; "" when it has none (91) or the read failed."""
        try:
            # Only 30 03 is asked again: right after 30 01 it needs no new find/select.
            reply = self._ask(p.READ_NEWEST_ADDRESS, until)
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
                if self.retries != self._retries_shown:
                    # Staff see in the status how often the line made us ask again: a count that
                    # keeps growing wants a new cable before the reads start to fail.
                    self._retries_shown = self.retries
                    self.emit(StatusChanged(device=self.name, state=self._state,
                                            detail={"retries": str(self.retries)}))
                self.emit(IdentityRead(device=self.name, identity=identity))

    def _digest(self, number: str) -> bytes:
        return hashlib.blake2b(number.encode(), key=self._key, digest_size=16).digest()

    def _probe(self) -> None:
        """The status request of open(): a line error is left to the next poll or read, which ask
        again; anything else is reported now."""
        err = self._sam_status(None)
        if err is None:
            return
        if _transient(err):
            self.retries += 1
            log.debug("%s: %s at open, asking again at the next poll or read", self.name, err.code)
        else:
            self._report(err, will_retry=not isinstance(err, p.SamFaultError))

    def _sam_status(self, until: float | None) -> DeviceError | None:
        """Ask the SAM for its status: only an explicit 90 makes the reader ONLINE. Returns what
        kept it from being ONLINE."""
        try:
            reply = self._ask(p.SAM_STATUS, until)
        except DeviceGone:
            raise
        except DeviceError as exc:
            self._state = DeviceState.UNKNOWN
            return exc
        if reply.sw3 == p.SW_OK:
            self._state = DeviceState.ONLINE
            self._last_error = None
            return None
        err = p.sam_error(reply.sw3, p.SAM_STATUS)
        self._state = DeviceState.HARDWARE_ERROR if isinstance(err, p.SamFaultError) else DeviceState.UNKNOWN
        return err

    def _expect(self, reply: p.Reply, command: p.Command, ok: int) -> None:
        if reply.sw3 == ok:
            return
        if reply.sw3 in (p.SW_SELF_TEST_FAILED, p.SW_NOT_AUTHORIZED):
            self._state = DeviceState.HARDWARE_ERROR
        raise p.sam_error(reply.sw3, command)

    def _transact(self, command: p.Command, timeout: float | None = None) -> p.Reply:
        """Send one request and wait for its reply: the timeout plus the reply's wire time.

        Only a frame that passes its checksum and has the shape of a reply to this command
        answers it; a late reply to an earlier request is skipped. A damaged frame of that shape
        is the reply, lost on the line: raised at once, so the caller can ask again, unless a
        frame begun inside its bytes is still coming. A damaged frame of another shape is noise
        that looked like a frame: skipped. A frame the line goes quiet inside is given up after
        _FRAME_GAP (frames inside its bytes still count). SW3 10/11, the reader hearing our
        request damaged, is raised as the HostFrameError it is.
        """
        ser = self._serial
        if ser is None:
            raise DeviceGone("port is not open", zh="身份证阅读器未连接")
        wire = _READ_BYTES.get(command, 0) * 10 / (self.baud or 115200)
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout) + wire
        what = f"{command.cmd:02X} {command.para:02X}"
        lost: DeviceError | None = None  # the last sign that the line damaged the reply
        try:
            ser.reset_input_buffer()  # a late reply to an earlier request must not answer this one
            self._frames.reset()
            ser.write(p.build_request(command))
            heard = time.monotonic()
            while time.monotonic() < deadline:
                chunk = ser.read(max(1, ser.in_waiting))
                items = self._frames.feed(chunk)
                reply_lost = False
                if chunk:
                    heard = time.monotonic()
                elif self._frames.pending_length is not None and time.monotonic() - heard >= _FRAME_GAP:
                    length = self._frames.pending_length
                    lost = ReplyLost(f"reply to {what} cut off ({self._frames.buffered} bytes of a "
                                     f"{length}-byte frame)", zh=_NO_REPLY_ZH)
                    reply_lost = length == 0 or p.fits_reply(command, length)
                    items = self._frames.skip_partial()
                for item in items:
                    if isinstance(item, p.Reply):
                        if not p.fits_reply(command, len(item.data) + p.MIN_REPLY_LEN):
                            log.debug("%s: skipped a %d-byte reply that does not answer %s",
                                      self.name, len(item.data), what)
                            continue
                        if item.sw3 in (p.SW_BAD_CHECKSUM, p.SW_BAD_LENGTH):
                            raise p.sam_error(item.sw3, command)
                        return item
                    lost = item
                    reply_lost = reply_lost or p.fits_reply(command, item.length)
                if reply_lost and self._frames.pending_length is None:
                    if isinstance(lost, ReplyLost):  # a reader that stops mid-frame is probed again
                        self._state = DeviceState.UNKNOWN
                    raise lost
        except _PORT_ERRORS as exc:
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(f"{self.options.port}: {exc}", zh="身份证阅读器已断开") from exc
        self._state = DeviceState.UNKNOWN
        if lost is None and self._frames.pending_length is not None:
            lost = ReplyLost(f"reply to {what} not complete within {self.options.timeout_ms} ms "
                             f"({self._frames.buffered} bytes pending)", zh=_NO_REPLY_ZH)
        if lost is not None:
            raise lost
        raise DeviceTimeout(
            f"no reply to {what} within {self.options.timeout_ms} ms ({self._frames.buffered} bytes "
            f"pending)", zh=_NO_REPLY_ZH)

    def _report(self, exc: DeviceError, will_retry: bool = True, retries: int = 0) -> None:
        """One ErrorEvent per distinct problem, not one per poll while it lasts."""
        if exc.code == self._last_error:
            return
        self._last_error = exc.code
        message = f"{exc} (asked {retries} more times)" if retries else str(exc)
        log.warning("%s: %s", self.name, message)
        self.emit(ErrorEvent(device=self.name, code=exc.code, message=message, message_zh=exc.zh,
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
