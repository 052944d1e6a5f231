"""Events from devices to the application: data, status and error events.

Each carries the device name and a monotonic timestamp; an event that answers a request
carries that request's id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from devices.identity import Identity
from devices.status import DeviceState


@dataclass(frozen=True, kw_only=True)
class Event:
    device: str
    at: float = field(default_factory=time.monotonic)
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class IdentityRead(Event):
    identity: Identity


@dataclass(frozen=True, kw_only=True)
class CardRemoved(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class StatusChanged(Event):
    state: DeviceState
    detail: dict[str, str] = field(default_factory=dict)  # e.g. {"paper": "low", "cover": "closed"}


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(Event):
    code: str
    message: str  # precise, for staff logs (English)
    message_zh: str = ""  # plain, for the citizen
    will_retry: bool = False


@dataclass(frozen=True, kw_only=True)
class RequestDone(Event):
    """Completion of a request (print this, read now): ok, or the error that ended it."""

    action: str
    ok: bool
    result: Any = None
    error: str = ""
    error_zh: str = ""
