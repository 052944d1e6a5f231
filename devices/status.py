"""Status vocabulary (after XFS4IoT). Unknown is its own word and never counts as ready."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeviceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    NO_DEVICE = "no_device"
    HARDWARE_ERROR = "hardware_error"
    USER_ERROR = "user_error"
    BUSY = "busy"
    UNKNOWN = "unknown"


class PaperState(StrEnum):
    FULL = "full"
    LOW = "low"
    OUT = "out"
    JAMMED = "jammed"
    UNKNOWN = "unknown"


class CoverState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrinterStatus:
    device: DeviceState = DeviceState.UNKNOWN
    paper: PaperState = PaperState.UNKNOWN
    cover: CoverState = CoverState.UNKNOWN

    @property
    def can_print(self) -> bool:
        # Only a positive answer on every word allows a job; "unknown" blocks like "out".
        return (
            self.device is DeviceState.ONLINE
            and self.paper in (PaperState.FULL, PaperState.LOW)
            and self.cover is CoverState.CLOSED
        )
