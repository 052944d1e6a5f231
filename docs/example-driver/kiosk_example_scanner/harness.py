"""Conformance-kit harness for SerialLineScanner (see devices.testing.Harness)."""

from __future__ import annotations

import itertools
import os
from typing import Any

from devices.testing import PtyHarness
from kiosk_example_scanner.emulator import ScannerEmulator

# What citizens hold up: a case-query URL, GB18030 and UTF-8 Chinese text, a product barcode.
CODES = (
    b"https://zwfw.example.gov.cn/q/SL20240612000123",
    "贵州省政务服务网 办件查询".encode("gb18030"),
    "临时身份证明 编号12".encode(),
    b"6901234567892",
)


class ScannerHarness(PtyHarness):
    def __init__(self, link_path: str | os.PathLike):
        super().__init__(link_path)
        self._codes = itertools.cycle(CODES)

    def make_emulator(self) -> ScannerEmulator:
        return ScannerEmulator()

    def options(self, port_path: str) -> dict[str, Any]:
        return {"port": port_path, "gap_ms": 100}

    def trigger(self) -> None:
        assert self.emulator is not None, "trigger() while unplugged"
        self.emulator.scan(next(self._codes))
