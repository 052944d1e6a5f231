"""Shared fixtures: a virtual display for UI tests, a scratch working folder."""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KIOSK = str(Path(sys.executable).with_name("kiosk"))


class FakeClock:
    """A clock a test moves by hand (the platform's token expiry, replay window, back office)."""

    def __init__(self):
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def own_demo_config(folder: Path) -> Path:
    """The repository's demo config copied into ``folder``, with its state (var/: the embedded
    platform's database among it) there too, not in the repository's var/ that ``make run`` uses."""
    import shutil

    shutil.copytree(REPO / "config", folder / "config")
    demo = folder / "config" / "demo.toml"
    demo.write_text(demo.read_text(encoding="utf-8").replace('var = "var"', f'var = "{folder / "var"}"'),
                    encoding="utf-8")
    return demo


@pytest.fixture(scope="session")
def display():
    """An Xvfb the suite starts itself; UI tests and the tour run on it."""
    from kiosk.xvfb import virtual_display

    with virtual_display(1510, 800) as name:
        yield name


@pytest.fixture
def kiosk_env(tmp_path):
    """Environment for running the `kiosk` command as a user would, with state in a scratch folder."""
    env = dict(os.environ)
    env.pop("KIOSK_CONFIG", None)
    return env


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The reference platform on 127.0.0.1 with a database of its own for one test module;
    ``.store`` reads that database directly."""
    from central.platform import PlatformStore
    from central.server import BackgroundServer

    with BackgroundServer(tmp_path_factory.mktemp("central") / "central.db") as server:
        server.store = PlatformStore(server.db_path)
        yield server




# `make test` runs the suite in two parts: every module but those below on 4 workers (pytest-xdist,
# `--dist loadfile`: a module's tests stay together on one worker, sharing module fixtures such as
# the platform), then the modules that start or need pcscd with the vpcd reader, alone. vpcd listens
# on 35963-35964, inside the kernel's range of ephemeral ports: with other modules' HTTP traffic
# beside it, a socket of theirs sometimes held the port and pcscd came up without the reader.
PCSCD_MODULES = {"test_pcsc.py", "test_pcsc_conformance.py", "test_demo_pcsc.py", "test_tour.py", "test_soak.py"}
PCSCD_LOCK = Path(tempfile.gettempdir()) / "hall-kiosk-tests-pcscd.lock"


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in PCSCD_MODULES:
            item.add_marker(pytest.mark.pcscd)


@pytest.fixture(scope="module", autouse=True)
def _pcscd_turn(request):
    """Those modules take turns even when run in parallel by hand (one vpcd port pair)."""
    if request.module.__name__.rsplit(".", 1)[-1] + ".py" not in PCSCD_MODULES:
        yield
        return
    with open(PCSCD_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield
