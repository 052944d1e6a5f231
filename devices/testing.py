"""Conformance kit for device drivers: plain pytest, no Kivy, no hardware.

A driver package proves itself against the contracts in ``devices.contracts`` by subclassing
``DriverConformance`` in one of its test files and handing it a ``Harness`` for its emulator::

    from devices.testing import DriverConformance
    from my_vendor_reader.harness import ReaderHarness

    class TestMyReader(DriverConformance):
        driver = "my-reader"  # the entry point's name in the group kiosk.drivers

        def make_harness(self, link_path):
            return ReaderHarness(link_path)

pytest then collects the kit's checks in that class. They load the driver through its entry point
(so the packaging is tested too), talk to the emulator over the real OS interface, and run the
driver both alone and under a ``DeviceManager``, as the kiosk does. Every wait is bounded by the
constants below; they are the contract, not tuning knobs. One driver's kit runs in seconds.

Not every device is a serial port behind a symlink. The kit only ever hands the harness a path
(``link_path``, and a path where nothing is for ``test_unknown_port``) and configures the driver
with ``harness.options(path)``; what that path stands for is the harness's business. A pty device
keeps a symlink there (``PtyHarness``); an evdev node or a camera can do the same with its
``/dev/input/eventN`` or ``/dev/videoN``; a device with no path at all (a PC/SC reader, found by
name through pcscd) maps the kit's path to what the driver is configured with, e.g. a reader-name
pattern, and any other path to one that finds nothing, so that ``test_unknown_port`` still proves
that a device that is not there gives ``DeviceGone``.

A harness method whose fault the device or its emulation cannot produce calls
``pytest.skip(reason)``: ``trigger()`` for a device with no data events (the checks that need one
check everything else), ``garbage()`` for a device with no byte stream to the driver,
``silence()`` for a device that cannot be made mute. The check that called it is reported as
skipped with that reason; no other check is affected.
"""

from __future__ import annotations

import contextlib
import os
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import pytest
from pydantic import ValidationError

from devices import registry
from devices.contracts import PRIORITY_FALLBACK, Candidate, Driver, HealthLevel
from devices.errors import DeviceError, DeviceGone
from devices.events import (
    CardInserted,
    CodeScanned,
    ErrorEvent,
    Event,
    IdentityRead,
    RequestDone,
    StatusChanged,
)
from devices.manager import DeviceConfigError, DeviceManager, build_driver
from devices.printdoc import Cut, Document, Text
from devices.status import DeviceState

ONLINE_WITHIN = 5.0  # s from start (or replug, or the device answering again) to ONLINE
GONE_WITHIN = 2.0  # s from unplug to NO_DEVICE
EVENT_WITHIN = 5.0  # s from trigger() to its data event
REQUEST_TIMEOUT = 3.0  # s given to a request; its answer must come within this + 2 s
SETTLE = 1.0  # s left after garbage before the next step
PROBE_WITHIN = 3.0  # s a driver's supported() may take for one candidate
DATA_EVENTS = (IdentityRead, CodeScanned, CardInserted)
# Line noise with no CR/LF and no complete frame in it: 00/FF runs, a SAM_V preamble and a cut-off
# header, ESC/POS bytes (DLE EOT 1, ESC @), DEL and a lone high byte.
GARBAGE = (b"\x00\xff\xfe\x55\xaa\xaa\xaa\x96\x69\x00\x40\x10\x04\x01\x1b\x40\x7f\x80"
           + b"\x00" * 8 + b"\xff" * 8)
DEVICE = "dut"  # the device name the kit configures


