"""Conformance-kit harness for SamSerialReader: a SamEmulator behind a by-id style port link.

Used by tests/test_conformance.py, and a worked example for integrators (see docs/drivers.md).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from devices.testing import point_link, remove_link
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator


class SamHarness:
    def __init__(self, link_path: str | os.PathLike):
        self.link = link_path
        self.emulator: SamEmulator | None = None
        self._silent = False
        # Each trigger places a different card than the one on the reader: one new IdentityRead.
        self._cards = itertools.cycle(SAMPLE_CARDS.values())

    def options(self, port_path: str) -> dict[str, Any]:
        return {"port": port_path, "timeout_ms": 300, "poll_interval_ms": 100}

    def plug(self) -> None:
        self.emulator = SamEmulator()
        self.emulator.fault = "silence" if self._silent else None
        point_link(self.link, self.emulator.port)

    def unplug(self) -> None:
        remove_link(self.link)
        emulator, self.emulator = self.emulator, None
        if emulator is not None:
            emulator.close()

    def silence(self, on: bool) -> None:
        self._silent = on
        if self.emulator is not None:
            self.emulator.fault = "silence" if on else None

    def garbage(self, data: bytes) -> None:
        assert self.emulator is not None, "garbage() while unplugged"
        self.emulator.send_garbage(data)

    def trigger(self) -> None:
        assert self.emulator is not None, "trigger() while unplugged"
        self.emulator.place_card(next(self._cards))

    def close(self) -> None:
        self.unplug()
