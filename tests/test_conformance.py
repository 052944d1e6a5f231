"""The driver conformance kit (devices.testing) against the built-in drivers and the example
package installed from docs/example-driver, and against drivers broken on purpose, to show that
the kit fails what it should.
"""

from __future__ import annotations

import importlib
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices import registry
from devices.contracts import CodeScanner, HealthLevel
from devices.events import CodeScanned, ErrorEvent
from devices.status import DeviceState
from devices.testing import DriverConformance, point_link, remove_link
from drivers.escpos.driver import EscposPrinter
from drivers.escpos.emulator import VirtualPrinter
from drivers.escpos.harness import PrinterHarness
from drivers.samv.driver import SamSerialReader
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator
from drivers.samv.harness import SamHarness

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "docs" / "example-driver"

pytestmark = pytest.mark.timeout(60)


class TestSamSerial(DriverConformance):
    driver = "sam-serial"

    def make_harness(self, link_path):
        return SamHarness(link_path)


class TestEscpos(DriverConformance):
    driver = "escpos"

    def make_harness(self, link_path):
        return PrinterHarness(link_path)


@pytest.fixture(scope="session")
def example_installed(tmp_path_factory) -> Iterator[Path]:
    """pip-install docs/example-driver into a scratch folder and put it on sys.path, as a
    vendor's package would be installed next to the kiosk. Built from a copy so the source folder
    stays free of build/ and *.egg-info."""
    scratch = tmp_path_factory.mktemp("example-driver")
    source, target = scratch / "src", scratch / "site"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (f"pip install failed (building needs setuptools>=70.1 in this venv: "
                                  f"`make setup`):\n{proc.stdout}\n{proc.stderr}")
    assert time.monotonic() - started < 15, "installing the example package took too long"
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.split(".")[0] == "kiosk_example_scanner"]:
        del sys.modules[name]


class TestExampleScanner(DriverConformance):
    driver = "example-scanner"

    @pytest.fixture(autouse=True)
    def _installed(self, example_installed):
        pass

    def make_harness(self, link_path):
        from kiosk_example_scanner.harness import ScannerHarness

        return ScannerHarness(link_path)


# --- the example package itself ---------------------------------------------------------------


def test_example_is_found_through_its_entry_point(example_installed):
    assert registry.available()["example-scanner"] == "kiosk_example_scanner.driver:SerialLineScanner"
    cls = registry.load("example-scanner")
    assert issubclass(cls, CodeScanner) and cls.can_be_queried is False
    assert Path(sys.modules[cls.__module__].__file__).is_relative_to(example_installed)  # the installed copy


def test_example_scanner_bytes_suffixes_and_noise(example_installed, tmp_path):
    from kiosk_example_scanner.emulator import ScannerEmulator

    cls = registry.load("example-scanner")
    events = []
    with ScannerEmulator(suffix=b"\r\n") as emu:
        drv = cls("qr", cls.Options(port=emu.port, gap_ms=50, max_length=32), events.append)
        drv.open()

        def poll_for(seconds):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                drv.poll()
                time.sleep(0.01)

        gb = "贵州省政务服务网".encode("gb18030")
        emu.scan(gb)
        emu.scan("临时身份证明".encode())
        emu.send_garbage(b"\x00\xffhalf a co")  # no suffix: dropped after gap_ms
        poll_for(0.2)
        emu.scan(b"\x1d01\x1d\xff")  # GS1-style separators, and a byte neither encoding decodes
        emu.scan(b"x" * 40)  # over max_length: dropped up to its CR
        emu.scan(b"6901234567892")
        emu.send_garbage(b"y" * 40)  # over max_length and no CR: dropped, and skipping ends
        poll_for(0.2)
        emu.scan(b"ok")
        deadline = time.monotonic() + 3  # under load the last code may take longer to arrive
        while time.monotonic() < deadline and not any(
                isinstance(e, CodeScanned) and e.data == b"ok" for e in events):
            poll_for(0.05)
        codes = [(e.data, e.text) for e in events if isinstance(e, CodeScanned)]
        assert codes == [(gb, "贵州省政务服务网"), ("临时身份证明".encode(), "临时身份证明"),
                         (b"\x1d01\x1d\xff", ""), (b"6901234567892", "6901234567892"), (b"ok", "ok")]
        assert all(e.symbology == "" and e.device == "qr" for e in events if isinstance(e, CodeScanned))
        assert [e.code for e in events if isinstance(e, ErrorEvent)] == ["garbled", "code_too_long",
                                                                          "code_too_long"]
        report = drv.check_health(HealthLevel.INTERNAL, {})
        assert report.ok and "cannot be asked" in report.text
        drv.close()
        drv.close()
    assert drv.state() is DeviceState.UNKNOWN


