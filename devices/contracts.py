"""Device contracts that drivers implement.

Lifecycle (after UnifiedPOS): the manager constructs a driver with its validated options,
calls ``open()``, then drives it from one worker thread: ``poll()`` when idle, ``handle()`` for
requests, and ``close()`` when the port vanished or the app stops. A driver never starts its
own threads for the app and never talks to the UI: it reports through ``emit``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from devices.events import Event
from devices.printdoc import Document
from devices.status import DeviceState, PrinterStatus


class DriverOptions(BaseModel):
    """Base of every driver's option schema: unknown keys are a config error, not ignored."""

    model_config = ConfigDict(extra="forbid")


Emit = Callable[[Event], None]


class Driver(ABC):
    kind: ClassVar[str] = "device"
    Options: ClassVar[type[DriverOptions]] = DriverOptions
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # Seconds between poll() calls while idle.
    poll_interval: float = 0.5

    def __init__(self, name: str, options: DriverOptions, emit: Emit):
        self.name = name
        self.options = options
        self._emit = emit

    def emit(self, event: Event) -> None:
        self._emit(event)

    @abstractmethod
    def open(self) -> None:
        """Acquire the port. Raise DeviceGone when it is not there."""

    @abstractmethod
    def close(self) -> None:
        """Release the port; must be safe to call twice and after a failed open."""

    @abstractmethod
    def state(self) -> DeviceState:
        """What the device is known to be; UNKNOWN when it has not answered."""

    def poll(self) -> None:  # noqa: B027 - optional hook
        """Called while idle: readers look for a card here."""

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        raise NotImplementedError(f"{self.kind} driver has no action {action!r}")


class IdReader(Driver):
    """Reads identity documents; emits IdentityRead once per card placed, CardRemoved when taken."""

    kind = "id_reader"

    @abstractmethod
    def read_identity(self):
        """One find → select → read cycle; the Identity, or None when no card is present."""


class Printer(Driver):
    kind = "printer"

    @abstractmethod
    def printer_status(self) -> PrinterStatus:
        """Ask the printer; words it did not answer stay UNKNOWN."""

    @abstractmethod
    def print_document(self, document: Document, job_id: str) -> None:
        """Print a whole document; raise DeviceError when it was not (fully) printed."""

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        if action == "print":
            self.print_document(args["document"], args["job_id"])
            return args["job_id"]
        if action == "status":
            return self.printer_status()
        return super().handle(action, args)
