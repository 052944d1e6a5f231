"""systemd's watchdog: the real app tells a notify socket it is ready, which screen it shows, and
that its main loop runs; a frozen main loop stops the pings (so systemd restarts the kiosk), and
they come back once it runs again. The socket is the test's own, as systemd's would be."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kiosk.watchdog import Notifier
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(120)


class NotifySocket:
    """A unix datagram socket where systemd would listen ($NOTIFY_SOCKET)."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="notify-")  # short: sun_path holds 108 bytes
        self.path = str(Path(self._dir.name) / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def collect(self, seconds: float) -> list[str]:
        """Every message received in the next ``seconds``."""
        out, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self.sock], [], [], left)[0]:
                out.extend(self.sock.recv(4096).decode().splitlines())
        return out

    def wait_for(self, message: str, timeout: float) -> list[str]:
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.sock], [], [], 0.2)[0]:
                seen.extend(self.sock.recv(4096).decode().splitlines())
                if message in seen:
                    return seen
        raise AssertionError(f"no {message} within {timeout} s; got {seen}")

    def close(self):
        self.sock.close()
        self._dir.cleanup()


@pytest.fixture
def notify():
    s = NotifySocket()
    yield s
    s.close()


def terminal_config(tmp_path: Path) -> Path:
    """A terminal talking to a platform elsewhere (here: nobody listens), no devices."""
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[central]\nurl = "http://127.0.0.1:9"\n[paths]\nvar = "{tmp_path / "var"}"\n'
                    '[display]\nwidth = 800\nheight = 600\n')
    return path


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    if not select.select([proc.stdout], [], [], timeout)[0]:
        raise AssertionError(f"the app said nothing within {timeout} s")
    return proc.stdout.readline()


def test_a_frozen_main_loop_stops_the_watchdog_pings(display, notify, tmp_path):
    env = {**os.environ, "DISPLAY": display, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.watchdog_child", str(terminal_config(tmp_path))],
                            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        seen = notify.wait_for("READY=1", 60)
        assert read_line(proc, 60).strip() == "started"  # assembled, taking orders
        seen += notify.collect(1.0)
        assert "STATUS=screen: welcome" in seen  # the screen's name, nothing about a person
        assert seen.count("WATCHDOG=1") >= 4  # every 0.1 s: half of WATCHDOG_USEC

        proc.stdin.write("freeze\n")
        proc.stdin.flush()
        notify.collect(0.5)  # pings already on their way
        assert "WATCHDOG=1" not in notify.collect(1.5)

        proc.stdin.write("thaw\n")
        proc.stdin.flush()
        assert notify.collect(1.0).count("WATCHDOG=1") >= 3

        proc.stdin.write("stop\n")
        proc.stdin.flush()
        notify.wait_for("STOPPING=1", 10)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate()
    assert "Traceback" not in err, err[-3000:]


def test_outside_systemd_nothing_is_sent(notify, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)  # a terminal session, the demo
    n = Notifier()
    n.ready()
    n.alive()
    n.status("welcome")
    assert n.interval_s is None
    assert notify.collect(0.2) == []


def test_only_the_watched_process_pings_and_each_screen_is_told_once(notify, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert Notifier().interval_s is None  # a child that inherited the variables
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    n = Notifier()
    assert n.interval_s == 2.0
    for screen in ("welcome", "welcome", "guides"):
        n.status(screen)
    assert notify.collect(0.3) == ["STATUS=screen: welcome", "STATUS=screen: guides"]


def test_a_socket_that_is_gone_is_said_once_and_the_kiosk_goes_on(caplog, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    n = Notifier()
    for _ in range(3):
        n.alive()
    assert sum("cannot notify systemd" in r.getMessage() for r in caplog.records) == 1