@runtime_checkable
class Harness(Protocol):
    """The test side of one emulated device, reached by the driver through a stable port path.

    The kit gives the harness ``link_path`` (a path in a temporary folder) when it makes it. A
    device with a port keeps a symlink there to its emulator's current port (use ``point_link`` /
    ``remove_link``), as udev keeps ``/dev/serial/by-id/usb-...`` pointing at whichever
    ``/dev/ttyUSBn`` the device got this time. Unplugging removes the link and stops the port
    behind it; plugging in again makes a new port and points the link at it. The driver is only
    ever configured with the link, so it has to survive its port changing underneath it.

    A device the driver finds without a path (a PC/SC reader by its name) ignores the link and
    maps ``link_path`` to its own address in ``options()``; unplugging then makes the device
    vanish the way the driver would see on hardware.

    The kit calls ``plug()`` once before each check and ``close()`` after it. ``trigger()``,
    ``garbage()`` and ``silence()`` may call ``pytest.skip(reason)`` when the device cannot do
    that; the check is then reported skipped (see the module's docstring).
    """

    def options(self, port_path: str) -> dict[str, Any]:
        """The driver's options (without "driver") for a device at ``port_path``, as a hall's
        config would give them. ``port_path`` is ``link_path`` or, for ``test_unknown_port``, a
        path where no device is: the options for it must find no device, whatever the driver is
        configured with (a port, a reader-name pattern). Keep its timeouts short (a few hundred
        ms): the kit's bounds assume that a request to a silent device fails in well under
        REQUEST_TIMEOUT."""
        ...

    def plug(self) -> None:
        """Start the emulator (answering, nothing pending) and point the link at its port."""
        ...

    def unplug(self) -> None:
        """Remove the link and stop the emulator: to the driver the port vanishes (EIO, ENOENT),
        or the device is no longer found where ``options()`` points."""
        ...

    def silence(self, on: bool) -> None:
        """The device stops answering (True) or answers again (False); the port stays.
        Stays in force across unplug/plug. ``pytest.skip(reason)`` when the device (or its
        emulation) cannot be silenced: the status-honesty and timeout checks are then skipped."""
        ...

    def garbage(self, data: bytes) -> None:
        """The device sends ``data`` unsolicited, as line noise or confused firmware would.
        ``pytest.skip(reason)`` when the device has no byte stream to the driver."""
        ...

    def trigger(self) -> None:
        """Make the device produce exactly one data event (IdentityRead, CodeScanned or
        CardInserted): place a different card, scan a code. A device that produces none (a
        printer) calls ``pytest.skip(...)``; the kit then checks everything else."""
        ...

    def close(self) -> None:
        """Stop the emulator and remove the link; safe after unplug() and when called twice."""
        ...


