"""Conformance-kit harness for SerialScanner: a SerialScannerEmulator behind a by-id style link.

``suffix`` is the driver's option ("cr", "none"...); the emulator frames codes to match, so the
kit can run once per framing.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from devices.testing import PtyHarness
from drivers.serialscan.driver import SUFFIXES
from drivers.serialscan.emulator import SerialScannerEmulator

# What citizens hold up: a case-query URL, GB18030 and UTF-8 Chinese text, a product barcode.
CODES = (
    b"https://zwfw.example.gov.cn/q/SL20240612000123",
    "贵州省政务服务网 办件查询".encode("gb18030"),
    "临时身份证明 编号12".encode(),
    b"6901234567892",
)
GAP_MS = 100


class SerialScanHarness(PtyHarness):
    def __init__(self, link_path: str | os.PathLike, suffix: str = "cr"):
        super().__init__(link_path)
        self.suffix = suffix
        self._codes = itertools.cycle(CODES)

    def make_emulator(self) -> SerialScannerEmulator:
        return SerialScannerEmulator(suffix=SUFFIXES[self.suffix])

    def options(self, port_path: str) -> dict[str, Any]:
        return {"port": port_path, "suffix": self.suffix, "gap_ms": GAP_MS}

    def trigger(self) -> None:
        assert self.emulator is not None, "trigger() while unplugged"
        self.emulator.scan(next(self._codes))
