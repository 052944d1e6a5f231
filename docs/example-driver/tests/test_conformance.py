"""The kiosk's conformance kit run against this package, loaded through its entry point.

Install the package first (``pip install -e .``), then ``pytest``.
"""

from kiosk_example_scanner.harness import ScannerHarness

from devices.testing import DriverConformance


class TestExampleScanner(DriverConformance):
    driver = "example-scanner"

    def make_harness(self, link_path):
        return ScannerHarness(link_path)
