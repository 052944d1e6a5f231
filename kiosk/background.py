"""Calls to the central platform off the UI thread, their answers applied on it.

The UI must never wait on the network, and state must change on one thread only: a call runs in a
small pool, and ``apply_finished()`` (on the UI's tick) hands each finished call's answer to its
callback there. A CentralError goes to ``on_error``; any other exception is a bug, logged in
full and turned into a CentralError so the screen never freezes on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kiosk.central_client import CentralError

log = logging.getLogger("kiosk.background")


class Background:
    def __init__(self, workers: int = 3):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="central")
        self._pending: list[tuple[Future, Callable, Callable]] = []
        self._busy: set[str] = set()

    def call(self, fn: Callable[[], Any], on_done: Callable[[Any], Any], on_error: Callable[[CentralError], Any]) -> None:
        self._pending.append((self._pool.submit(fn), on_done, on_error))

    def answered(self) -> bool:
        """A call has finished and waits for ``apply_finished`` (cheap enough for every frame)."""
        return any(p[0].done() for p in self._pending)

    def once(self, name: str, fn: Callable[[], Any], on_done: Callable[[Any], Any],
             on_error: Callable[[CentralError], Any] | None = None) -> None:
        """Run ``fn`` unless the previous run of ``name`` is still going (a failure is logged,
        then given to ``on_error``)."""
        if name in self._busy:
            return
        self._busy.add(name)

        def done(result):
            self._busy.discard(name)
            on_done(result)

        def failed(exc: CentralError):
            self._busy.discard(name)
            log.warning("%s failed: %s", name, exc.message)
            if on_error is not None:
                on_error(exc)

        self.call(fn, done, failed)

    def apply_finished(self) -> None:
        finished = [p for p in self._pending if p[0].done()]
        self._pending = [p for p in self._pending if not p[0].done()]
        for fut, on_done, on_error in finished:
            try:
                result = fut.result()
            except CentralError as exc:
                log.warning("central call failed: %s", exc)
                on_error(exc)
            except Exception as exc:  # a bug in a call must not freeze the screen
                log.exception("central call crashed")
                on_error(CentralError(f"{type(exc).__name__}: {exc}"))
            else:
                on_done(result)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