def test_example_package_tests_collect_the_kit(example_installed):
    """The example's own test file, as an integrator runs it, collects every check of the kit."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(example_installed), str(REPO)])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider",
                           str(EXAMPLE / "tests" / "test_conformance.py")],
                          capture_output=True, text=True, cwd=EXAMPLE, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {name for name in dir(DriverConformance) if name.startswith("test_")}
    assert {line.rsplit("::", 1)[-1] for line in proc.stdout.splitlines() if "::" in line} == checks


# --- the kit fails broken drivers -----------------------------------------------------------------


def test_kit_fails_broken_drivers_naming_the_checks():
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
                           "tests/conformance_broken.py"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = set(re.findall(r"^FAILED \S+::(\w+::\w+)", proc.stdout, re.M))
    assert failed == {
        "TestLiarReader::test_status_honesty_silent_device",  # ONLINE without asking the device
        "TestCrashingReader::test_recovery",  # an unplug escapes poll() as a crash
        "TestGreedyReader::test_probe",  # detect: claims a port without asking what is behind it
    }, proc.stdout
    assert re.search(r"\b3 failed, 30 passed\b", proc.stdout), proc.stdout


class EagerReader(SamSerialReader):
    """Reads the card inside open(), so its IdentityRead goes out before the manager says ONLINE."""

    def open(self) -> None:
        super().open()
        self.poll()


def test_kit_catches_a_data_event_before_online(tmp_path, monkeypatch):
    info = tmp_path / "eager_reader-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: eager-reader\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(f"[kiosk.drivers]\nbroken-eager = {__name__}:EagerReader\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Kit(DriverConformance):  # defined in a function: pytest does not collect it
        driver = "broken-eager"

    harness = SamHarness(tmp_path / "port")
    harness.plug()
    try:
        with pytest.raises(AssertionError, match="data event before StatusChanged"):
            Kit().test_event_order(harness, tmp_path / "port")
    finally:
        harness.close()


# --- the emulators' fault hooks the harnesses use -------------------------------------------------


def test_sam_emulator_silence_and_garbage():
    with SamEmulator() as emu:
        events = []
        drv = SamSerialReader("id", SamSerialReader.Options(port=emu.port, timeout_ms=200), events.append)
        drv.open()
        assert drv.state() is DeviceState.ONLINE
        emu.fault = "silence"
        drv.poll()
        assert drv.state() is DeviceState.UNKNOWN and events[-1].code == "timeout"
        emu.fault = None
        fd = os.open(emu.port, os.O_RDWR | os.O_NOCTTY)  # a second reader of the line sees the noise as sent
        try:
            emu.send_garbage(b"\x00\xffnoise")
            got, deadline = b"", time.monotonic() + 1
            while len(got) < 7 and time.monotonic() < deadline:
                if select.select([fd], [], [], 0.1)[0]:
                    got += os.read(fd, 64)
            assert got == b"\x00\xffnoise"
        finally:
            os.close(fd)
        emu.send_garbage(b"\xaa\xaa\xaa\x96\x69\x00")  # a cut-off frame before the next request
        emu.place_card(SAMPLE_CARDS["wang_kun"])
        drv.poll()
        assert drv.state() is DeviceState.ONLINE
        assert events[-1].identity.name == "王堃"
        drv.close()


def test_virtual_printer_garbage_is_not_taken_for_status():
    with VirtualPrinter() as vp:
        p = EscposPrinter("receipt", EscposPrinter.Options(port=vp.port, status_timeout_ms=200), lambda e: None)
        p.open()
        vp.set_paper("out")
        vp.send_garbage(b"\x12\x12\x12")  # what "online, paper fine" answers look like
        deadline = time.monotonic() + 1
        while p._link.dev.in_waiting < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert p._link.dev.in_waiting == 3
        p.poll()  # between status queries the driver drops stray input
        assert p._link.dev.in_waiting == 0
        assert p.printer_status().paper.value == "out"
        p.close()


def test_point_link_replaces_atomically(tmp_path):
    link = tmp_path / "by-id"
    point_link(link, "/dev/null")
    point_link(link, "/dev/zero")
    assert os.readlink(link) == "/dev/zero" and sorted(tmp_path.iterdir()) == [link]
    remove_link(link)
    remove_link(link)
    assert not link.exists()
