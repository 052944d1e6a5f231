"""The emulated PC/SC reader for the tests, the conformance harness and the demo: pcscd (reuse a
running one, or start `pcscd --foreground` and stop it after) and a vpcd reader to put the virtual
社保卡 (virtual_card.py) in and take it out (``VirtualReader``).

The Debian package vsmartcard-vpcd makes pcscd load libifdvpcd, which offers the readers
"Virtual PCD 00 00" (vpcd port 35963) and "Virtual PCD 00 01" (35964) for virtual cards.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

from smartcard import scard

from drivers.pcsc.virtual_card import VPCD_PORT, VirtualSocialSecurityCard

SOCKET = Path("/run/pcscd/pcscd.comm")
VIRTUAL = "Virtual PCD"
READERS = (f"{VIRTUAL} 00 00", f"{VIRTUAL} 00 01")  # by vpcd slot: the card connects to PORTS[slot]
PORTS = tuple(VPCD_PORT + slot for slot in range(len(READERS)))


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


# /proc/net/tcp's socket states (include/net/tcp_states.h), for the message when a port is held.
_TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
               "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN",
               "0B": "CLOSING"}


def vpcd_can_listen(port: int) -> bool:
    """Whether vpcd's listening socket could be opened on ``port`` now: bound as vpcd binds it
    (any address, SO_REUSEADDR), which other sockets' TIME_WAIT on the port may still refuse.

    vpcd listens on 35963-35964, inside the kernel's range of ephemeral ports: a connection of any
    program may have been given one of them, and until it is gone (60 s after it closes, in
    TIME_WAIT) pcscd starts without the virtual reader and says nothing of why."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("0.0.0.0", port))
        probe.listen(0)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def port_holders(ports) -> list[str]:
    """The TCP sockets bound to one of ``ports`` on this machine, as 'port STATE', from /proc/net."""
    wanted = {f"{port:04X}": port for port in ports}
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = fields[1].rsplit(":", 1)[1]
                if local_port in wanted:
                    found.append(f"{wanted[local_port]} {_TCP_STATES.get(fields[3], fields[3])}")
    return found


def pcscd_processes() -> list[int]:
    """Running pcscd processes (any program's), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "pcscd":
                    found.append(int(entry.name))
    return found


class Pcscd:
    """The daemon the tests talk to; ``owned`` when this process started it (and may restart it)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.owned = False

    def ready(self) -> bool:
        return any(VIRTUAL in n for n in reader_names())

    def start(self, timeout: float = 10.0, port_wait: float = 65.0) -> None:
        if self.ready():
            return
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(binary).exists():
            raise RuntimeError("pcscd is not installed (Debian packages pcscd and vsmartcard-vpcd)")
        # A closed connection keeps its port for 60 s (TIME_WAIT): wait that out rather than start
        # a pcscd without the reader. `make test` reserves the ports so that this seldom happens.
        if not wait_for(lambda: all(vpcd_can_listen(port) for port in PORTS), port_wait, 0.5):
            raise RuntimeError(f"vpcd's ports are held by other sockets after {port_wait:.0f} s: "
                               f"{', '.join(port_holders(PORTS))} (sysctl net.ipv4.ip_local_reserved_ports="
                               f"{PORTS[0]}-{PORTS[-1]} keeps other programs off them)")
        # Another program's pcscd that is still going away holds vpcd's port: ours would start
        # without the virtual reader. Wait for it to go; try twice.
        for _attempt in range(2):
            wait_for(lambda: not pcscd_processes(), 5.0, 0.1)
            self.proc = subprocess.Popen([binary, "--foreground"], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            self.owned = True
            if wait_for(self.ready, timeout / 2, 0.1):
                return
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


class VirtualReader:
    """One vpcd reader with a virtual 社保卡 to put in and take out: the hands of the demo and of
    the conformance harness. ``start()`` makes sure pcscd runs (starting it if need be), ``stop()``
    takes the card out and stops pcscd if this reader started it."""

    def __init__(self, slot: int = 0) -> None:
        self.name = READERS[slot]
        self.port = PORTS[slot]
        self.pcscd = Pcscd()
        self.card: VirtualSocialSecurityCard | None = None

    def start(self) -> None:
        self.pcscd.start()

    def stop(self) -> None:
        self.remove()
        self.pcscd.stop()

    @property
    def has_card(self) -> bool:
        return self.card is not None

    def insert(self, card: VirtualSocialSecurityCard | None = None) -> None:
        """Put ``card`` (default: the sample card) in; a card in the slot comes out first. vpcd can
        take a card connected straight after another for the same one (pcscd never sees the slot
        empty, which no real reader does), so the new card waits until the slot was seen empty."""
        self.remove()
        self.card = card or VirtualSocialSecurityCard(self.port)
        self.card.insert()

    def remove(self) -> None:
        """Take the card out and wait (bounded) until pcscd has seen the slot empty, as a person
        takes a moment before the next card goes in."""
        card, self.card = self.card, None
        if card is not None:
            card.remove()
            wait_for(lambda: not card_present(self.name), 5.0)
