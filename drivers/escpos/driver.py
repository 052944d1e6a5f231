"""EscposPrinter: a Chinese-mode ESC/POS receipt printer over serial, TCP 9100 or a device file.

Transport: python-escpos's connection classes (``escpos.printer.Serial`` / ``Network`` / ``File``)
open the port and carry our bytes through ``_raw``. Replies are read from the connection's own
pyserial object / socket (``.device``), not through python-escpos: its 3.1 ``_read`` reads 16
bytes with one fixed timeout, ``File`` cannot read at all, and its ``paper_status()`` turns "no
answer" into "paper OK". Here a status word the printer did not answer stays UNKNOWN, and UNKNOWN
refuses the job like "paper out" does.

A job is: ``DLE EOT`` 1, 2, 4 → refuse unless online, paper full/low, cover closed → the encoded
document followed by ``GS r 1`` → wait for the ``GS r 1`` answer, which the printer gives only
after everything before it was printed. While waiting, ``DLE EOT 2`` probes tell a paper end or
an open cover mid-job apart from a slow printer.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import shutil
import socket
import stat
import sys
import tempfile
import termios
import threading
import time
from typing import Any, Literal

import serial
from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from devices.contracts import (
    PRIORITY_ANSWERED,
    PRIORITY_KNOWN_ID,
    Candidate,
    Claim,
    DeviceName,
    DriverOptions,
    Printer,
)
from devices.detect import USB_CLASS_PRINTER
from devices.errors import DeviceError, DeviceGone, DeviceTimeout
from devices.events import StatusChanged
from devices.printdoc import Document
from devices.status import CoverState, DeviceState, PaperState, PrinterStatus
from drivers.escpos import profiles
from drivers.escpos.encoder import (
    GS_R1,
    encode,
    is_gs_r_reply,
    is_status_reply,
    parse_gs_r1,
    parse_status,
    status_query,
)

ZH = {
    "paper_out": "打印机缺纸，请联系工作人员",
    "cover_open": "打印机盖未关好，请联系工作人员",
    "offline": "打印机暂停服务，请联系工作人员",
    "unknown": "打印机没有响应，请联系工作人员",
    "not_confirmed": "凭条可能没有打印完整，请联系工作人员",
    "paper_out_mid_job": "打印中途缺纸，凭条没有打印完整，请联系工作人员",
    "cover_open_mid_job": "打印中途机盖被打开，凭条没有打印完整，请联系工作人员",
    "timeout": "打印机没有接收数据，请联系工作人员",
    "previous_not_confirmed": "打印机还没有完成上一张凭条，请联系工作人员",
    "bad_document": "凭条内容有误，无法打印，请联系工作人员",
}


class _Link:
    """Byte pipe to the printer: python-escpos writes, replies read one byte at a time."""

    def __init__(self, conn: Any):
        self.conn = conn

    def write(self, data: bytes, timeout: float) -> None:
        self.conn._raw(data)

    def read_byte(self, deadline: float) -> int | None:
        raise NotImplementedError

    def discard_input(self) -> None:
        """Drop stale replies (late answers, echoes) so the next byte answers the next question."""
        while self.read_byte(0) is not None:
            pass

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


class _SerialLink(_Link):
    def __init__(self, conn: Any):
        super().__init__(conn)
        self.dev: serial.Serial = conn.device

    def write(self, data: bytes, timeout: float) -> None:
        if self.dev.write_timeout != timeout:  # the setter reconfigures the port: only on change
            self.dev.write_timeout = timeout
        self.conn._raw(data)

    def read_byte(self, deadline: float) -> int | None:
        remaining = max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([self.dev.fileno()], [], [], remaining)
        if not ready:
            return None
        got = self.dev.read(1)  # data is waiting; pyserial raises if the port vanished
        return got[0] if got else None

    def discard_input(self) -> None:
        self.dev.reset_input_buffer()
        super().discard_input()

    def close(self) -> None:
        # Close pyserial directly: python-escpos's close() calls flush() (tcdrain) first, which
        # can block for as long as a stalled printer holds its flow control.
        with contextlib.suppress(Exception):
            self.dev.close()
        self.conn._device = False


class _NetworkLink(_Link):
    def __init__(self, conn: Any):
        super().__init__(conn)
        self.sock: socket.socket = conn.device

    def write(self, data: bytes, timeout: float) -> None:
        self.sock.settimeout(timeout)
        self.conn._raw(data)

    def read_byte(self, deadline: float) -> int | None:
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self.sock.settimeout(remaining)
        else:
            self.sock.setblocking(False)
        try:
            got = self.sock.recv(1)
        except (TimeoutError, BlockingIOError):
            return None
        if not got:
            raise DeviceGone("printer closed the TCP connection", zh=ZH["unknown"])
        return got[0]


class _FileLink(_Link):
    """A device file (``/dev/usb/lp0``): written through python-escpos, replies read through a
    second descriptor when the node is a bidirectional character device. A regular file never
    answers, so its status stays UNKNOWN and jobs are refused."""

    def __init__(self, conn: Any, path: str):
        super().__init__(conn)
        self.fd: int | None = None
        if stat.S_ISCHR(os.stat(path).st_mode):
            self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)

    def read_byte(self, deadline: float) -> int | None:
        if self.fd is None:
            return None
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                return None
            try:
                got = os.read(self.fd, 1)
            except BlockingIOError:
                if remaining <= 0:
                    return None
                continue
            if not got:
                return None
            return got[0]

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        super().close()


class EscposPrinter(Printer):
    class Options(DriverOptions):
        model_config = ConfigDict(strict=True)  # 1e23 or true for an int is an error (DriverOptions)
        connection: Literal["serial", "network", "file"] = "serial"
        port: DeviceName = ""  # serial device or file path
        host: DeviceName = ""
        tcp_port: int = Field(9100, ge=1, le=65535)
        baud: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] = 115200
        # The model: a file in drivers/escpos/profiles/ or a python-escpos model (TM-T88V); it sets
        # the four below, and each one written in the device's table wins over it. The defaults
        # are those of a printer without a profile.
        profile: DeviceName = ""
        width: Literal[58, 80] = 80  # paper, mm
        cjk_text: bool = True  # the printer has a Chinese font (FS &); else Chinese goes as raster
        native_qr: bool = True  # GS ( k; else the QR is sent as a raster image
        cutter: bool = True
        status_timeout_ms: int = Field(500, ge=10, le=60_000)  # per DLE EOT answer
        confirm_timeout_ms: int = Field(10000, ge=100, le=600_000)  # for GS r 1 once the data is transferred

        @field_validator("profile")
        @classmethod
        def _known(cls, value: str) -> str:
            try:
                profiles.load(value)
            except profiles.UnknownProfile as exc:
                raise PydanticCustomError("profile", str(exc)) from None
            return value

        @model_validator(mode="after")
        def _where(self):
            if self.connection == "network" and not self.host:
                raise ValueError("host is required for connection 'network'")
            if self.connection != "network" and not self.port:
                raise ValueError(f"port is required for connection {self.connection!r}")
            return self

    capabilities = frozenset({"cjk_text", "native_qr", "raster", "cutter", "paper_sensor",
                              "near_end_sensor", "cover_sensor"})
    poll_interval = 0.5
    status_every = 2.0  # seconds between status queries while idle

    @classmethod
    def supported(cls, candidate: Candidate) -> Claim | None:
        """A USB printer-class device (its ``/dev/usb/lpN``), or a serial port that answers
        ``DLE EOT 1`` with one status byte: a real-time query a printer answers at once and that
        prints nothing, tried at the common rates (0.3 s each)."""
        if candidate.bus == "usb" and USB_CLASS_PRINTER in candidate.usb_classes and candidate.path.startswith("/dev/"):
            return Claim(PRIORITY_KNOWN_ID, {"connection": "file", "port": candidate.path},
                         "USB printer class (07)")
        if candidate.bus != "serial":
            return None
        for baud in (115200, 9600, 19200, 38400):
            try:
                with serial.Serial(candidate.path, baud, timeout=0.3, write_timeout=0.3, exclusive=True) as port:
                    port.reset_input_buffer()
                    port.write(status_query(1))
                    reply = port.read(1)
                    more = port.read(port.in_waiting or 0) if reply else b""
                    if reply and not more and is_status_reply(reply[0]):
                        return Claim(PRIORITY_ANSWERED, {"connection": "serial", "port": candidate.path, "baud": baud},
                                     f"an ESC/POS printer answered DLE EOT 1 at {baud} baud")
            except (OSError, ValueError, termios.error):  # serial.SerialException is an OSError
                return None
        return None

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        o = options
        self.profile = profiles.resolve(o.profile, {k: getattr(o, k) for k in o.model_fields_set})
        caps = {"raster", "paper_sensor", "near_end_sensor", "cover_sensor"}
        caps |= {c for c in ("cjk_text", "native_qr", "cutter") if getattr(self.profile, c)}
        self.capabilities = frozenset(caps)
        self.width_dots = self.profile.width_dots
        self._link: _Link | None = None
        self._state = DeviceState.UNKNOWN
        self._status = PrinterStatus()
        self._last_query = 0.0
        self._unconfirmed = False  # a job whose GS r 1 answer never came: it may still arrive
        self._lock = threading.RLock()

    @property
    def _timeout(self) -> float:
        return self.options.status_timeout_ms / 1000

    # --- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        _cache_capabilities()
        from escpos.exceptions import DeviceNotFoundError
        from escpos.printer import File, Network, Serial

        self.close()
        o = self.options
        try:
            if o.connection == "serial":
                conn = Serial(devfile=o.port, baudrate=o.baud, timeout=self._timeout)
                conn.open()
                link: _Link = _SerialLink(conn)
            elif o.connection == "network":
                conn = Network(host=o.host, port=o.tcp_port, timeout=max(self._timeout, 3.0))
                conn.open()
                link = _NetworkLink(conn)
            else:
                conn = File(devfile=o.port)
                conn.open()
                try:
                    link = _FileLink(conn, o.port)
                except OSError:
                    conn.close()
                    raise
        except (DeviceNotFoundError, OSError) as exc:
            raise DeviceGone(f"{self.name}: cannot open printer: {exc}", zh=ZH["unknown"]) from exc
        self._link = link
        self.printer_status()

    def close(self) -> None:
        with self._lock:
            if self._link is not None:
                self._link.close()
            self._link = None
            self._state = DeviceState.UNKNOWN

    def state(self) -> DeviceState:
        return self._state

    def poll(self) -> None:
        if self._link is None:
            return
        if time.monotonic() - self._last_query >= self.status_every:
            self.printer_status()
            return
        # Between queries, take what is waiting: stray bytes go, and a port that vanished shows
        # now (EIO → DeviceGone) rather than at the next query.
        with self._lock, self._io():
            self._link.discard_input()

    # --- status --------------------------------------------------------------------------------

    def printer_status(self) -> PrinterStatus:
        with self._lock:
            st = self._query()
            self._set_status(st)
            return st

    def _query(self) -> PrinterStatus:
        self._last_query = time.monotonic()
        r1 = self._ask(1)
        if r1 is None:  # not answering at all: do not spend two more timeouts
            return PrinterStatus()
        device = parse_status(1, r1)["device"]
        w2 = parse_status(2, self._ask(2))
        paper = parse_status(4, self._ask(4))["paper"]
        if paper is PaperState.UNKNOWN and w2.get("paper") is PaperState.OUT:
            paper = PaperState.OUT
        if "device" in w2:  # error bit: ask for its cause
            device = parse_status(3, self._ask(3)).get("device", DeviceState.HARDWARE_ERROR)
        return PrinterStatus(device=device, paper=paper, cover=w2["cover"])

    def _ask(self, n: int) -> int | None:
        """One DLE EOT n round trip; None when no valid reply came within the timeout."""
        link = self._require_link()
        with self._io():
            link.discard_input()
            link.write(status_query(n), timeout=max(self._timeout, 1.0))
            deadline = time.monotonic() + self._timeout
            while True:
                b = link.read_byte(deadline)
                if b is None or is_status_reply(b):
                    return b
                # anything else is a stray byte (a late GS r 1 answer): keep listening

    def _set_status(self, st: PrinterStatus) -> None:
        changed = st != self._status or st.device != self._state
        self._status, self._state = st, st.device
        if changed:
            self.emit(StatusChanged(device=self.name, state=st.device,
                                    detail={"paper": st.paper.value, "cover": st.cover.value}))

    # --- printing ------------------------------------------------------------------------------

    def job_bytes(self, document: Document) -> bytes:
        """The encoded document followed by ``GS r 1``, exactly as ``print_document`` sends it."""
        pr = self.profile
        return encode(document, self.width_dots, cjk_text=pr.cjk_text, native_qr=pr.native_qr,
                      cutter=pr.cutter) + GS_R1

    def print_document(self, document: Document, job_id: str) -> None:
        o = self.options
        try:  # before touching the printer: a document that cannot be encoded is not a device fault
            data = self.job_bytes(document)
        except Exception as exc:  # qrcode's DataOverflowError, TypeError for a foreign element...
            raise DeviceError(f"job {job_id}: cannot encode document: {type(exc).__name__}: {exc}",
                              code="bad_document", zh=ZH["bad_document"]) from exc
        with self._lock:
            link = self._require_link()
            st = self._query()
            self._set_status(st)
            if not st.can_print:
                raise self._refusal(st, job_id)
            if self._unconfirmed:
                self._settle(job_id)
            transfer = len(data) * 10 / o.baud if o.connection == "serial" else 0.0
            with self._io():
                link.discard_input()
                try:
                    link.write(data, timeout=transfer * 2 + 5.0)
                except (serial.SerialTimeoutException, TimeoutError) as exc:
                    raise DeviceTimeout(f"job {job_id}: printer stopped taking data ({exc})",
                                        code="timeout", zh=ZH["timeout"], partial=True) from exc
            self._unconfirmed = True
            self._confirm(job_id, transfer)
            self._unconfirmed = False

    def _refusal(self, st: PrinterStatus, job_id: str) -> DeviceError:
        if st.paper is PaperState.OUT:
            code, why = "paper_out", "paper out"
        elif st.cover is CoverState.OPEN:
            code, why = "cover_open", "cover open"
        elif st.device in (DeviceState.OFFLINE, DeviceState.HARDWARE_ERROR):
            code, why = "offline", f"printer {st.device.value}"
        else:
            code, why = "unknown", "printer did not answer its status query"
        return DeviceError(f"job {job_id} refused: {why} ({st.device.value}, paper {st.paper.value}, "
                           f"cover {st.cover.value})", code=code, zh=ZH[code])

    def _settle(self, job_id: str) -> None:
        """Before the next job, flush a late GS r 1 answer of an unconfirmed one: otherwise it
        would "confirm" the new job before it printed. Answers come in order, so a lone GS r 1
        sent now is answered last; wait for the first answer, then for a short quiet spell."""
        link = self._require_link()
        with self._io():
            link.discard_input()
            link.write(GS_R1, timeout=max(self._timeout, 1.0))
            deadline = time.monotonic() + self.options.confirm_timeout_ms / 1000
            answered = False
            while True:
                b = link.read_byte(deadline)
                if b is None:
                    break
                if is_gs_r_reply(b):
                    answered = True
                    deadline = time.monotonic() + self._timeout
        if not answered:
            raise DeviceError(f"job {job_id} refused: the previous job was never confirmed and the "
                              "printer does not answer GS r 1", code="not_confirmed",
                              zh=ZH["previous_not_confirmed"])
        self._unconfirmed = False

    def _confirm(self, job_id: str, transfer: float) -> None:
        """Wait for the GS r 1 answer; probe DLE EOT 2 meanwhile to spot a stop mid-job."""
        link = self._require_link()
        start = time.monotonic()
        deadline = start + transfer + self.options.confirm_timeout_ms / 1000
        every = max(0.2, self._timeout)
        next_probe = start + transfer + every
        probing = False
        with self._io():
            while True:
                b = link.read_byte(min(deadline, next_probe))
                now = time.monotonic()
                if b is None:
                    if now >= deadline:
                        self._state = DeviceState.UNKNOWN
                        raise DeviceError(f"job {job_id}: not confirmed: no GS r 1 answer within "
                                          f"{deadline - start:.1f}s", code="not_confirmed",
                                          zh=ZH["not_confirmed"], partial=True)
                    if now >= next_probe:
                        link.write(status_query(2), timeout=max(self._timeout, 1.0))
                        probing, next_probe = True, now + every
                    continue
                if is_gs_r_reply(b):
                    self._set_status(PrinterStatus(DeviceState.ONLINE, parse_gs_r1(b), self._status.cover))
                    return
                if probing and is_status_reply(b):
                    probing = False
                    words = parse_status(2, b)
                    stop = ("paper_out" if words.get("paper") is PaperState.OUT else
                            "cover_open" if words["cover"] is CoverState.OPEN else None)
                    if stop:
                        self._set_status(self._query())
                        raise DeviceError(f"job {job_id}: printing stopped mid-job: {stop}",
                                          code=stop, zh=ZH[f"{stop}_mid_job"], partial=True)

    # --- helpers -------------------------------------------------------------------------------

    def _require_link(self) -> _Link:
        if self._link is None:
            raise DeviceGone(f"{self.name}: printer port is not open", zh=ZH["unknown"])
        return self._link

    @contextlib.contextmanager
    def _io(self):
        """OS errors on the port mean it vanished: DeviceGone, so the manager reopens it."""
        try:
            yield
        except DeviceError:
            raise
        except (serial.SerialTimeoutException, TimeoutError) as exc:
            raise DeviceTimeout(f"{self.name}: port timed out: {exc}", zh=ZH["timeout"]) from exc
        except (OSError, termios.error) as exc:  # OSError includes serial.SerialException
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(f"{self.name}: port error: {exc}", zh=ZH["unknown"]) from exc


def _cache_capabilities() -> None:
    """Where python-escpos keeps its parsed printer database. Left alone it parses the YAML
    (~220 ms) on every start and leaves a new temporary folder behind each time: give it a folder
    of our own that lasts. The cache is a pickle, so the folder must be ours alone (0700, owned by
    us); if no such folder can be had, the library's default stands."""
    if "escpos.capabilities" in sys.modules or "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (os.path.join(base, "hall-kiosk", "escpos"),
                   os.path.join(tempfile.gettempdir(), f"hall-kiosk-escpos-{os.getuid()}")):
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.makedirs(os.path.join(folder, "scratch"), mode=0o700, exist_ok=True)
            st = os.stat(folder, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077:
            break
    else:
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = folder
    # It makes a temporary folder on import even when told where to cache (an eager default
    # argument): let that one land in our scratch folder, and empty it.
    # The library rewrites the pickle in place (truncate, then dump) when it is older than the
    # YAML, as after an upgrade: another of our processes reading it meanwhile got EOFError. One
    # process at a time reads or writes it.
    scratch, saved = os.path.join(folder, "scratch"), tempfile.tempdir
    tempfile.tempdir = scratch
    lock = os.open(os.path.join(folder, "import.lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        import escpos.capabilities  # noqa: F401
    finally:
        os.close(lock)
        tempfile.tempdir = saved
        for name in os.listdir(scratch):
            shutil.rmtree(os.path.join(scratch, name), ignore_errors=True)
