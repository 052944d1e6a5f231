"""What a terminal does in the background whoever stands at it: keep the guide catalogue fresh
(at start and every ``guides_sync_min``; a failed sync again soon) and report to the platform (a heartbeat every
``heartbeat_s`` with device statuses and outbox depth), never more than one of each at a time; and
the same device statuses for the status bar. The commands a heartbeat's answer carries go to
kiosk.commands."""

from __future__ import annotations

import logging
from collections.abc import Callable

from contract.models import MAX_LIST, MAX_OUTBOX_DEPTH, DeviceStatus, Heartbeat
from devices.status import DeviceState
from kiosk.background import Background
from kiosk.i18n import catalogue

log = logging.getLogger("kiosk.upkeep")
PAPER = ("full", "low", "out", "jammed", "unknown")
SYNC_RETRY_S, SYNC_RETRY_MAX_S = 2.0, 300.0  # a failed sync is tried again after 2, 4, 8 ... s


class Upkeep:
    def __init__(self, config, central, background: Background, monotonic: Callable[[], float],
                 catalogue=None, outbox=None, devices=None, device_states: dict | None = None, version: str = ""):
        self.config, self.central, self.background, self.monotonic = config, central, background, monotonic
        self.catalogue, self.outbox, self.devices, self.version = catalogue, outbox, devices, version
        self.device_states = device_states if device_states is not None else {}
        self._next_sync = self._next_beat = 0.0  # both due at the first tick
        self._sync_retry = SYNC_RETRY_S
        self.on_commands: Callable[[list], None] | None = None  # the platform's commands (kiosk.commands)
        self._sync_waiters: list[tuple[Callable, Callable]] = []

    def tick(self) -> None:
        now = self.monotonic()
        central_cfg = self.config.central
        if self.catalogue is not None and now >= self._next_sync:
            every = central_cfg.guides_sync_min * 60
            self._next_sync = now + every if every else float("inf")
            self.background.once("guide sync", self._sync, self._synced, self._sync_failed)
        if getattr(self.central, "terminal_id", None) and now >= self._next_beat:
            self._next_beat = now + central_cfg.heartbeat_s
            beat = self.heartbeat_message()
            self.background.once("heartbeat", lambda: self.central.heartbeat(beat), self._heartbeat_answer)

    def _sync(self):
        try:
            return self.catalogue.sync(self.central)
        finally:  # synced or not (offline), the copy there is what the next search reads
            self.catalogue.warm()

    def beat_now(self) -> None:
        """A heartbeat at the next tick (its answer brings the platform's commands)."""
        self._next_beat = 0.0

    def sync_now(self, on_done: Callable, on_error: Callable) -> None:
        """A sync at the next tick (one already running answers instead); its outcome goes to the
        callbacks."""
        self._sync_waiters.append((on_done, on_error))
        self._next_sync = 0.0

    def _synced(self, r) -> None:
        self._sync_retry = SYNC_RETRY_S
        log.info("guide catalogue synced: %d changed, %d deleted in %.1f s", r.changed, r.deleted, r.seconds)
        waiters, self._sync_waiters = self._sync_waiters, []
        for on_done, _ in waiters:
            on_done(r)

    def _sync_failed(self, exc) -> None:
        """A platform away at boot (or a network blip) should not leave the copy stale until the
        next regular sync: try again soon, less often each time."""
        self._next_sync = min(self._next_sync, self.monotonic() + self._sync_retry)
        self._sync_retry = min(self._sync_retry * 2, SYNC_RETRY_MAX_S)
        waiters, self._sync_waiters = self._sync_waiters, []
        for _, on_error in waiters:
            on_error(exc)

    def heartbeat_message(self) -> Heartbeat:
        devices = []
        for name, st in self.device_states.items():
            kind = ""
            if self.devices is not None and name in getattr(self.devices, "workers", {}):
                kind = self.devices.workers[name].driver.kind
            paper = st.get("paper")
            devices.append(DeviceStatus(name=name[:50], kind=kind[:30], status=st.get("state", "unknown"),
                                        paper=paper if paper in PAPER else None,
                                        detail=", ".join(f"{k}={v}" for k, v in st.items()
                                                         if k not in ("state", "paper"))[:200]))
        depth = self.outbox.depth() if self.outbox is not None else 0
        # The contract bounds both; a terminal past them still reports, at the bound.
        return Heartbeat(version=self.version, outbox_depth=min(depth, MAX_OUTBOX_DEPTH), devices=devices[:MAX_LIST])

    def _heartbeat_answer(self, answer) -> None:
        if answer.commands and self.on_commands is not None:
            self.on_commands(answer.commands)

    def device_summary(self, tr) -> list[tuple[str, str, bool]]:
        """For the status bar: (device name in the citizen's language, plain status text, ok?) for
        every configured device."""
        out = []
        names = list(self.devices.workers) if self.devices is not None else []
        for name in names:
            st = self.device_states.get(name, {"state": DeviceState.UNKNOWN.value})
            text = tr(f"state.{st['state']}")
            ok = st["state"] == DeviceState.ONLINE.value
            if st.get("paper") in ("out", "low"):
                text = tr(f"paper.{st['paper']}")
                ok = st["paper"] != "out"
            if st.get("cover") == "open":
                text, ok = tr("cover.open"), False
            # By the hall's name for it if the catalogue has one, else by what kind of device it is.
            words, kind = catalogue(tr.lang), self.devices.workers[name].driver.kind
            label = words.get(f"device.{name}") or words.get(f"device.{kind}", name)
            out.append((label + tr("common.colon"), text, ok))
        return out
