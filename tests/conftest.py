"""Shared fixtures: a virtual display for UI tests, a scratch working folder."""

from __future__ import annotations

import os
import sys
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
