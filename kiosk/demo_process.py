"""The demo hardware (kiosk.demo) in a process of its own.

On a hall's terminal the reader, the printer and the scanner are devices on a cable: nothing of
theirs lives in the kiosk's process. The soak measures the kiosk's memory over hundreds of
sessions, so it runs the emulators here, out of the kiosk's process: their fonts and slip
pictures, and the "phone camera" that reads codes off the printed slips, would otherwise count as
the kiosk's. The emulators still speak their protocols through ptys and pcscd; only the hands
(place a card, open the cover, hold up a code) cross the pipe.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("kiosk.demo")

_PARTS = ("reader", "printer", "scanner", "ss_reader")  # DemoHardware's emulators, each a proxy here


class HardwareProcess:
    """DemoHardware's public surface, each attribute read, set or called in the child process."""

    def __init__(self, config_path: Path, slips_dir: Path, start_timeout: float = 60):
        self._config_path, self._slips_dir, self._timeout = str(config_path), str(slips_dir), start_timeout
        self._lock = threading.Lock()  # one request and its answer at a time on the pipe
        self._conn = None
        self._proc = None
        self.callables: set[tuple[str, str]] = set()  # (part, name) known to be methods: called in one trip

    def __enter__(self) -> HardwareProcess:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that has a GL context
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self._config_path, self._slips_dir),
                                 name="demo-hardware", daemon=True)
        self._proc.start()
        child.close()
        if not self._conn.poll(self._timeout):
            self._stop()
            raise RuntimeError(f"the demo hardware did not start within {self._timeout:.0f} s")
        kind, detail = self._conn.recv()
        if kind != "ready":
            self._stop()
            raise RuntimeError(f"the demo hardware did not start: {detail}")
        return self

    def __exit__(self, *exc) -> None:
        self._stop()

    def _stop(self) -> None:
        try:
            with self._lock:
                self._conn.send(("stop",))
                if self._conn.poll(20):  # it saves the slips it still holds, then closes the emulators
                    self._conn.recv()
        except (OSError, EOFError):  # it had already gone
            pass
        self._proc.join(10)
        if self._proc.is_alive():
            log.warning("the demo hardware process did not stop: killed")
            self._proc.kill()
            self._proc.join(5)
        self._conn.close()

    def request(self, *message) -> tuple[str, Any]:
        with self._lock:
            self._conn.send(message)
            kind, value = self._conn.recv()
        if kind == "error":
            raise RuntimeError(f"demo hardware: {value}")
        return kind, value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Remote(self, "").__getattr__(name)


class _Remote:
    """One object in the child (the hardware itself or one of its emulators)."""

    def __init__(self, host: HardwareProcess, part: str):
        object.__setattr__(self, "_host", host)
        object.__setattr__(self, "_part", part)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        host, part = self._host, self._part
        if (part, name) not in host.callables:  # (the demo panel asks for describe() twice a second)
            kind, value = host.request("get", part, name)
            if kind == "part":
                return None if value is None else _Remote(host, value)
            if kind == "value":
                return value
            host.callables.add((part, name))
        return lambda *args, **kwargs: host.request("call", part, name, args, kwargs)[1]

    def __setattr__(self, name: str, value: Any) -> None:
        self._host.request("set", self._part, name, value)


def _serve(conn, config_path: str, slips_dir: str) -> None:
    """The child: the demo hardware, answering the parent until it says stop or goes away."""
    from kiosk import config as kconfig
    from kiosk.demo import DemoHardware

    try:
        hw = DemoHardware(kconfig.load(Path(config_path)), Path(slips_dir)).__enter__()
    except Exception as exc:  # noqa: BLE001 (said to the parent, which raises it)
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    try:
        conn.send(("ready", None))
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the parent has gone
                break
            if message[0] == "stop":
                break
            try:
                conn.send(_answer(hw, *message))
            except Exception as exc:  # noqa: BLE001 (a bad request is the parent's error, not the child's end)
                conn.send(("error", f"{message[0]} {message[1] or 'hardware'}.{message[2]}: "
                                    f"{type(exc).__name__}: {exc}"))
    finally:
        hw.__exit__(None, None, None)
        with contextlib.suppress(OSError):  # the parent may have gone already
            conn.send(("stopped", None))


def _answer(hw, op: str, part: str, name: str, *rest) -> tuple[str, Any]:
    target = getattr(hw, part) if part else hw
    if name.startswith("_") or target is None:
        raise AttributeError(f"no {name!r} here")
    if op == "set":
        setattr(target, name, rest[0])
        return "value", None
    value = getattr(target, name)
    if op == "call":
        args, kwargs = rest
        return "value", value(*args, **kwargs)
    if not part and name in _PARTS:
        return "part", None if value is None else name
    return ("callable", None) if callable(value) else ("value", value)
