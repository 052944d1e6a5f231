"""When the garbage collector may pause the app: not while someone is at the kiosk.

A full collection walks every object the process holds (Kivy's, pydantic's, the search's
dictionaries): ~150 ms, and a tap made during it waits (it was most of the slowest touch → screen
times). So: what start-up made is frozen for good, automatic collections keep to the young
generations, and full ones run once a person has gone (the sign-out page is up: nobody waits)
and every minute of an idle kiosk; then malloc gives back the free pages it holds (a session's
pages, lists and textures come and go, and the heap kept their peak). Memory stays flat over
hundreds of sessions (bench/ui_bench.py, bench/SOAK.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import time
from collections.abc import Callable
from pathlib import Path

IDLE_AFTER_S, IDLE_EVERY_S = 1.0, 60.0
try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
    _malloc_trim.argtypes = [ctypes.c_size_t]
except (OSError, AttributeError):  # another C library: nothing to hand back this way
    _malloc_trim = None


M_ARENA_MAX, MALLOC_ARENAS = -8, 2  # (glibc's mallopt parameter)


def limit_malloc_arenas() -> None:
    """glibc gives threads malloc arenas of their own, up to eight per core: the kiosk's threads
    (the GL rasteriser's, the devices', the platform calls') ended up in 16, each a heap kept at
    its own peak and fragmented its own way. Two, shared, give the free pages of one session to
    the next. Call first thing, before the threads start."""
    with contextlib.suppress(OSError, AttributeError):  # another C library: its own ways
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def trim() -> None:
    """Hand the free pages malloc keeps back to the system (glibc; ~30 ms for a fragmented 300 MB heap)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def resident_mb() -> float:
    """This process's resident size now (Linux: /proc), as the soak and the UI bench sample it."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def sqlite_mb() -> float:
    """What SQLite holds (page caches, statements) in this process, all connections together."""
    lib = ctypes.CDLL("libsqlite3.so.0")  # the library Python's sqlite3 module is linked to
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib.sqlite3_memory_used() / 1e6


NO_AUTOMATIC_FULL = 1_000_000  # gen-1 collections between two full ones: never, in practice


class IdleCollector:
    def __init__(self, shell, monotonic: Callable[[], float] = time.monotonic):
        self.shell, self.monotonic = shell, monotonic
        self._touched = self._collected = monotonic()
        self._after = shell.sessions_ended

    def started(self) -> None:
        """Once, when the app shows its first frame."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(700, 10, NO_AUTOMATIC_FULL)
        self._touched = self._collected = self.monotonic()

    def touched(self) -> None:
        self._touched = self.monotonic()

    def nobody_here(self) -> bool:
        """No session, and no touch for a second: work that would hold up a tap may run now."""
        return not self.shell.session.active and self.monotonic() - self._touched >= IDLE_AFTER_S

    def tick(self) -> bool:
        """Call twice a second or so; True if it collected. A session that ended since the last
        call is collected after even if the next person has begun (their card is still being
        read: nobody waits on the screen)."""
        now, shell = self.monotonic(), self.shell
        gone = shell.sessions_ended != self._after
        if gone or (self.nobody_here() and now - self._collected >= IDLE_EVERY_S):
            self._collected, self._after = now, shell.sessions_ended
            gc.collect()
            trim()
            return True
        return False
