"""Conformance-kit harness for EscposPrinter: a VirtualPrinter behind a by-id style port link.

A printer produces no data events, so ``trigger()`` skips; the kit checks the rest. Used by
tests/test_conformance.py, and a worked example for integrators (see docs/drivers.md).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from devices.testing import point_link, remove_link
from drivers.escpos.emulator import VirtualPrinter


class PrinterHarness:
    def __init__(self, link_path: str | os.PathLike):
        self.link = link_path
        self.printer: VirtualPrinter | None = None
        self._silent = False

    def options(self, port_path: str) -> dict[str, Any]:
        return {"connection": "serial", "port": port_path, "status_timeout_ms": 200}

    def plug(self) -> None:
        self.printer = VirtualPrinter()
        self.printer.silent = self._silent
        point_link(self.link, self.printer.port)

    def unplug(self) -> None:
        remove_link(self.link)
        printer, self.printer = self.printer, None
        if printer is not None:
            printer.close()

    def silence(self, on: bool) -> None:
        self._silent = on
        if self.printer is not None:
            self.printer.silent = on

    def garbage(self, data: bytes) -> None:
        assert self.printer is not None, "garbage() while unplugged"
        self.printer.send_garbage(data)

    def trigger(self) -> None:
        pytest.skip("a receipt printer produces no data events")

    def close(self) -> None:
        self.unplug()
