"""Child processes the kiosk starts (Xvfb, the demo's platform): how they are stopped."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM, and SIGKILL if it has not ended within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
