"""Conformance-kit harness for EscposPrinter: a VirtualPrinter behind a by-id style port link.

A printer produces no data events, so ``trigger()`` skips; the kit checks the rest. Used by
tests/test_conformance.py, and a worked example for integrators (see docs/drivers.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from devices.testing import PtyHarness
from drivers.escpos.emulator import VirtualPrinter


class PrinterHarness(PtyHarness):
    def make_emulator(self) -> VirtualPrinter:
        return VirtualPrinter()

    def options(self, port_path: str) -> dict[str, Any]:
        return {"connection": "serial", "port": port_path, "status_timeout_ms": 200}

    def trigger(self) -> None:
        pytest.skip("a receipt printer produces no data events")
