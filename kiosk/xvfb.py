"""A private virtual display for headless runs (the tour, the tests): Xvfb on a free display number."""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager

from kiosk.children import stop


class XvfbMissing(RuntimeError):
    pass


@contextmanager
def virtual_display(width: int = 1280, height: int = 800):
    """Start Xvfb, set DISPLAY for this process (and its children), stop it on exit."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise XvfbMissing("Xvfb is not installed (Debian package xvfb); run `make setup`")
    read_fd, write_fd = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it to us once it is ready.
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp",
         "-s", "0", "-dpms"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            raise XvfbMissing("Xvfb did not start")
        old = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = f":{number}"
        try:
            yield f":{number}"
        finally:
            if old is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = old
    finally:
        stop(proc)
