"""A terminal installs only what it runs: `pip install hall-kiosk` leaves the reference platform
(FastAPI, uvicorn, SQLAlchemy, psycopg) to the `central` extra, and the kiosk runs without it.

"Without it" is a venv of its own holding every package of the suite's venv but the extra's (linked,
not installed again: seconds instead of minutes), so an import of the platform's libraries anywhere
on the kiosk's path fails there as it would on a terminal."""

from __future__ import annotations

import importlib.metadata
import os
import re
import select
import signal
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO
from tests.test_watchdog import NotifySocket

pytestmark = pytest.mark.timeout(120)
PLATFORM_ONLY = {"fastapi", "uvicorn", "sqlalchemy", "psycopg"}


def _requirements() -> list[Requirement]:
    return [Requirement(r) for r in importlib.metadata.requires("hall-kiosk")]


def _extra(req: Requirement) -> str:
    m = re.search(r'extra == "([^"]+)"', str(req.marker or ""))
    return m[1] if m else ""


def test_the_platform_s_libraries_are_the_central_extra_only():
    by_extra: dict[str, set[str]] = {}
    for req in _requirements():
        by_extra.setdefault(_extra(req), set()).add(req.name.lower())
    assert not by_extra[""] & PLATFORM_ONLY, by_extra[""] & PLATFORM_ONLY  # the terminal's own
    assert by_extra["central"] == PLATFORM_ONLY
    assert "cysystemd" in by_extra[""] and "python-json-logger" in by_extra[""]


@pytest.fixture(scope="module")
def terminal_python(tmp_path_factory) -> str:
    """A venv with this one's packages less the central extra's distributions."""
    root = tmp_path_factory.mktemp("terminal-venv")
    venv.EnvBuilder(with_pip=False).create(root)
    site = Path(sysconfig.get_paths()["purelib"])
    target = next(root.glob("lib/python*/site-packages"))
    left_out = set()
    for req in _requirements():
        if _extra(req) == "central":
            for name in [req.name, *(f"{req.name}-{e}" for e in req.extras)]:  # psycopg[binary]
                dist = importlib.metadata.distribution(name)
                left_out |= {Path(f).parts[0] for f in dist.files or ()}
    for entry in site.iterdir():
        if entry.name not in left_out and not entry.name.startswith("__pycache__"):
            (target / entry.name).symlink_to(entry)
    python = str(root / "bin" / "python")
    probe = subprocess.run([python, "-c", "import fastapi"], capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'fastapi'" in probe.stderr
    return python


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[central]\nurl = "{url}"\n[paths]\nvar = "{tmp_path / "var"}"\n'
                    '[display]\nwidth = 800\nheight = 600\n')
    return path


def test_the_kiosk_runs_without_the_extra(terminal_python, display, tmp_path):
    notify = NotifySocket()
    env = {**os.environ, "DISPLAY": display, "NOTIFY_SOCKET": notify.path}
    proc = subprocess.Popen([terminal_python, "-m", "kiosk.cli", "run", "--config",
                             str(_config(tmp_path, "http://127.0.0.1:9"))],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        notify.wait_for("READY=1", 60)
        log, deadline = "", time.monotonic() + 60
        while "kiosk ready" not in log and time.monotonic() < deadline:  # assembled: devices, client, shell
            if select.select([proc.stderr], [], [], 1)[0]:
                log += proc.stderr.readline()
        assert "kiosk ready" in log, log[-3000:]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log += proc.communicate()[1]
        notify.close()
    assert "Traceback" not in log and "No module named" not in log, log[-3000:]


def test_the_kiosk_s_own_path_never_imports_the_platform(tmp_path):
    # Where the extra is installed too (a dev machine), nothing on the terminal's path may load it:
    # an import guarded by try/except would pass the test above and still cost start-up time.
    code = f"""
import sys
from kiosk import cli, config, central_cli, print_cli, devices_cli, read_cli  # every command's module
from kiosk.runtime import running_kiosk
cfg = config.load({str(_config(tmp_path, "http://127.0.0.1:9"))!r})
with running_kiosk(cfg) as shell:
    shell.tick()
print(sorted({{m.split(".")[0] for m in sys.modules}} & set({sorted(PLATFORM_ONLY)!r})))
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "[]"


def test_embedded_without_the_extra_says_what_to_do_in_one_line(terminal_python, display, tmp_path):
    embedded = str(_config(tmp_path, "embedded"))
    env = {**os.environ, "DISPLAY": display}
    for argv, code in ((["config", "check", embedded], 2), (["run", "--config", embedded], 2),
                       (["central", "serve"], 1)):
        r = subprocess.run([terminal_python, "-m", "kiosk.cli", *argv], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == code, (argv, r.stderr[-3000:])
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, (argv, r.stderr[-3000:])
        assert "install hall-kiosk[central]" in lines[0], lines
        if argv[0] != "central":
            assert "central.url" in lines[0], lines
