"""A keyboard-wedge scanner as the kernel presents it, for machines without uinput.

On a kiosk the scanner's key presses reach the driver as ``struct input_event`` records read from
``/dev/input/eventN``. Where the kernel offers no ``/dev/uinput`` (this project's development and
CI machines answer ENODEV) a test cannot make such a node, so the emulator stands in for the
kernel's side only: it writes the same records, in the kernel's layout
(``drivers.hidscan.keys.EVENT``) with real-time stamps, into a FIFO that the driver opens and reads
exactly as it reads an event node. What a FIFO cannot do, the USB id lookup and the grab, is
tested against the real kernel by tests/test_hidscan.py where uinput exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time

from drivers.hidscan.keys import EV_KEY, EV_SYN, EVENT, KEY_ENTER, KEY_TAB, LAYOUT

KEY_LEFTSHIFT = 42
SYN_REPORT = (EV_SYN, 0, 0)
SUFFIX_KEY = {"enter": KEY_ENTER, "tab": KEY_TAB, "none": None}
Report = list[tuple[int, int, int]]  # (type, code, value) records that end with SYN_REPORT


def keys_for(text: str) -> list[tuple[int, bool]]:
    """The key presses that type ``text`` on a US layout: (key code, with Shift). ValueError for
    a character no key types (any non-ASCII one)."""
    where: dict[str, tuple[int, bool]] = {"\n": (KEY_ENTER, False), "\t": (KEY_TAB, False)}
    for code, (plain, shifted) in sorted(LAYOUT.items()):  # the main block before the keypad
        where.setdefault(plain, (code, False))
        where.setdefault(shifted, (code, shifted != plain))
    try:
        return [where[ch] for ch in text]
    except KeyError as exc:
        raise ValueError(f"a US-layout keyboard has no key for {exc.args[0]!r}") from None


def key_reports(text: str, suffix: str = "enter") -> list[Report]:
    """What a USB keyboard sends to type ``text`` and the suffix key: per key one report that
    presses it (Shift with it when needed) and one that releases it."""
    presses = keys_for(text)
    if SUFFIX_KEY[suffix] is not None:
        presses.append((SUFFIX_KEY[suffix], False))
    reports = []
    for code, shift in presses:
        shift_key = [(EV_KEY, KEY_LEFTSHIFT)] if shift else []
        reports.append([(t, c, 1) for t, c in [*shift_key, (EV_KEY, code)]] + [SYN_REPORT])
        reports.append([(t, c, 0) for t, c in [(EV_KEY, code), *shift_key]] + [SYN_REPORT])
    return reports


class WedgeEmulator:
    """``port``: the FIFO the driver opens. ``silent``: the decoder hung, ``scan`` sends nothing.
    ``key_interval``: seconds between reports, as the scanner types (about 1 ms on USB)."""

    def __init__(self, suffix: str = "enter", key_interval: float = 0.001):
        self.suffix = suffix
        self.key_interval = key_interval
        self.silent = False
        self._dir = tempfile.mkdtemp(prefix="hidscan-")
        self.port = os.path.join(self._dir, "event0")
        os.mkfifo(self.port, 0o600)
        # Read-write, so the FIFO has a writer from the start and its reader sees no end of
        # input until close(); a long code must fit in the pipe while nobody reads (over-long test).
        self._fd: int | None = os.open(self.port, os.O_RDWR)
        with contextlib.suppress(OSError):
            fcntl.fcntl(self._fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        self._next_stamp = 0.0

    def scan(self, text: str) -> None:
        """A person holds a code under the scanner: it types the text and the suffix key."""
        if not self.silent:
            self.send(key_reports(text, self.suffix))

    def send(self, reports: list[Report]) -> None:
        """Reports as the kernel queues them: every record of one report has the same time stamp."""
        out = bytearray()
        for report in reports:
            at = max(time.time(), self._next_stamp)
            self._next_stamp = at + self.key_interval
            sec, usec = int(at), int(at % 1 * 1e6)
            for etype, code, value in report:
                out += EVENT.pack(sec, usec, etype, code, value)
        self._write(bytes(out))

    def pause(self, seconds: float) -> None:
        """The scanner waits: the next report is stamped ``seconds`` later (and sent at once)."""
        self._next_stamp = max(time.time(), self._next_stamp) + seconds

    def send_garbage(self, data: bytes) -> None:
        """Arbitrary bytes as records: the kernel hands over whole records only, so a confused
        device's junk arrives as records of any type, code and value (zero-padded to whole ones)."""
        self._write(data + bytes(-len(data) % EVENT.size))

    def _write(self, data: bytes) -> None:
        assert self._fd is not None, "the emulated scanner is unplugged"
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def close(self) -> None:
        """Unplugged: the node goes and the driver's reader sees the end of input."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> WedgeEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
