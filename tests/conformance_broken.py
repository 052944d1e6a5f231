"""Drivers that break the contracts on purpose, put through the conformance kit.

tests/test_conformance.py runs this file in a pytest subprocess and expects it to fail, naming
exactly the checks each driver breaks. Its name does not start with ``test_``, so a normal run
does not collect it. The entry points come from a dist-info folder made at import, so nothing is
installed.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

from devices.contracts import PRIORITY_ANSWERED, Claim
from devices.errors import DeviceGone
from devices.status import DeviceState
from devices.testing import DriverConformance
from drivers.samv.driver import SamSerialReader
from drivers.samv.harness import SamHarness

BROKEN = {
    "broken-liar": f"{__name__}:LiarReader",
    "broken-crashy": f"{__name__}:CrashingReader",
    "broken-greedy": f"{__name__}:GreedyReader",
}


def _register(entry_points: dict[str, str]) -> None:
    """Entry points without installing: importlib.metadata reads any *.dist-info on sys.path."""
    root = Path(tempfile.mkdtemp(prefix="kiosk-broken-drivers-"))
    atexit.register(shutil.rmtree, root, True)
    info = root / "kiosk_broken_drivers-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kiosk-broken-drivers\nVersion: 0.0.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[kiosk.drivers]\n{lines}")
    sys.path.append(str(root))


_register(BROKEN)


class LiarReader(SamSerialReader):
    """Reports ONLINE as soon as the port opens, without asking the SAM."""

    def _probe(self) -> None:
        self._state = DeviceState.ONLINE


class CrashingReader(SamSerialReader):
    """Lets a vanished port escape poll() as a plain exception, which the manager counts as a crash."""

    def poll(self) -> None:
        try:
            super().poll()
        except DeviceGone as exc:
            raise RuntimeError(f"serial port broke: {exc}") from exc


class TestLiarReader(DriverConformance):
    driver = "broken-liar"

    def make_harness(self, link_path):
        return SamHarness(link_path)


class TestCrashingReader(DriverConformance):
    driver = "broken-crashy"

    def make_harness(self, link_path):
        return SamHarness(link_path)


class GreedyReader(SamSerialReader):
    """Claims every serial port in `kiosk devices detect` without asking what is behind it."""

    @classmethod
    def supported(cls, candidate):
        return Claim(PRIORITY_ANSWERED, {"port": candidate.path}, "it is a serial port")


class TestGreedyReader(DriverConformance):
    driver = "broken-greedy"

    def make_harness(self, link_path):
        return SamHarness(link_path)
