"""pcscd for the PC/SC tests, the conformance harness and the demo: reuse a running one, or start
`pcscd --foreground` and stop it after.

The Debian package vsmartcard-vpcd makes pcscd load libifdvpcd, which offers the readers
"Virtual PCD 00 00" (vpcd port 35963) and "Virtual PCD 00 01" (35964) for virtual cards.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

from smartcard import scard

SOCKET = Path("/run/pcscd/pcscd.comm")
VIRTUAL = "Virtual PCD"


def reader_names() -> list[str]:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return []
    try:
        hr, names = scard.SCardListReaders(ctx, [])
        return list(names) if hr == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(ctx)


def card_present(reader: str) -> bool:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return False
    try:
        hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return hr == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(ctx)


def wait_for(predicate, timeout: float = 5.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Pcscd:
    """The daemon the tests talk to; ``owned`` when this process started it (and may restart it)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.owned = False

    def ready(self) -> bool:
        return any(VIRTUAL in n for n in reader_names())

    def start(self, timeout: float = 10.0) -> None:
        if self.ready():
            return
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(binary).exists():
            raise RuntimeError("pcscd is not installed (Debian packages pcscd and vsmartcard-vpcd)")
        self.proc = subprocess.Popen([binary, "--foreground"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.owned = True
        if not wait_for(self.ready, timeout, 0.1):
            self.stop()
            raise RuntimeError(f"pcscd started but no '{VIRTUAL}' reader within {timeout} s "
                               "(is vsmartcard-vpcd installed?)")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        with contextlib.suppress(FileNotFoundError):
            wait_for(lambda: not SOCKET.exists(), 2.0)
