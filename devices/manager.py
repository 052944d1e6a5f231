"""DeviceManager: owns every configured device, one worker thread each.

Screens and journeys ask for "print this" or "read now" by device name; the manager queues the
request to that device's worker and answers with a RequestDone event carrying the request id.
All events reach the application through one thread-safe queue that the UI drains on its clock.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from devices import registry
from devices.contracts import Driver, option_error
from devices.errors import DeviceError, DeviceGone
from devices.events import ErrorEvent, Event, RequestDone, StatusChanged
from devices.status import DeviceState

log = logging.getLogger("kiosk.devices")


class DeviceConfigError(ValueError):
    pass


@dataclass
class _Request:
    id: str
    action: str
    args: dict[str, Any]


class DeviceWorker(threading.Thread):
    """Runs one driver: opens it, polls it, serves its requests, reopens it after it vanishes."""

    def __init__(self, driver: Driver, emit, backoff: tuple[float, float] = (0.2, 2.0)):
        super().__init__(name=f"device-{driver.name}", daemon=True)
        self.driver = driver
        self._emit = emit
        # Events the driver sends go through the worker, so a status the driver reported itself
        # (with detail such as paper and cover) is not repeated without that detail.
        driver._emit = self._relay
        self.requests: queue.Queue[_Request] = queue.Queue()
        self._halt = threading.Event()
        self._backoff_min, self._backoff_max = backoff
        self._opened = False
        self.state = DeviceState.UNKNOWN

    def _relay(self, event: Event) -> None:
        if isinstance(event, StatusChanged):
            self.state = event.state
        self._emit(event)

    def _set_state(self, state: DeviceState, **detail: str) -> None:
        if state != self.state or detail:
            self.state = state
            self._emit(StatusChanged(device=self.driver.name, state=state, detail=detail))

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        delay = self._backoff_min
        while not self._halt.is_set():
            try:
                if not self._opened:
                    self._opened = True  # so that a failing open() is closed again below
                    self.driver.open()
                    delay = self._backoff_min
                    self._set_state(self.driver.state())
                self._serve_one()
                continue
            except DeviceGone as exc:
                log.log(logging.WARNING if self.state is not DeviceState.NO_DEVICE else logging.DEBUG,
                        "%s: no device: %s", self.driver.name, exc)
                self._close()
                self._set_state(DeviceState.NO_DEVICE)
                self._fail_pending(exc)
            except DeviceError as exc:  # the device answered, but wrongly: report it, keep trying
                log.warning("%s: %s", self.driver.name, exc)
                self._emit(ErrorEvent(device=self.driver.name, code=exc.code, message=str(exc),
                                      message_zh=exc.zh, will_retry=True))
                self._set_state(self.driver.state())
            except Exception as exc:  # a driver bug, in open() or later, must not take the app down
                log.exception("%s: driver failed", self.driver.name)
                self._emit(ErrorEvent(device=self.driver.name, code="driver_crash",
                                      message=f"{type(exc).__name__}: {exc}", will_retry=True))
                self._close()
                self._set_state(DeviceState.HARDWARE_ERROR)
                self._fail_pending(DeviceError(f"{type(exc).__name__}: {exc}", zh="设备故障"))
            self._halt.wait(delay)
            delay = min(delay * 2, self._backoff_max)
        self._close()

    def _serve_one(self) -> None:
        try:
            req = self.requests.get(timeout=self.driver.poll_interval)
        except queue.Empty:
            self.driver.poll()
            self._set_state(self.driver.state())
            return
        try:
            result = self.driver.handle(req.action, req.args)
        except DeviceGone as exc:
            self._complete_error(req, exc)
            raise
        except DeviceError as exc:
            self._complete_error(req, exc)
            self._set_state(self.driver.state())
            return
        except Exception as exc:
            self._complete_error(req, DeviceError(f"{type(exc).__name__}: {exc}", zh="设备故障"))
            raise
        self._emit(RequestDone(device=self.driver.name, request_id=req.id, action=req.action,
                               ok=True, result=result))
        self._set_state(self.driver.state())

    def _complete_error(self, req: _Request, exc: DeviceError) -> None:
        self._emit(RequestDone(device=self.driver.name, request_id=req.id, action=req.action,
                               ok=False, error=str(exc), error_zh=exc.zh,
                               code=exc.code, partial=exc.partial))

    def _fail_pending(self, exc: DeviceError) -> None:
        # A request waiting on an absent device is answered now rather than left to time out.
        while True:
            try:
                req = self.requests.get_nowait()
            except queue.Empty:
                return
            self._complete_error(req, DeviceError(f"device not available: {exc}", zh="设备未连接"))

    def _close(self) -> None:
        if self._opened:
            try:
                self.driver.close()
            except Exception:
                log.exception("%s: close failed", self.driver.name)
        self._opened = False


class DeviceManager:
    DEFAULT_TIMEOUT = 30.0  # seconds a request may take before it is answered as timed out

    def __init__(self, devices_config: dict[str, dict[str, Any]], backoff: tuple[float, float] = (0.2, 2.0)):
        self.events: queue.Queue[Event] = queue.Queue()
        self.workers: dict[str, DeviceWorker] = {}
        self.drivers: dict[str, str] = {}
        self._deadlines: dict[str, tuple[float, str, str]] = {}  # request id -> (deadline, device, action)
        self._lock = threading.Lock()
        self._backlog: list[Event] = []  # events drained by call() that belong to the caller of drain()
        self.started = False
        for name, table in devices_config.items():
            driver = build_driver(name, table, self.events.put)
            self.drivers[name] = table["driver"]
            self.workers[name] = DeviceWorker(driver, self.events.put, backoff)

    def start(self) -> None:
        self.started = True
        for w in self.workers.values():
            w.start()

    def stop(self, timeout: float = 3.0) -> None:
        for w in self.workers.values():
            w.stop()
        deadline = time.monotonic() + timeout
        for w in self.workers.values():
            if w.is_alive():
                w.join(max(0.0, deadline - time.monotonic()))

    def state(self, name: str) -> DeviceState:
        return self.workers[name].state

    def first_of_kind(self, kind: str) -> str | None:
        return next((n for n, w in self.workers.items() if w.driver.kind == kind), None)

    def request(self, name: str, action: str, timeout: float | None = None, **args: Any) -> str:
        """Queue an action for a device; its RequestDone event carries the returned id.

        If the device has not answered within ``timeout`` seconds, ``drain()`` answers for it with
        a timed-out RequestDone, and the late completion, should it come, is dropped.
        """
        if name not in self.workers:
            raise KeyError(f"no device named {name!r}")
        req = _Request(id=uuid.uuid4().hex, action=action, args=args)
        with self._lock:
            self._deadlines[req.id] = (time.monotonic() + (timeout or self.DEFAULT_TIMEOUT), name, action)
        self.workers[name].requests.put(req)
        return req.id

    def drain(self, limit: int = 100) -> list[Event]:
        out, self._backlog = self._backlog, []
        while len(out) < limit:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, RequestDone):
                with self._lock:
                    if self._deadlines.pop(event.request_id, None) is None:
                        continue  # already answered as timed out
            out.append(event)
        out += self._expire()
        return out

    def _expire(self) -> list[Event]:
        now = time.monotonic()
        with self._lock:
            late = [(rid, d) for rid, d in self._deadlines.items() if d[0] <= now]
            for rid, _ in late:
                del self._deadlines[rid]
        return [RequestDone(device=dev, request_id=rid, action=action, ok=False, error="timed out",
                            error_zh="设备没有响应，请联系工作人员", code="timeout") for rid, (_, dev, action) in late]

    def call(self, name: str, action: str, timeout: float = 10.0, **args: Any) -> RequestDone:
        """Request and wait for the answer (for the CLI, which has no UI clock). Other events are kept."""
        rid = self.request(name, action, timeout=timeout, **args)
        kept: list[Event] = []
        try:
            while True:
                for event in self.drain():
                    if isinstance(event, RequestDone) and event.request_id == rid:
                        return event
                    kept.append(event)
                time.sleep(0.02)
        finally:
            self._backlog = kept + self._backlog


def build_driver(name: str, table: dict[str, Any], emit) -> Driver:
    table = dict(table)
    driver_name = table.pop("driver", None)
    if not driver_name:
        raise DeviceConfigError(f"devices.{name}: missing key 'driver'")
    try:
        cls = registry.load(driver_name)
    except registry.DriverNotFound as exc:
        raise DeviceConfigError(f"devices.{name}: {exc}") from exc
    try:
        options = cls.Options(**table)
    except ValidationError as exc:
        raise DeviceConfigError(option_error(exc, f"devices.{name}.")) from exc
    return cls(name, options, emit)