def point_link(link: str | os.PathLike, target: str) -> None:
    """Point ``link`` at ``target`` in one step (a new symlink renamed over the old one), so the
    driver never sees a half-made link."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}.new")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)


def remove_link(link: str | os.PathLike) -> None:
    with contextlib.suppress(FileNotFoundError):
        Path(link).unlink()


class PtyHarness:
    """Most of a ``Harness`` for an emulator that serves a pty: the link, plugging, silence, garbage.

    A subclass says how to make its emulator (``make_emulator``; the emulator has ``port``,
    ``close()`` and ``send_garbage(data)``), its driver ``options``, and ``trigger``. Silence is
    the emulator's ``silent`` attribute unless ``set_silent`` says otherwise.
    """

    def __init__(self, link_path: str | os.PathLike):
        self.link = link_path
        self.emulator: Any = None
        self._silent = False

    def make_emulator(self) -> Any:
        raise NotImplementedError

    def set_silent(self, emulator: Any, on: bool) -> None:
        emulator.silent = on

    def options(self, port_path: str) -> dict[str, Any]:
        raise NotImplementedError

    def trigger(self) -> None:
        raise NotImplementedError

    def plug(self) -> None:
        self.emulator = self.make_emulator()
        self.set_silent(self.emulator, self._silent)  # silence stays in force across a replug
        point_link(self.link, self.emulator.port)

    def unplug(self) -> None:
        remove_link(self.link)
        emulator, self.emulator = self.emulator, None
        if emulator is not None:
            emulator.close()

    def silence(self, on: bool) -> None:
        self._silent = on
        if self.emulator is not None:
            self.set_silent(self.emulator, on)

    def garbage(self, data: bytes) -> None:
        assert self.emulator is not None, "garbage() while unplugged"
        self.emulator.send_garbage(data)

    def close(self) -> None:
        self.unplug()


class _Watch:
    """Collects a running manager's events in order and waits for one with a deadline."""

    def __init__(self, manager: DeviceManager):
        self.manager = manager
        self.events: list[Event] = []

    def pump(self) -> None:
        self.events += self.manager.drain()

    def mark(self) -> int:
        self.pump()
        return len(self.events)

    def wait(self, match: Callable[[Event], bool], within: float, what: str, since: int = 0) -> Event:
        deadline = time.monotonic() + within
        while True:
            self.pump()
            found = next((e for e in self.events[since:] if match(e)), None)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                pytest.fail(f"{what}: not seen within {within:.1f} s; events: {self.describe(since)}")
            time.sleep(0.02)

    def idle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump()
            time.sleep(0.02)
        self.pump()

    def answer(self, request_id: str, within: float) -> RequestDone:
        done = self.wait(lambda e: isinstance(e, RequestDone) and e.request_id == request_id,
                         within, f"answer to request {request_id[:8]}")
        assert isinstance(done, RequestDone)
        return done

    def describe(self, since: int = 0) -> str:
        return "; ".join(_short(e) for e in self.events[since:]) or "none"


def _short(e: Event) -> str:
    if isinstance(e, StatusChanged):
        return f"StatusChanged({e.state.value})"
    if isinstance(e, ErrorEvent):
        return f"ErrorEvent({e.code}: {e.message})"
    if isinstance(e, RequestDone):
        return f"RequestDone({e.action}, ok={e.ok}, {e.error})"
    return type(e).__name__


def _is_state(state: DeviceState) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, StatusChanged) and e.state is state


def _is_tty(path: str | os.PathLike) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return os.isatty(fd)
    finally:
        os.close(fd)


def _is_data(e: Event) -> bool:
    return isinstance(e, DATA_EVENTS)


def _crashes(events: list[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, ErrorEvent) and e.code == "driver_crash"]


