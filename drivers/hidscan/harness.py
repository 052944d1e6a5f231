"""Conformance-kit harness for HidScanner: a WedgeEmulator's FIFO behind a by-id style link."""

from __future__ import annotations

import itertools
import os
from typing import Any

from devices.testing import PtyHarness
from drivers.hidscan.emulator import WedgeEmulator

# What citizens hold up, in what a US-layout wedge can type: a case-query URL with a query
# string, a mixed-case ticket code, a product barcode.
CODES = (
    "https://zwfw.example.gov.cn/q?id=SL20240612000123&lang=zh",
    "Ticket#A-17/B{x}",
    "6901234567892",
)


class HidHarness(PtyHarness):
    """PtyHarness does the link, plugging, silence and garbage for any emulator with a ``port``;
    here the port is the emulator's FIFO."""

    def __init__(self, link_path: str | os.PathLike):
        super().__init__(link_path)
        self._codes = itertools.cycle(CODES)

    def make_emulator(self) -> WedgeEmulator:
        return WedgeEmulator()

    def options(self, port_path: str) -> dict[str, Any]:
        return {"device": port_path, "gap_ms": 100}

    def trigger(self) -> None:
        assert self.emulator is not None, "trigger() while unplugged"
        self.emulator.scan(next(self._codes))
