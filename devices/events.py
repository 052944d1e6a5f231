"""Events from devices to the application: data, status and error events.

Each carries the device name and a monotonic timestamp; an event that answers a request
carries that request's id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from devices.identity import Identity, mask_number
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
    """An ID card or smart card was taken away (``reader``: which PC/SC slot, when there are several)."""

    reader: str = ""


@dataclass(frozen=True, kw_only=True)
class CardInserted(Event):
    """A smart card (PC/SC) was inserted; ``info`` holds what could be read without a PIN."""

    reader: str = ""
    atr: str = ""
    info: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CodeScanned(Event):
    """A barcode or QR code: the exact bytes, and the text when they decode."""

    data: bytes
    text: str = ""
    symbology: str = ""


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
    code: str = ""  # the DeviceError code (paper_out, cover_open, timeout...) when not ok
    partial: bool = False  # the device had taken part of the request before it failed


# Card facts that identify a person (the social security card number): masked when shown.
PERSONAL_INFO = frozenset({"card_number", "id_number"})


def to_json(event: Event) -> dict[str, Any]:
    """A JSON-ready form for logs and `kiosk devices watch`: personal data masked, bytes as hex."""
    out: dict[str, Any] = {"event": type(event).__name__}
    for name, value in vars(event).items():
        if isinstance(value, Identity):
            value = {"card_type": value.card_type.value, "name": value.masked_name,
                     "number": value.masked_number}
        elif name == "info" and isinstance(value, dict):
            value = {k: mask_number(v) if k in PERSONAL_INFO else v for k, v in value.items()}
        elif isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, DeviceState):
            value = value.value
        elif not isinstance(value, str | int | float | bool | dict | list | type(None)):
            value = repr(value)
        out[name] = value
    return out
