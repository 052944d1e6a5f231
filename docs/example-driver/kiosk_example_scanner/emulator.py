"""A CDC-mode code scanner behind a pty: the driver opens ``port`` as it would /dev/ttyACM0.

The scanner only sends, so the emulator needs no thread: ``scan()`` writes a code and its suffix
to the master side at once, as a USB packet arrives.
"""

from __future__ import annotations

import contextlib
import os
import tty


class ScannerEmulator:
    """``silent``: the decoder hung, nothing is sent (the port stays). ``suffix``: b"\\r" or b"\\r\\n"."""

    def __init__(self, suffix: bytes = b"\r"):
        self.suffix = suffix
        self.silent = False
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # binary-clean: no echo, no CR/LF translation
        self.port = os.ttyname(self._slave)
        self._closed = False

    def scan(self, data: bytes) -> None:
        """A person holds a code under the scanner: its bytes and the suffix go to the host."""
        if not self.silent:
            self._write(data + self.suffix)

    def send_garbage(self, data: bytes) -> None:
        """Unsolicited bytes (noise, a half-sent code) without a suffix."""
        self._write(data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view):]

    def close(self) -> None:
        """Unplugged: the master closes and the host's reads fail with EIO."""
        if self._closed:
            return
        self._closed = True
        for fd in (self._slave, self._master):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> ScannerEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
