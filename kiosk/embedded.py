"""``[central] url = "embedded"``: the reference platform as a program of its own, beside the kiosk.

On a real terminal the platform is another machine; the demo runs it on this one, and as another
process, as it would be: the kiosk does not load the server's libraries nor wait for it to start
(the first frame does not depend on it), and the two do not share one interpreter lock. Calls made
before it answers fail like calls to a platform that is briefly away, and are retried.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kiosk.children import stop

log = logging.getLogger("kiosk.embedded")
# Set for the platform's process: the kiosk's pid, so that it ends with the kiosk (SIGKILL too).
EMBEDDED_PARENT = "KIOSK_EMBEDDED_PARENT"
_PR_SET_PDEATHSIG = 1
# The reference platform's own libraries: the `central` extra, which a terminal need not install.
CENTRAL_MODULES = ("fastapi", "uvicorn", "sqlalchemy")
NOT_INSTALLED = "the reference central platform is not installed here (no module {module}): install hall-kiosk[central]"


def missing_module() -> str:
    """The first of the platform's libraries that cannot be imported here, or ""."""
    for name in CENTRAL_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a broken install counts as none
            return name
    return ""


def die_with_parent(parent: int) -> None:
    """In the platform's process: be sent SIGTERM when the kiosk that started it dies, however
    it dies (Linux), so a killed demo leaves no platform behind holding its port and database."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before we asked
        sys.exit(0)


class EmbeddedPlatform:
    """``kiosk central serve`` on a free port of 127.0.0.1 with ``db``; its output in ``log_path``."""

    def __init__(self, db: Path, log_path: Path):
        self.db, self.log_path = db, log_path
        self.url = ""
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> EmbeddedPlatform:
        with socket.socket() as s:  # a free port; the child binds it a moment later
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        with open(self.log_path, "ab") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "kiosk.cli", "central", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--db", str(self.db)], stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, EMBEDDED_PARENT: str(os.getpid())})
        log.info("embedded central platform starting at %s (pid %d, log %s)", self.url, self._proc.pid, self.log_path)
        return self

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """True once GET /health answers (for commands that need the platform before going on)."""
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._proc is not None and self._proc.poll() is None:
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.1)
        return False

    def __exit__(self, *exc) -> None:
        if self._proc is None:
            return
        stop(self._proc, 10)
