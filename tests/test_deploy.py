"""systemd/: the units pass `systemd-analyze verify`, the scripts pass shellcheck, install.sh puts
every file in place with its mode under a root prefix (and keeps a hall's config), uninstall.sh
takes them away again but the kiosk's data, and the udev rules give the documented names."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

SYSTEMD = REPO / "systemd"
UNITS = ("kiosk@.service", "kiosk-guides-sync.service", "kiosk-guides-sync.timer")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:  # make setup installs both (SYSTEM_PACKAGES)
        pytest.fail(f"{name} is not installed: run `make setup`")
    return path


def verify(units_dir: Path, tmp_path: Path) -> str:
    """`systemd-analyze verify` on copies of the units whose programs exist here (it checks that
    ExecStart is executable). Its findings: it exits 0 on a bad value, so the output is the verdict."""
    fake = tmp_path / "bin" / "program"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    copies = tmp_path / "units"
    copies.mkdir(exist_ok=True)
    for unit in UNITS:
        text = (units_dir / unit).read_text()
        text = text.replace("/usr/bin/cage", str(fake)).replace("/opt/kiosk/.venv/bin/kiosk", str(fake))
        (copies / unit).write_text(text)
    r = subprocess.run([_tool("systemd-analyze"), "verify", str(copies / "kiosk@tty1.service"),
                        str(copies / "kiosk-guides-sync.service"), str(copies / "kiosk-guides-sync.timer")],
                       capture_output=True, text=True, timeout=60)
    return (r.stdout + r.stderr).strip() or ("" if r.returncode == 0 else f"exit {r.returncode}")


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    assert verify(SYSTEMD, tmp_path) == ""


def test_verify_would_catch_a_mistake(tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(SYSTEMD, broken)
    unit = broken / "kiosk@.service"
    unit.write_text(unit.read_text().replace("WatchdogSec=30", "WatchdogSec=thirty"))
    assert "Failed to parse sec value" in verify(broken, tmp_path)


def test_the_kiosk_unit_is_watched_and_restarted_as_the_kiosk_user():
    unit = (SYSTEMD / "kiosk@.service").read_text()
    for line in ("Type=notify", "NotifyAccess=all", "Restart=always", "User=kiosk", "UMask=0077",
                 "Environment=KIOSK_LOG_FORMAT=json"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line
    assert int(re.search(r"^WatchdogSec=(\d+)$", unit, re.M)[1]) >= 10
    # cage is the main process; the kiosk (its child) must not see cage's pid as the one to ping for
    assert re.search(r"^ExecStart=/usr/bin/cage .* -- /usr/bin/env -u WATCHDOG_PID /opt/kiosk/\.venv/bin/kiosk run ",
                     unit, re.M)
    sync = (SYSTEMD / "kiosk-guides-sync.service").read_text()
    assert re.search(r"^ExecStart=/opt/kiosk/\.venv/bin/kiosk guides sync --config /etc/kiosk/kiosk\.toml$", sync, re.M)


def test_the_scripts_pass_shellcheck():
    r = subprocess.run([_tool("shellcheck"), "--severity=style", str(SYSTEMD / "install.sh"),
                        str(SYSTEMD / "uninstall.sh")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.lstat().st_mode))


def _script(name: str, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(["bash", str(SYSTEMD / name), *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


def test_install_into_a_root_prefix_then_uninstall(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    _script("install.sh", "--root", str(root), "--no-venv")
    system = root / "etc/systemd/system"
    for unit in UNITS:
        assert (system / unit).read_text() == (SYSTEMD / unit).read_text() and _mode(system / unit) == "0o644"
    rules = root / "etc/udev/rules.d/99-kiosk.rules"
    assert rules.read_text() == (SYSTEMD / "99-kiosk.rules").read_text() and _mode(rules) == "0o644"
    config = root / "etc/kiosk/kiosk.toml"
    assert config.read_text() == (REPO / "config/kiosk.toml").read_text()
    assert _mode(config.parent) == "0o750" and _mode(config) == "0o640"  # may name the secret's file
    # enabled: the kiosk on tty1 at boot, the nightly sync
    assert (system / "graphical.target.wants/kiosk@tty1.service").readlink() == Path("/etc/systemd/system/kiosk@.service")
    assert (system / "timers.target.wants/kiosk-guides-sync.timer").is_symlink()

    config.write_text('[terminal]\nid = "HALL-07"\n')  # the hall's own, then an upgrade
    again = _script("install.sh", "--root", str(root), "--no-venv")
    assert config.read_text() == '[terminal]\nid = "HALL-07"\n' and "kept the existing" in again.stdout

    data = root / "var/lib/kiosk/outbox.db"
    data.parent.mkdir(parents=True)
    data.write_text("the kiosk's data")
    for _ in range(2):  # and again: nothing left to remove is no error
        _script("uninstall.sh", "--root", str(root))
        assert not any((system / unit).exists() for unit in UNITS) and not rules.exists()
        assert not (system / "graphical.target.wants/kiosk@tty1.service").is_symlink()
        assert data.exists() and config.exists()
    _script("uninstall.sh", "--root", str(root), "--purge")
    assert not data.exists() and not config.exists()


def test_a_dry_run_says_what_it_would_do_and_does_nothing(tmp_path):
    before = {p: p.exists() for p in (Path("/opt/kiosk"), Path("/etc/kiosk"), Path("/etc/systemd/system/kiosk@.service"))}
    out = _script("install.sh", "--dry-run").stdout
    assert "+ /opt/kiosk/.venv/bin/python -m pip install --quiet --upgrade " + str(REPO) in out
    assert "+ systemctl enable kiosk@tty1.service kiosk-guides-sync.timer" in out
    assert "+ rm -rf /opt/kiosk" in _script("uninstall.sh", "--dry-run", "--purge").stdout
    assert {p: p.exists() for p in before} == before


def test_the_udev_rules_give_the_kiosk_group_its_devices_under_the_documented_names():
    names = set()
    for line in (SYSTEMD / "99-kiosk.rules").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pairs = dict(re.fullmatch(r'\s*([A-Z]+(?:\{\w+\})?)\s*(==|\+=|=)\s*"([^"]*)"\s*', p).group(1, 3)
                     for p in line.split(","))
        assert re.fullmatch(r"[0-9a-f]{4}", pairs["ATTRS{idVendor}"]) and re.fullmatch(r"[0-9a-f]{4}", pairs["ATTRS{idProduct}"])
        assert pairs["GROUP"] == "kiosk" and pairs["MODE"] == "0660", line
        assert pairs["SUBSYSTEM"] in ("tty", "usbmisc", "input", "hidraw"), line
        names.add(pairs["SYMLINK"])
    assert names == {"kiosk-idreader", "kiosk-printer", "kiosk-scanner", "kiosk-scanner-hidraw"}
