"""A serial / USB CDC code scanner behind a pty: the driver opens ``port`` as it would /dev/ttyACM0.

The scanner only sends, so the emulator needs no thread: ``scan()`` writes a code framed as the
scanner is programmed, paced at ``baud`` as a UART delivers it (USB CDC delivers faster; pacing
only makes a long code arrive over several reads, as it may on hardware).
"""

from __future__ import annotations

import contextlib
import os
import time
import tty

_PIECE = 64  # bytes written at once: a USB full-speed packet, a UART's FIFO


class SerialScannerEmulator:
    """``silent``: the decoder hung, nothing is scanned (the port stays). ``close()``: unplugged."""

    def __init__(self, prefix: bytes = b"", suffix: bytes = b"\r", baud: int = 115200):
        self.prefix, self.suffix, self.baud = prefix, suffix, baud
        self.silent = False
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # binary-clean: no echo, no CR/LF translation
        self.port = os.ttyname(self._slave)
        self._closed = False

    def scan(self, data: bytes) -> None:
        """A person holds a code under the scanner: prefix, its bytes and the suffix go to the host
        (only the bytes, with suffix b"": the host tells codes apart by the silence after one)."""
        if not self.silent:
            self._write(self.prefix + data + self.suffix)

    def send_garbage(self, data: bytes) -> None:
        """Unsolicited bytes (noise, a half-sent code), sent as they are, even when silent."""
        self._write(data)

    def _write(self, data: bytes) -> None:
        wire_time = 10 / self.baud  # 8N1: ten bits a byte
        for start in range(0, len(data), _PIECE):
            view = memoryview(data)[start:start + _PIECE]
            while view:
                view = view[os.write(self._master, view):]
            if start + _PIECE < len(data):
                time.sleep(_PIECE * wire_time)

    def close(self) -> None:
        """Unplugged: the master closes and the host's reads fail with EIO. Safe twice."""
        if self._closed:
            return
        self._closed = True
        for fd in (self._slave, self._master):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> SerialScannerEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
