"""A USB barcode/QR scanner in keyboard-wedge (HID keyboard) mode, read through Linux evdev.

The scanner types each code as key presses and ends it with a suffix key (Enter by default). The
driver finds its ``/dev/input/event*`` node by USB vendor/product id, or takes a configured
``/dev/input/by-id/...-event-kbd`` link, and grabs it (``EVIOCGRAB``): while grabbed the kernel
delivers the device's events only to us, so scanned keystrokes never reach the kiosk UI. It reads
the kernel's ``struct input_event`` records itself and types them on a US layout (drivers.hidscan.keys):
ASCII only; Chinese codes need the scanner in serial / USB CDC mode.

What ONLINE means: the node is open and grabbed, and reading it has not failed. A wedge answers
no questions, so a scanner whose decoder hung looks like one nobody uses: ``can_be_queried = False``.
Staff prove it reads with ``kiosk devices check --level interactive`` (scan any code).

A node that is a FIFO instead of a character device is read the same way without the ioctls
(grab, id): the tests feed it recorded ``input_event`` records where this machine has no uinput.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import stat
import time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from devices.codes import MAX_CODE_BYTES, payload_text, printable
from devices.contracts import (
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
from devices.events import CodeScanned, ErrorEvent
from devices.status import DeviceState
from drivers.hidscan.keys import (
    CONTROL_KEYS,
    EV_KEY,
    EV_SYN,
    EVENT,
    KEY_CAPSLOCK,
    KEY_DOWN,
    LAYOUT,
    OTHER_MODIFIERS,
    SHIFTS,
    SUFFIX_KEYS,
    SYN_DROPPED,
)

try:
    import evdev
except ImportError as exc:  # not installed, or its C extension failed to load
    evdev = None
    EVDEV_MISSING = f"python-evdev cannot be imported ({exc})"

log = logging.getLogger("kiosk.drivers.hidscan")

INPUT_DIR = "/dev/input"
_READ_SIZE = EVENT.size * 256
_MAX_READS = 64  # per poll: a flood of events must not keep the worker from its requests
_ZH_GONE = "扫码器未连接"


def _usb_id(value: Any) -> Any:
    """A USB id as lsusb prints it ("0c2e", "0x0c2e": always hex) or as a TOML int (0x0c2e)."""
    if isinstance(value, str):
        try:
            return int(value, 16)
        except ValueError:
            raise ValueError("must be a hex USB id such as \"0x0c2e\"") from None
    return value


UsbId = Annotated[int, Field(ge=0, le=0xFFFF), BeforeValidator(_usb_id)]  # bounds after parsing


class HidScanner(CodeScanner):
    class Options(DriverOptions):
        model_config = ConfigDict(strict=True)  # 1e23 or true for an int is an error (DriverOptions)
        device: DeviceName = ""  # /dev/input/by-id/usb-...-event-kbd; or the ids below
        vendor_id: UsbId | None = None
        product_id: UsbId | None = None
        suffix: Literal["enter", "tab", "none"] = "enter"  # the key that ends a code; none: gap_ms of quiet
        gap_ms: int = Field(200, ge=10, le=5000)  # a code is typed in one burst: a longer pause ends it

        @model_validator(mode="after")
        def _one_way_to_find_it(self):
            ids = (self.vendor_id is not None, self.product_id is not None)
            if bool(self.device) == any(ids) or (any(ids) and not all(ids)):
                raise ValueError("give either device or both vendor_id and product_id")
            return self

    can_be_queried: ClassVar[bool] = False
    poll_interval = 0.05  # reading a node is cheap; a citizen is waiting for the screen to react

    @classmethod
    def supported(cls, candidate: Candidate) -> Claim | None:
        """An input device with a scanner maker's USB vendor id (a scanner in keyboard mode)."""
        maker = SCANNER_VENDORS.get(candidate.vendor_id or -1) if candidate.bus == "input" else None
        if not maker:
            return None
        return Claim(PRIORITY_KNOWN_ID, {"vendor_id": f"0x{candidate.vendor_id:04x}",
                                         "product_id": f"0x{candidate.product_id or 0:04x}"},
                     f"USB id of a {maker} scanner in keyboard mode")

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        self.options: HidScanner.Options = options
        self._suffix = SUFFIX_KEYS[options.suffix]
        self._gap = options.gap_ms / 1000
        self._fd: int | None = None
        self._device: Any = None  # the evdev.InputDevice that holds the grab (None for a FIFO)
        self._path = ""
        self._state = DeviceState.UNKNOWN
        self._reset()

    def _reset(self) -> None:
        self._pending = b""  # the start of a record a read cut off (a FIFO; never a real node)
        self._text: list[str] = []
        self._skipping = False  # the code under way is already dropped: ignore it up to its end
        self._held: set[int] = set()
        self._caps = False
        self._last_key = 0.0  # kernel time stamp of the last key press
        self._last_read = 0.0  # time.monotonic() of the last read that brought events

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        self.close()
        path = self.options.device or self._find_by_id()
        self._fd, self._device = self._open_node(path)
        self._path = path
        self._state = DeviceState.ONLINE  # open and grabbed: all a send-only device can tell (module doc)

    def close(self) -> None:
        fd, device, self._fd, self._device = self._fd, self._device, None, None
        self._state = DeviceState.UNKNOWN
        self._reset()
        with contextlib.suppress(OSError):
            if device is not None:
                device.close()  # closing the handle ends its grab
            elif fd is not None:
                os.close(fd)

    def state(self) -> DeviceState:
        return self._state

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        """Only the node can be checked; ``kiosk devices check --level interactive`` waits for
        staff to scan a code, which is the check that proves the scanner reads."""
        ok = self._state is DeviceState.ONLINE
        held = "open and grabbed" if self._device is not None else "open (a FIFO: not grabbed)"
        return HealthReport(level, ok, self._state,
                            f"code scanner {self.name}: {self._path + ' ' + held if ok else 'not open'}; "
                            "a scanner cannot be asked for its status: scan a code (interactive check) to test it")

    def _find_by_id(self) -> str:
        want = f"USB id {self.options.vendor_id:04x}:{self.options.product_id:04x}"
        if evdev is None:
            raise DeviceGone(f"{EVDEV_MISSING}: cannot look for the scanner with {want}", zh=_ZH_GONE)
        if not os.path.isdir(INPUT_DIR):
            raise DeviceGone(f"{INPUT_DIR} does not exist on this machine (no input devices): "
                             f"cannot look for the scanner with {want}", zh=_ZH_GONE)
        nodes = sorted(glob.glob(os.path.join(INPUT_DIR, "event*")))
        unreadable = 0
        for node in nodes:
            try:
                dev = evdev.InputDevice(node, readonly=True)
            except PermissionError:
                unreadable += 1
                continue
            except OSError:  # gone since the listing, or not an evdev node
                continue
            try:
                found = ((dev.info.vendor, dev.info.product) == (self.options.vendor_id, self.options.product_id)
                         and not LAYOUT.keys().isdisjoint(dev.capabilities().get(EV_KEY, ())))
            finally:
                dev.close()
            if found:  # its keyboard interface: a scanner may also show a mouse or consumer-keys node
                return node
        hint = (f"; {unreadable} of them not readable by this user (add it to the 'input' group)"
                if unreadable else "; is the scanner plugged in and in keyboard (HID) mode?")
        raise DeviceGone(f"no keyboard device with {want} among {len(nodes)} nodes in {INPUT_DIR}{hint}",
                         zh=_ZH_GONE)

    @staticmethod
    def _open_node(path: str) -> tuple[int, Any]:
        """(fd, evdev.InputDevice holding the grab) for an input node; (fd, None) for a FIFO."""
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise DeviceGone(f"no such device: {path} (unplugged? see ls -l /dev/input/by-id)",
                             zh=_ZH_GONE) from None
        except OSError as exc:
            raise DeviceGone(f"cannot reach {path}: {exc.strerror}", zh=_ZH_GONE) from exc
        if stat.S_ISFIFO(mode):
            return os.open(path, os.O_RDONLY | os.O_NONBLOCK), None
        if not stat.S_ISCHR(mode):
            raise DeviceGone(f"{path} is not an input device node", zh=_ZH_GONE)
        if evdev is None:
            raise DeviceGone(f"{EVDEV_MISSING}: cannot grab {path}", zh=_ZH_GONE)
        try:
            device = evdev.InputDevice(path, readonly=True)
        except PermissionError:
            raise DeviceGone(f"cannot open {path}: permission denied (add the kiosk user to the "
                             "'input' group)", zh=_ZH_GONE) from None
        except OSError as exc:  # ENOTTY: a character device that is not an evdev node
            raise DeviceGone(f"{path} is not an input event device ({exc.strerror})", zh=_ZH_GONE) from exc
        try:
            device.grab()
        except OSError as exc:
            device.close()
            busy = " (another program holds it: a desktop session, a second kiosk?)" if exc.errno == errno.EBUSY else ""
            raise DeviceGone(f"cannot grab {path}: {exc.strerror}{busy}", zh=_ZH_GONE) from exc
        return device.fd, device

    # ------------------------------------------------------------ reading

    def poll(self) -> None:
        if self._fd is None:
            raise DeviceGone("scanner is not open", zh=_ZH_GONE)
        data = self._pending
        for _ in range(_MAX_READS):
            try:
                chunk = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:  # unplugged: the node answers ENODEV
                self._state = DeviceState.NO_DEVICE
                raise DeviceGone(f"{self._path}: {exc.strerror}", zh="扫码器已断开") from exc
            if not chunk:  # an evdev node never ends; a FIFO does when its writer goes
                self._state = DeviceState.NO_DEVICE
                raise DeviceGone(f"{self._path}: end of input (unplugged)", zh="扫码器已断开")
            data += chunk
        whole = len(data) - len(data) % EVENT.size
        self._pending = data[whole:]
        if whole:
            self._last_read = time.monotonic()
            for sec, usec, etype, code, value in EVENT.iter_unpack(data[:whole]):
                self._event(sec + usec / 1e6, etype, code, value)
        elif (self._text or self._skipping) and time.monotonic() - self._last_read > self._gap:
            self._end_by_gap()

    def _event(self, at: float, etype: int, code: int, value: int) -> None:
        if etype == EV_SYN and code == SYN_DROPPED:
            self._drop("the kernel dropped events (reader too slow)")
            self._held.clear()  # a release may be among the lost events
            self._last_key = at  # what follows is skipped up to a suffix, or gap_ms from here
            return
        if etype != EV_KEY:  # scan codes (EV_MSC), LEDs, reports' ends (SYN_REPORT)
            return
        if code in SHIFTS or code in OTHER_MODIFIERS:
            (self._held.add if value else self._held.discard)(code)
            return
        if value != KEY_DOWN:  # a release, or auto-repeat (2) of a key held down: it typed once
            return
        if (self._text or self._skipping) and at - self._last_key > self._gap:
            self._end_by_gap()
        self._last_key = at
        self._press(code)

    def _press(self, code: int) -> None:
        if code in self._suffix:
            self._finish()
            return
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return
        if self._skipping:
            return
        char = self._char(code)
        if char is None:
            self._drop(f"key {_key_name(code)} types no character on a US layout")
        elif len(self._text) >= MAX_CODE_BYTES:  # ASCII: one byte a character
            self._drop(f"longer than {MAX_CODE_BYTES} bytes")
        else:
            self._text.append(char)

    def _char(self, code: int) -> str | None:
        if not self._held.isdisjoint(OTHER_MODIFIERS):
            return None  # Ctrl/Alt/Meta + key: a shortcut
        if code in CONTROL_KEYS:
            return CONTROL_KEYS[code]
        if code not in LAYOUT:
            return None
        plain, shifted = LAYOUT[code]
        shift = not self._held.isdisjoint(SHIFTS)
        if plain.isalpha():
            shift ^= self._caps
        return shifted if shift else plain

    def _finish(self) -> None:
        text, skipped = "".join(self._text), self._skipping
        self._text.clear()
        self._skipping = False
        if text and not skipped:
            data = text.encode()
            log.debug("%s: code of %d bytes: %s", self.name, len(data), printable(text, 12))
            self.emit(CodeScanned(device=self.name, data=data, text=payload_text(data)))

    def _end_by_gap(self) -> None:
        if self.options.suffix == "none":
            self._finish()
            return
        if self._text and not self._skipping:
            self._drop(f"no {self.options.suffix} key within gap_ms")
        self._text.clear()
        self._skipping = False

    def _drop(self, why: str) -> None:
        """The code under way is not the code that was printed: report it once, skip to its end."""
        if not self._skipping:
            self.emit(ErrorEvent(device=self.name, code="garbled", will_retry=True,
                                 message=f"code dropped after {len(self._text)} characters: {why}",
                                 message_zh="扫码数据不完整，请重新扫码"))
        self._text.clear()
        self._skipping = True


def _key_name(code: int) -> str:
    name = evdev.ecodes.KEY.get(code) if evdev is not None else None
    if isinstance(name, list | tuple):  # aliases share a code
        name = name[0]
    return f"{name or 'code'} ({code})"
