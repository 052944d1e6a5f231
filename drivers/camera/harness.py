"""Conformance-kit harness for CameraScanner: a CameraEmulator's Y4M FIFO behind a port link.

Unplug ends the stream and removes the FIFO; plug makes a new one (the link moves, as
/dev/v4l/by-id/... does when a camera comes back as another /dev/videoN). ``trigger()`` shows a new
code for half a second, as a citizen holds up a phone. See drivers/camera/emulator.py for what is
emulated and why.
"""

from __future__ import annotations

import itertools
from typing import Any

from devices.testing import PtyHarness
from drivers.camera.emulator import CameraEmulator, code_picture


class CameraHarness(PtyHarness):
    FPS = 10

    def __init__(self, link_path, **options: Any):
        super().__init__(link_path)
        self._codes = itertools.count(1)
        self.extra = options  # driver options a test wants on top of the kit's

    def make_emulator(self) -> CameraEmulator:
        return CameraEmulator(size=(320, 240), fps=self.FPS)

    def options(self, port_path: str) -> dict[str, Any]:
        return {"device": port_path, "source": "y4m", "fps": self.FPS, "frame_timeout_ms": 800,
                **self.extra}

    def trigger(self) -> None:
        self.emulator.show(code_picture(f"KIOSK-CAMERA-{next(self._codes)}"), seconds=0.5)
