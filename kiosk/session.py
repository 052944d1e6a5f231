"""Who is at the terminal, and for how long.

The session holds the identity only in memory. Ending it (logout, idle timeout) drops every
reference to the person, so nothing about them outlives the visit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

from devices.identity import Identity

log = logging.getLogger("kiosk.session")


class IdleState(StrEnum):
    ACTIVE = "active"
    WARNING = "warning"
    EXPIRED = "expired"


class Session:
    def __init__(self, idle_timeout_s: float, warning_s: float, clock: Callable[[], float] = time.monotonic):
        self.idle_timeout_s = idle_timeout_s
        self.warning_s = warning_s
        self._clock = clock
        self.identity: Identity | None = None
        self.language: str | None = None
        self.data: dict = {}  # what the person has open: search text, guide, print job...
        self.last_touch = clock()
        self.active = False

    def begin(self, identity: Identity | None = None) -> None:
        self.identity = identity
        self.active = True
        self.touch()
        log.info("session begins: %s", identity.log_form() if identity else "anonymous")

    def touch(self) -> None:
        self.last_touch = self._clock()

    def idle_state(self) -> IdleState:
        if not self.active:
            return IdleState.ACTIVE
        idle = self._clock() - self.last_touch
        if idle >= self.idle_timeout_s:
            return IdleState.EXPIRED
        if idle >= self.idle_timeout_s - self.warning_s:
            return IdleState.WARNING
        return IdleState.ACTIVE

    def idle_for(self) -> float:
        """Seconds since the last touch, session or not (maintenance mode's own idle time)."""
        return self._clock() - self.last_touch

    def seconds_left(self) -> int:
        return max(0, int(self.idle_timeout_s - (self._clock() - self.last_touch) + 0.999))

    def end(self, reason: str) -> None:
        if self.active:
            log.info("session ends: %s", reason)
        self.identity = None
        self.language = None
        self.data = {}
        self.active = False