class DriverConformance:
    """The kit's checks. Subclass it as ``Test...`` with ``driver`` and ``make_harness``.

    Optional overrides: ``device_request()`` when your kind's request that needs the device is
    not the default one, and ``garbage_bytes`` when your protocol needs other noise.

    A driver whose device cannot be asked anything (a scanner that only sends) declares
    ``can_be_queried = False`` on its class; the status-honesty checks are then skipped, because
    for such a device a silent unit and an idle one look the same. Its docs must say what its
    ONLINE means.
    """

    driver: ClassVar[str] = ""
    garbage_bytes: ClassVar[bytes] = GARBAGE

    def make_harness(self, link_path: Path) -> Harness:
        """Return the harness for your emulator, keeping its port link at ``link_path`` (or
        mapping that path to the device in ``options()`` when the device has no path)."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_harness(link_path)")

    def device_request(self, kind: str) -> tuple[str, dict[str, Any]] | None:
        """An action only the device itself can complete: the timeout check sends it to a
        silenced device. None when the kind has none (the check is then skipped)."""
        if kind in ("id_reader", "card_reader"):
            return "read", {}
        if kind == "printer":
            slip = Document("conformance", (Text("conformance"), Cut()))
            return "print", {"document": slip, "job_id": "conformance-1"}
        return None

    # ---------------------------------------------------------------------- fixtures, helpers

    @pytest.fixture
    def link(self, tmp_path: Path) -> Path:
        return tmp_path / "by-id-port"

    @pytest.fixture
    def harness(self, link: Path) -> Iterator[Harness]:
        if not self.driver:
            pytest.fail(f"{type(self).__name__}.driver must name an entry point in {registry.GROUP}")
        h = self.make_harness(link)
        try:
            h.plug()
            yield h
        finally:
            h.close()

    def _driver_class(self) -> type[Driver]:
        try:
            return registry.load(self.driver)
        except registry.DriverNotFound as exc:
            pytest.fail(str(exc))

    def _build(self, harness: Harness, port: str | os.PathLike, events: list[Event]) -> Driver:
        return build_driver(DEVICE, {"driver": self.driver, **harness.options(str(port))}, events.append)

    def _require_queryable(self) -> None:
        cls = self._driver_class()
        if not cls.can_be_queried:
            pytest.skip(f"{self.driver} declares can_be_queried = False: the device cannot be asked "
                        "whether it is there, so a silent unit looks like an idle one")

    @contextlib.contextmanager
    def _running(self, harness: Harness, link: Path) -> Iterator[_Watch]:
        """A DeviceManager with the driver as device DEVICE, started and seen ONLINE."""
        manager = DeviceManager({DEVICE: {"driver": self.driver, **harness.options(str(link))}})
        watch = _Watch(manager)
        manager.start()
        try:
            watch.wait(_is_state(DeviceState.ONLINE), ONLINE_WITHIN, "StatusChanged(online) after start")
            yield watch
            self._check_well_formed(watch.events)
        finally:
            manager.stop()

    @staticmethod
    def _check_well_formed(events: list[Event]) -> None:
        assert all(e.device == DEVICE for e in events), \
            f"events must carry the device name {DEVICE!r}: {[(type(e).__name__, e.device) for e in events]}"
        stamps = [e.at for e in events]
        assert stamps == sorted(stamps), "event timestamps must be monotonic and in emission order"
        assert not _crashes(events), f"the driver crashed: {[e.message for e in _crashes(events)]}"

    def _trigger_one(self, harness: Harness, watch: _Watch) -> bool:
        """trigger() → exactly one data event, then quiet. False when the device has no data events."""
        poll = watch.manager.workers[DEVICE].driver.poll_interval
        since = watch.mark()
        try:
            harness.trigger()
        except pytest.skip.Exception:
            return False
        watch.wait(_is_data, EVENT_WITHIN, "data event after trigger()", since)
        watch.idle(max(0.5, 3 * poll))
        data = [e for e in watch.events[since:] if _is_data(e)]
        assert len(data) == 1, f"trigger() must yield exactly one data event: {watch.describe(since)}"
        return True

    # ---------------------------------------------------------------------- the checks

    def test_lifecycle(self, harness: Harness, link: Path) -> None:
        """Built from its entry point; UNKNOWN before open; close twice is safe; reopen works."""
        cls = self._driver_class()
        events: list[Event] = []
        drv = self._build(harness, link, events)
        assert isinstance(drv, cls)
        assert isinstance(drv.capabilities, frozenset)
        assert drv.state() is DeviceState.UNKNOWN, "before open() nothing is known: state must be UNKNOWN"
        drv.open()
        try:
            assert drv.state() is DeviceState.ONLINE, "an answering device must be ONLINE after open()"
            drv.close()
            drv.close()
            assert drv.state() is not DeviceState.ONLINE, "a closed driver knows nothing: not ONLINE"
            drv.open()
            assert drv.state() is DeviceState.ONLINE, "open() after close() must work"
        finally:
            drv.close()

    def test_status_honesty_silent_device(self, harness: Harness, link: Path) -> None:
        """A device that never answers is never ONLINE and fails the internal health check."""
        self._require_queryable()
        harness.silence(True)
        events: list[Event] = []
        drv = self._build(harness, link, events)
        try:
            try:
                drv.open()  # may raise DeviceError; it must not claim the device
            except DeviceError:
                assert drv.state() is not DeviceState.ONLINE
                return
            assert drv.state() is not DeviceState.ONLINE, "silent device reported ONLINE after open()"
            with contextlib.suppress(DeviceGone):
                for _ in range(3):
                    drv.poll()
                    assert drv.state() is not DeviceState.ONLINE, "silent device reported ONLINE by poll()"
            report = drv.check_health(HealthLevel.INTERNAL, {})
            assert not report.ok, f"internal health check of a silent device said ok: {report.text}"
            lies = [e for e in events if isinstance(e, StatusChanged) and e.state is DeviceState.ONLINE]
            assert not lies, "the driver emitted StatusChanged(online) for a device that never answered"
        finally:
            drv.close()

    def test_status_honesty_device_goes_silent(self, harness: Harness, link: Path) -> None:
        """An ONLINE device that stops answering leaves ONLINE; when it answers again, it is back."""
        self._require_queryable()
        with self._running(harness, link) as watch:
            since = watch.mark()
            harness.silence(True)
            watch.wait(lambda e: isinstance(e, StatusChanged) and e.state is not DeviceState.ONLINE,
                       ONLINE_WITHIN, "leaving ONLINE after the device went silent", since)
            done = watch.answer(watch.manager.request(DEVICE, "check", timeout=REQUEST_TIMEOUT),
                                REQUEST_TIMEOUT + 2)
            assert done.ok and not done.result.ok, f"internal check of a silent device: {done}"
            since = watch.mark()
            harness.silence(False)
            watch.wait(_is_state(DeviceState.ONLINE), ONLINE_WITHIN, "ONLINE once the device answers again",
                       since)

    def test_unknown_port(self, harness: Harness, tmp_path: Path) -> None:
        """A device that is not there (a port path to nothing, as ``options()`` maps it): open()
        raises DeviceGone, close() is still safe."""
        drv = self._build(harness, tmp_path / "no-such-port", [])
        with pytest.raises(DeviceGone):
            drv.open()
        assert drv.state() is not DeviceState.ONLINE
        drv.close()
        drv.close()

    def test_event_order(self, harness: Harness, link: Path) -> None:
        """StatusChanged(online) before any data event; names and stamps; one event per trigger."""
        # Triggered before the manager starts: a card already on the reader must still be
        # reported after ONLINE, never before (a scanned code is simply lost, as on hardware).
        with contextlib.suppress(pytest.skip.Exception):
            harness.trigger()
        with self._running(harness, link) as watch:
            watch.idle(max(0.5, 3 * watch.manager.workers[DEVICE].driver.poll_interval))
            online = next(i for i, e in enumerate(watch.events) if _is_state(DeviceState.ONLINE)(e))
            early = [e for e in watch.events[:online] if _is_data(e)]
            assert not early, f"data event before StatusChanged(online): {watch.describe()}"
            self._trigger_one(harness, watch)

    def test_timeouts(self, harness: Harness, link: Path) -> None:
        """A request to a silent device is answered (not ok) in time; the worker keeps serving."""
        request = self.device_request(self._driver_class().kind)
        if request is None:
            pytest.skip(f"no request of a {self._driver_class().kind} needs the device to answer")
        action, args = request
        with self._running(harness, link) as watch:
            harness.silence(True)
            started = time.monotonic()
            done = watch.answer(watch.manager.request(DEVICE, action, timeout=REQUEST_TIMEOUT, **args),
                                REQUEST_TIMEOUT + 2)
            assert not done.ok, f"{action!r} to a silent device succeeded: {done}"
            assert time.monotonic() - started <= REQUEST_TIMEOUT + 2
            done = watch.answer(watch.manager.request(DEVICE, "check", timeout=REQUEST_TIMEOUT),
                                REQUEST_TIMEOUT + 2)
            assert done.ok, f"the worker stopped serving after a request timed out: {done}"

    def test_recovery(self, harness: Harness, link: Path) -> None:
        """Unplug → NO_DEVICE, no crash; plug → ONLINE again, serving, without a manager restart."""
        with self._running(harness, link) as watch:
            since = watch.mark()
            harness.unplug()
            watch.wait(_is_state(DeviceState.NO_DEVICE), GONE_WITHIN, "NO_DEVICE after unplug", since)
            assert not _crashes(watch.events), f"unplug crashed the driver: {watch.describe(since)}"
            since = watch.mark()
            harness.plug()
            watch.wait(_is_state(DeviceState.ONLINE), ONLINE_WITHIN, "ONLINE after plugging back in", since)
            done = watch.answer(watch.manager.request(DEVICE, "check", timeout=REQUEST_TIMEOUT),
                                REQUEST_TIMEOUT + 2)
            assert done.ok and done.result.ok, f"internal check after replug: {done}"
            self._trigger_one(harness, watch)

    def test_garbage(self, harness: Harness, link: Path) -> None:
        """Unsolicited junk bytes: no crash, the device stays usable, the next trigger() works."""
        with self._running(harness, link) as watch:
            harness.garbage(self.garbage_bytes)
            watch.idle(SETTLE)
            done = watch.answer(watch.manager.request(DEVICE, "check", timeout=REQUEST_TIMEOUT),
                                REQUEST_TIMEOUT + 2)
            assert done.ok and done.result.ok, f"internal check after garbage: {done}"
            self._trigger_one(harness, watch)

    def test_card_presence(self, harness: Harness, link: Path) -> None:
        """A reader tells presence, not only arrivals: ``announce`` reports a card left on it again."""
        kind = self._driver_class().kind
        if kind not in ("id_reader", "card_reader"):
            pytest.skip(f"a {kind} has no cards")
        with self._running(harness, link) as watch:
            if not self._trigger_one(harness, watch):
                pytest.skip("trigger() places no card")
            since = watch.mark()
            done = watch.answer(watch.manager.request(DEVICE, "announce", timeout=REQUEST_TIMEOUT),
                                REQUEST_TIMEOUT + 2)
            assert done.ok and done.result, f"announce with a card on the reader: {done}"
            watch.idle(SETTLE)
            data = [e for e in watch.events[since:] if _is_data(e)]
            assert len(data) == 1, f"announce must report the card on the reader once: {watch.describe(since)}"

    def test_options_schema(self, harness: Harness, link: Path) -> None:
        """The harness's options validate; an unknown key is a ValidationError, not ignored."""
        cls = self._driver_class()
        good = harness.options(str(link))
        cls.Options(**good)
        with pytest.raises(ValidationError):
            cls.Options(**good, no_such_option=1)
        with pytest.raises(DeviceConfigError, match="no_such_option"):
            build_driver(DEVICE, {"driver": self.driver, **good, "no_such_option": 1}, lambda e: None)

    def test_probe(self, harness: Harness, link: Path) -> None:
        """``supported()`` claims no foreign device above a fallback: a serial port whose device
        neither answers nor sends (an idle scanner in virtual-COM mode) and a port path where
        nothing is; each within PROBE_WITHIN. A claim of the driver's own device, when its port is
        a tty, gives options the driver accepts."""
        cls = self._driver_class()
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            for cand in (Candidate("serial", os.ttyname(slave), given=True),
                         Candidate("serial", str(link) + "-nothing", given=True)):
                start = time.monotonic()
                claim = cls.supported(cand)
                took = time.monotonic() - start
                assert took < PROBE_WITHIN, f"supported({cand.path}) took {took:.1f} s"
                assert claim is None or claim.priority <= PRIORITY_FALLBACK, \
                    f"{self.driver} claims a device that is not its own ({cand.path}): {claim}"
        finally:
            os.close(master)
            os.close(slave)
        if _is_tty(link):
            claim = cls.supported(Candidate("serial", str(link), given=True))
            if claim is not None:
                cls.Options(**claim.options)
