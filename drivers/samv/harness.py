"""Conformance-kit harness for SamSerialReader: a SamEmulator behind a by-id style port link.

Used by tests/test_conformance.py, and a worked example for integrators (see docs/drivers.md).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from devices.testing import PtyHarness
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator


class SamHarness(PtyHarness):
    def __init__(self, link_path: str | os.PathLike):
        super().__init__(link_path)
        # Each trigger places a different card than the one on the reader: one new IdentityRead.
        self._cards = itertools.cycle(SAMPLE_CARDS.values())

    def make_emulator(self) -> SamEmulator:
        return SamEmulator()

    def set_silent(self, emulator: SamEmulator, on: bool) -> None:
        emulator.fault = "silence" if on else None

    def options(self, port_path: str) -> dict[str, Any]:
        return {"port": port_path, "timeout_ms": 300, "poll_interval_ms": 100}

    def trigger(self) -> None:
        assert self.emulator is not None, "trigger() while unplugged"
        self.emulator.place_card(next(self._cards))
