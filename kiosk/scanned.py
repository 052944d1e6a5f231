"""What a code held to the scanner means at this kiosk, decided from its text alone.

- our receipts' QR (the track URL with a case number or terminal reference), or a bare case
  number → ``case``: the query journey;
- a guide slip's QR (the portal link, whose ``itemCode`` parameter names the item) or a bare item
  code → ``guide``: that guide;
- the province app's citizen code (its prefix; only the platform can say whether it is genuine)
  → ``citizen``: identity, once the platform has verified it;
- anything else → ``unusable``.

A code is untrusted input from whoever holds it up: it is bounded, a control character makes it
unusable, and nothing in it is opened, followed or evaluated (a URL is only read for its
parameters). A citizen code carries a person's identity: it is never logged (``describe``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from contract.models import CitizenIdentity
from devices.codes import has_control, printable
from devices.events import CodeScanned
from devices.identity import CardType, Identity
from kiosk import receipts
from kiosk.central_client import CentralError
from kiosk.journeys.base import Notice, Words

log = logging.getLogger("kiosk.scanned")

MAX_TEXT = 2048  # our own codes are far shorter; a citizen code is a few hundred characters
# A national or provincial item code: upper-case parts joined by dashes (GB/T 39554 implementation
# codes have six parts, older provincial schemes three: 62052400MZ-XK-0001).
_ITEM_CODE = re.compile(r"[0-9A-Z]{1,20}(?:-[0-9A-Z]{1,20}){2,8}")
_GUIDE_PARAMS = ("itemcode", "item_code")
REPEAT_S = 3.0


@dataclass(frozen=True)
class Meaning:
    kind: str  # case | guide | citizen | unusable
    value: str = ""  # the case number, the item code or the citizen code; "" when unusable

    def describe(self) -> str:
        """For the log: what it was, never a citizen code's content."""
        if self.kind == "citizen":
            return f"citizen code ({len(self.value)} characters, masked)"
        return f"{self.kind} {printable(self.value, 60)}".rstrip()


UNUSABLE = Meaning("unusable")


def masked(text: str, citizen_prefix: str) -> str:
    """A code as staff may see it: a citizen code only by its prefix and length; anything else on
    one safe line."""
    if citizen_prefix and text.strip().startswith(citizen_prefix):
        return f"{citizen_prefix}…({len(text.strip())} characters, masked)"
    return printable(text, 200)


def meaning(text: str, track_pattern: str, citizen_prefix: str,
            is_item_code: Callable[[str], bool | None]) -> Meaning:
    """``is_item_code(code)``: True/False when the catalogue knows, None when it cannot tell (no
    complete copy); then a code of national shape (six parts or more) counts as an item code."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT or has_control(text):
        return UNUSABLE
    if citizen_prefix and text.startswith(citizen_prefix):
        return Meaning("citizen", text)
    if "{number}" in track_pattern and (number := receipts.number_from_code(text, track_pattern)):
        return Meaning("case", number)
    if "://" in text:
        return _guide_link(text)
    code = text.upper()
    if _ITEM_CODE.fullmatch(code):
        known = is_item_code(code)
        if known or (known is None and code.count("-") >= 5):
            return Meaning("guide", code)
    # A bare number: a window's acceptance slip carries its case number as a barcode. A product's
    # barcode (GS1: EAN-8/13, UPC-A, GTIN-14) is not one.
    number = receipts.number_from_code(text, "{number}")
    return Meaning("case", code) if number and not _is_gs1(code) else UNUSABLE


def _is_gs1(code: str) -> bool:
    if not (code.isascii() and code.isdigit() and len(code) in (8, 12, 13, 14)):
        return False
    body = [int(d) for d in reversed(code[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == int(code[-1])


def _guide_link(url: str) -> Meaning:
    try:
        parts = urlsplit(url)
    except ValueError:
        return UNUSABLE
    if parts.scheme not in ("http", "https"):
        return UNUSABLE
    params = {k.lower(): v for k, v in parse_qs(parts.query).items()}
    for name in _GUIDE_PARAMS:
        values = params.get(name, [])
        if len(values) == 1 and _ITEM_CODE.fullmatch(values[0].upper()):
            return Meaning("guide", values[0].upper())
    return UNUSABLE


class ScanRules:
    """The shell's rules for scanned codes (kiosk.shell.Shell mixes them in, as it does CardRules)."""

    _last_scan: tuple[bytes, float] | None = None

    def code_scanned(self, event: CodeScanned) -> None:
        found = meaning(event.text, receipts.track_url(self.config, self.central), self.config.codes.citizen_prefix,
                        self._knows_item)
        log.info("code scanned on %s: %s", event.device, found.describe())
        # A code held over a scanner is read again and again: the same code within a moment is one scan.
        now = self.monotonic()
        if self._last_scan is not None and self._last_scan[0] == event.data and now - self._last_scan[1] < REPEAT_S:
            return
        self._last_scan = (event.data, now)
        if found.kind == "citizen":
            return self._verify_citizen_code(found.value)
        if found.kind == "case" and "query" in self.journeys:
            return self.start("query", number=found.value)
        if found.kind == "guide" and "guide" in self.journeys:
            return self.start("guide", code=found.value)
        self.touch()
        self.notice = Notice("warning", Words("code.unusable_title"), Words("code.unusable"))
        self._changed()

    @property
    def takes_citizen_codes(self) -> bool:
        """A scanner is configured and the province's citizen codes are taken here."""
        devices = self.devices
        return bool(self.config.codes.citizen_prefix) and devices is not None \
            and devices.first_of_kind("code_scanner") is not None

    def _knows_item(self, code: str) -> bool | None:
        catalogue = self.catalogue
        if catalogue is None or not catalogue.ready:
            return None
        return catalogue.get(code) is not None

    def _verify_citizen_code(self, code: str) -> None:
        """The platform says whose code it is; then the same identified menu as after an ID card.
        The answer is dropped if the person has gone meanwhile (the session's generation)."""
        self.touch()
        generation = self._generation
        self.notice = Notice("progress", Words("code.checking_title"), Words("code.checking"))
        self._changed()

        def verified(who: CitizenIdentity) -> None:
            if generation == self._generation:
                self.notice = None
                self._identified(Identity(CardType.CITIZEN_CODE, who.name, who.id_number))

        def refused(exc: CentralError) -> None:
            if generation != self._generation:
                return
            why = {"code_expired": "expired", "code_invalid": "invalid"}.get(exc.code, "unverified")
            self.notice = Notice("warning", Words("code.citizen_title"), Words(f"code.citizen_{why}"))
            self._changed()

        self.background.call(lambda: self.central.verify_citizen_code(code), verified, refused)
