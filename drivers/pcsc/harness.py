"""Conformance-kit harness for PcscCardReader: pcscd with vpcd's first reader and the virtual 社保卡.

A PC/SC reader has no port path: the driver finds it by name through pcscd. ``options()`` maps the
kit's link path to the reader's name, and any other path (``test_unknown_port``) to a name no
reader has.

Unplugging stops pcscd, and plugging in starts it again. vpcd's readers are part of pcscd's
configuration and stay listed for as long as pcscd runs (closing the card's socket only takes the
card out), so stopping the daemon is the one honest way to make the reader disappear: the driver
loses its reader and must find it again through a new PC/SC context. Only a pcscd that the harness
started is stopped; where the system runs pcscd, ``unplug()`` skips.

What the kit asks for and cannot happen here is skipped with the reason: ``garbage()``, because a
PC/SC reader has no byte stream to the driver (pcscd speaks for it, and a card only answers what
it is asked); ``silence()``, because pcscd answers for the reader whatever the card does, and a
vpcd card that stops answering blocks pcscd's reader for good (vpcd waits for the answer without a
timeout, where a real reader gives up after its own timeout).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from drivers.pcsc.emulator import VirtualReader
from drivers.pcsc.virtual_card import EF05_RECORDS, VirtualSocialSecurityCard

# Different cards of one issuer: same ATR and application, their own card numbers.
CARD_NUMBERS = (b"A12345678", b"B23456789", b"C34567890")


class PcscHarness:
    def __init__(self, link_path: str | os.PathLike):
        self.link = str(link_path)
        self.reader = VirtualReader(slot=0)
        self._numbers = itertools.cycle(CARD_NUMBERS)

    def options(self, port_path: str) -> dict[str, Any]:
        reader = self.reader.name if port_path == self.link else Path(port_path).name
        return {"readers": [reader], "poll_interval_ms": 100}

    def plug(self) -> None:
        self.reader.start()  # the reader, no card in it

    def unplug(self) -> None:
        if not self.reader.pcscd.owned:
            pytest.skip("pcscd is run by the system here: the harness may only stop a pcscd it started")
        self.reader.stop()

    def silence(self, on: bool) -> None:
        pytest.skip("a PC/SC reader cannot be silenced: pcscd answers for it, and a vpcd card that "
                    "stops answering blocks pcscd's reader for good (vpcd has no timeout)")

    def garbage(self, data: bytes) -> None:
        pytest.skip("a PC/SC reader has no byte stream to the driver: pcscd speaks for it, and a "
                    "card only answers what it is asked")

    def trigger(self) -> None:
        """Put a different card in; the one in the slot comes out first."""
        if not self.reader.pcscd.ready():
            raise AssertionError("trigger() while unplugged")
        card = VirtualSocialSecurityCard(self.reader.port, ef05={**EF05_RECORDS, 7: next(self._numbers)})
        self.reader.insert(card)

    def close(self) -> None:
        self.reader.stop()
