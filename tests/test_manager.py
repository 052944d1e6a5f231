"""DeviceManager on real ptys: unplug and replug without a restart, a crashing driver, request timeouts."""

from __future__ import annotations

import os
import threading
import time

import pytest

from devices.contracts import Driver, DriverOptions
from devices.errors import DeviceGone
from devices.events import ErrorEvent, IdentityRead, RequestDone, StatusChanged
from devices.manager import DeviceManager, DeviceWorker
from devices.status import DeviceState
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator


def wait_for(events: list, source, cond, timeout: float):
    """Drain ``source`` into ``events`` until ``cond(events)`` holds; return the elapsed seconds."""
    start = time.monotonic()
    while not cond(events):
        assert time.monotonic() - start < timeout, [type(e).__name__ for e in events][-10:]
        events += source()
        time.sleep(0.02)
    return time.monotonic() - start


def states(events, device="id_reader"):
    return [e.state for e in events if isinstance(e, StatusChanged) and e.device == device]


def test_unplug_and_replug_recover_without_restart(tmp_path):
    link = tmp_path / "ttyID"  # like a udev /dev/serial/by-id link: same name, new pty after replug
    emu = SamEmulator()
    os.symlink(emu.port, link)
    manager = DeviceManager({"id_reader": {"driver": "sam-serial", "port": str(link), "poll_interval_ms": 100}})
    manager.start()
    worker = manager.workers["id_reader"]
    events: list = []
    try:
        wait_for(events, manager.drain, lambda ev: DeviceState.ONLINE in states(ev), 5)

        emu.close()  # cable pulled: the pty closes and the link disappears
        link.unlink()
        events.clear()
        took = wait_for(events, manager.drain, lambda ev: DeviceState.NO_DEVICE in states(ev), 2)
        assert took < 2
        assert not [e for e in events if isinstance(e, ErrorEvent) and e.code == "driver_crash"]

        emu = SamEmulator()  # cable back
        os.symlink(emu.port, link)
        events.clear()
        wait_for(events, manager.drain, lambda ev: DeviceState.ONLINE in states(ev), 5)
        emu.place_card(SAMPLE_CARDS["deng_yuxi"])
        wait_for(events, manager.drain, lambda ev: any(isinstance(e, IdentityRead) for e in ev), 5)
        assert worker.is_alive() and manager.workers["id_reader"] is worker  # same worker, no restart
    finally:
        manager.stop()
        emu.close()


class FlakyDriver(Driver):
    """Raises from poll() twice (a driver bug), then works; answers 'echo' requests."""

    kind = "test"
    poll_interval = 0.05

    class Options(DriverOptions):
        pass

    def __init__(self, name, options, emit):
        super().__init__(name, options, emit)
        self.crashes = 2
        self.opened = 0
        self.delay = 0.0

    def open(self):
        self.opened += 1

    def close(self):
        pass

    def state(self):
        return DeviceState.ONLINE

    def poll(self):
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("bug in the driver")

    def handle(self, action, args):
        time.sleep(self.delay)
        if action == "unplugged":
            raise DeviceGone("gone")
        return args.get("value")


@pytest.fixture
def flaky():
    events: list = []
    lock = threading.Lock()

    def emit(e):
        with lock:
            events.append(e)

    driver = FlakyDriver("flaky", FlakyDriver.Options(), emit)
    worker = DeviceWorker(driver, emit, backoff=(0.05, 0.2))
    worker.start()
    yield driver, worker, events
    worker.stop()
    worker.join(2)


def test_a_driver_that_raises_is_restarted_and_keeps_serving(flaky):
    driver, worker, events = flaky
    deadline = time.monotonic() + 5
    while driver.opened < 3 or worker.state is not DeviceState.ONLINE:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    crashes = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(crashes) == 2 and all(e.code == "driver_crash" and e.will_retry for e in crashes)
    seen = [e.state for e in events if isinstance(e, StatusChanged)]
    assert DeviceState.HARDWARE_ERROR in seen and seen[-1] is DeviceState.ONLINE
    from devices.manager import _Request

    worker.requests.put(_Request("r1", "echo", {"value": 42}))
    deadline = time.monotonic() + 2
    while not any(isinstance(e, RequestDone) and e.request_id == "r1" for e in events):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    done = next(e for e in events if isinstance(e, RequestDone) and e.request_id == "r1")
    assert done.ok and done.result == 42


def test_a_request_the_device_does_not_answer_in_time_is_answered_as_timed_out(tmp_path):
    with SamEmulator() as emu:
        manager = DeviceManager({"id_reader": {"driver": "sam-serial", "port": emu.port}})
        manager.start()
        try:
            events: list = []
            wait_for(events, manager.drain, lambda ev: DeviceState.ONLINE in states(ev), 5)
            emu.fault = "silence"  # the reader stops answering
            rid = manager.request("id_reader", "read", timeout=0.5)
            took = wait_for(events, manager.drain,
                            lambda ev: any(isinstance(e, RequestDone) and e.request_id == rid for e in ev), 3)
            done = next(e for e in events if isinstance(e, RequestDone) and e.request_id == rid)
            assert not done.ok and "timed out" in done.error and done.error_zh
            assert took < 1.5
            # The late answer from the worker (its own serial timeout) is dropped, never delivered twice.
            time.sleep(2.5)
            later = manager.drain()
            assert not [e for e in later if isinstance(e, RequestDone) and e.request_id == rid]
        finally:
            manager.stop()


def test_unknown_device_name_is_an_error():
    manager = DeviceManager({})
    with pytest.raises(KeyError):
        manager.request("printer", "print")
