"""Conformance-kit harness for SerialLineScanner (see devices.testing.Harness)."""

from __future__ import annotations

import itertools
import os
from typing import Any

from devices.testing import point_link, remove_link
from kiosk_example_scanner.emulator import ScannerEmulator

# What citizens hold up: a case-query URL, GB18030 and UTF-8 Chinese text, a product barcode.
CODES = (
    b"https://zwfw.example.gov.cn/q/SL20240612000123",
    "贵州省政务服务网 办件查询".encode("gb18030"),
    "临时身份证明 编号12".encode(),
    b"6901234567892",
)


class ScannerHarness:
    def __init__(self, link_path: str | os.PathLike):
        self.link = link_path
        self.emulator: ScannerEmulator | None = None
        self._silent = False
        self._codes = itertools.cycle(CODES)

    def options(self, port_path: str) -> dict[str, Any]:
        return {"port": port_path, "gap_ms": 100}

    def plug(self) -> None:
        self.emulator = ScannerEmulator()
        self.emulator.silent = self._silent
        point_link(self.link, self.emulator.port)

    def unplug(self) -> None:
        remove_link(self.link)
        emulator, self.emulator = self.emulator, None
        if emulator is not None:
            emulator.close()

    def silence(self, on: bool) -> None:
        self._silent = on
        if self.emulator is not None:
            self.emulator.silent = on

    def garbage(self, data: bytes) -> None:
        assert self.emulator is not None, "garbage() while unplugged"
        self.emulator.send_garbage(data)

    def trigger(self) -> None:
        assert self.emulator is not None, "trigger() while unplugged"
        self.emulator.scan(next(self._codes))

    def close(self) -> None:
        self.unplug()
