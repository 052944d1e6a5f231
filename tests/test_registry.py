"""Drivers come from the `kiosk.drivers` entry points: a missing or broken one fails loudly, by name."""

from __future__ import annotations

import subprocess

import pytest

from devices import registry
from kiosk import config
from tests.conftest import KIOSK


@pytest.fixture
def broken_distribution(tmp_path, monkeypatch):
    """A real installed distribution (a .dist-info on sys.path) whose driver cannot be imported."""
    dist = tmp_path / "vendor_broken_driver-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-broken-driver\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[kiosk.drivers]\nvendor-broken = vendor_broken_driver_missing.driver:Reader\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_builtin_drivers_are_found_through_entry_points():
    assert {"sam-serial", "escpos"} <= set(registry.available())
    assert registry.load("sam-serial").kind == "id_reader"


def test_a_driver_that_fails_to_import_names_itself(broken_distribution):
    assert "vendor-broken" in registry.available()
    with pytest.raises(registry.DriverNotFound, match="'vendor-broken' failed to import: ModuleNotFoundError"):
        registry.load("vendor-broken")
    with pytest.raises(config.ConfigError, match=r"devices\.reader: driver 'vendor-broken' failed to import"):
        config.validate({"devices": {"reader": {"driver": "vendor-broken"}}}, "kiosk.toml")


def test_kiosk_drivers_shows_a_broken_driver_without_crashing(broken_distribution):
    env_path = str(broken_distribution)
    r = subprocess.run([KIOSK, "drivers"], capture_output=True, text=True, timeout=60,
                       env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "vendor-broken" in r.stdout and "BROKEN" in r.stdout
    assert "sam-serial" in r.stdout


def test_a_driver_that_is_not_installed_is_a_startup_error(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text("[devices.scanner]\ndriver = 'honeywell-3320g'\n")
    r = subprocess.run([KIOSK, "run", "--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "devices.scanner: driver 'honeywell-3320g' is not installed" in r.stderr
