"""The demo's platform as a program of its own (kiosk/embedded.py): it answers, it stops with
the kiosk, and a killed kiosk leaves no platform behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from kiosk.embedded import EmbeddedPlatform
from tests.conftest import REPO


def test_it_answers_and_stops_with_the_kiosk(tmp_path):
    with EmbeddedPlatform(tmp_path / "central.db", tmp_path / "central.log") as p:
        assert p.wait_ready(60)
        assert requests.get(p.url + "/health", timeout=5).json()["guides"] == 1135
        proc = p._proc
    assert proc.poll() is not None
    assert (tmp_path / "central.log").stat().st_size > 0


def test_a_killed_kiosk_leaves_no_platform_behind(tmp_path):
    code = ("import sys, time; from pathlib import Path; from kiosk.embedded import EmbeddedPlatform\n"
            f"p = EmbeddedPlatform(Path({str(tmp_path / 'central.db')!r}), Path({str(tmp_path / 'c.log')!r})).__enter__()\n"
            "assert p.wait_ready(60); print(p._proc.pid, flush=True); time.sleep(600)")
    kiosk = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=str(REPO))
    try:
        child = int(kiosk.stdout.readline())
        os.kill(kiosk.pid, signal.SIGKILL)  # a crash: no __exit__ runs
        kiosk.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(child, signal.SIGKILL)
            raise AssertionError("the platform outlived the kiosk")
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
