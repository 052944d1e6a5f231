"""The conformance kit (devices.testing) on the PC/SC reader: pyscard → pcscd → vpcd → the virtual
社保卡, through drivers/pcsc/harness.py. Unplugging stops pcscd (the harness starts its own)."""

from __future__ import annotations

import pytest

from devices.testing import DriverConformance
from drivers.pcsc.harness import PcscHarness

pytestmark = pytest.mark.timeout(180)  # the first test may wait its turn for pcscd (conftest)


class TestPcscReader(DriverConformance):
    driver = "pcsc"

    def make_harness(self, link_path):
        return PcscHarness(link_path)
