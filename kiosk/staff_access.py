"""Who may open maintenance mode: a staff card on a reader, or the hidden gesture and the PIN.

- A staff card: its number (the 社保卡 number a PC/SC reader reports, or the ID number the ID card
  reader reads) is in ``[staff] cards``. Compared in constant time; logged and audited masked.
- The gesture: 5 taps within 3 s on the terminal id in the status bar, then the PIN pad. The PIN
  is kept as an Argon2 hash (``[staff] pin_hash``, printed by ``kiosk staff hash-pin``).
- ``lock_after`` wrong PINs in a row lock the PIN for ``lock_min`` minutes. The count and the lock
  are kept in ``VAR/staff-lock.json`` (0600), so a restart (or pulling the plug) does not give a
  guesser five more tries.

How long a lock has lasted, across a restart, without trusting the wall clock: the file keeps the
kernel's boot id and CLOCK_BOOTTIME at the moment of the lock (that clock counts from boot, never
jumps when NTP or a person sets the time, and keeps counting through a process restart), and the
wall time as well. After an app restart in the same boot, the boot clock gives the exact time
elapsed. After a reboot the boot clock started again, so the wall clock is the only witness: the
time elapsed is taken from it but never less than 0 (a clock set back cannot lengthen the lock
past its full length) nor more than it says (a clock set forward ends the lock early: changing a
terminal's clock needs root on it, which needs no PIN).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devices.events import CardInserted, CodeScanned, ErrorEvent, IdentityRead, RequestDone, StatusChanged
from devices.identity import mask_number
from kiosk import staff

log = logging.getLogger("kiosk.staff")

TAPS, TAP_WINDOW_S = 5, 3.0
LOCK_FILE = "staff-lock.json"


def hash_pin(pin: str) -> str:
    """The Argon2id hash of ``pin`` (argon2-cffi's defaults: RFC 9106's low-memory profile)."""
    from argon2 import PasswordHasher

    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a PIN is 4 to 12 digits")
    return PasswordHasher().hash(pin)


def pin_matches(pin_hash: str, pin: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    if not pin_hash or not pin:
        return False
    try:
        return PasswordHasher().verify(pin_hash, pin)
    except VerificationError:
        return False
    except InvalidHashError:
        log.error("[staff] pin_hash is not an Argon2 hash: PIN entry cannot succeed (kiosk staff hash-pin)")
        return False


def staff_card(cards: list[str], number: str) -> bool:
    """``number`` is on the allow-list (every entry compared, in constant time)."""
    number = "".join(number.split()).upper()
    found = False
    for card in cards:
        found |= hmac.compare_digest("".join(card.split()).upper().encode(), number.encode())
    return bool(number) and found


def masked(number: str) -> str:
    return mask_number(number) if len(number) > 10 else number[:2] + "*" * max(len(number) - 4, 0) + number[-2:]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


@dataclass
class LockState:
    failures: int = 0
    locked_at_boot: float | None = None  # CLOCK_BOOTTIME when the lock began
    locked_at_wall: float | None = None
    boot_id: str = ""


class PinLock:
    """Wrong PINs counted, and the lock after ``lock_after`` of them, kept in a file."""

    def __init__(self, var_dir: str | Path, lock_after: int, lock_s: float,
                 boottime: Callable[[], float] = _boottime, wall: Callable[[], float] = time.time,
                 boot_id: Callable[[], str] = _boot_id):
        self.path = Path(var_dir) / LOCK_FILE
        self.lock_after, self.lock_s = lock_after, lock_s
        self.boottime, self.wall, self.boot_id = boottime, wall, boot_id
        self.state = self._read()

    def _read(self) -> LockState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return LockState(int(raw.get("failures", 0)), raw.get("locked_at_boot"), raw.get("locked_at_wall"),
                             str(raw.get("boot_id", "")))
        except FileNotFoundError:
            return LockState()
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            # A damaged file must not unlock the PIN: treat it as a lock that has just begun.
            log.warning("%s unreadable (%s): the PIN is locked as after %d wrong tries", self.path, exc,
                        self.lock_after)
            return self._locked_now(LockState(failures=self.lock_after))

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as f:
            json.dump(vars(self.state), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def _locked_now(self, state: LockState) -> LockState:
        state.locked_at_boot, state.locked_at_wall, state.boot_id = self.boottime(), self.wall(), self.boot_id()
        return state

    def elapsed(self) -> float:
        """Seconds since the lock began (see the module's docstring for which clock says so)."""
        s = self.state
        if s.locked_at_boot is not None and s.boot_id and s.boot_id == self.boot_id():
            return max(0.0, self.boottime() - s.locked_at_boot)
        return max(0.0, self.wall() - (s.locked_at_wall or 0.0))

    def seconds_left(self) -> int:
        """0 when a PIN may be tried."""
        if self.state.locked_at_wall is None:
            return 0
        left = self.lock_s - self.elapsed()
        if left <= 0:  # the lock is over: a fresh count of tries
            self.state = LockState()
            self._write()
            return 0
        return int(left + 0.999)

    @property
    def failures(self) -> int:
        return self.state.failures

    def failed(self) -> None:
        self.state.failures += 1
        if self.state.failures >= self.lock_after:
            self._locked_now(self.state)
            log.warning("maintenance PIN locked for %.0f minutes after %d wrong tries", self.lock_s / 60,
                        self.state.failures)
        self._write()

    def succeeded(self) -> None:
        if self.state != LockState():
            self.state = LockState()
            self._write()


class TapCounter:
    """The hidden gesture: ``TAPS`` taps, each within ``TAP_WINDOW_S`` of the first."""

    def __init__(self, monotonic: Callable[[], float]):
        self.monotonic = monotonic
        self.taps: list[float] = []

    def tap(self) -> bool:
        now = self.monotonic()
        self.taps = [t for t in self.taps if now - t <= TAP_WINDOW_S] + [now]
        if len(self.taps) >= TAPS:
            self.taps = []
            return True
        return False


class StaffDoor:
    """The shell's way into maintenance mode (``shell.staff``): the gesture, staff cards, the PIN's
    lock, and the devices' last errors for the device tiles. While maintenance mode is on the
    stack, card reads and scans are its tests (``Maintenance.on_read``), not a citizen's."""

    def __init__(self, shell):
        self.shell = shell
        cfg = shell.config.staff
        self.lock = PinLock(shell.config.var_dir, cfg.lock_after, cfg.lock_min * 60)
        self.taps = TapCounter(shell.monotonic)
        self.last_errors: dict[str, str] = {}
        self.errors = staff.watch_errors()

    @property
    def journey(self):
        return next((j for j in self.shell.stack if j.name == "maintenance"), None)

    def tap(self) -> None:
        if self.taps.tap() and self.journey is None:
            self.enter("pin")

    def enter(self, via: str, card: str = "") -> None:
        from kiosk.journeys.base import Start  # (the journeys package imports this module)

        shell = self.shell
        log.info("maintenance mode entered (%s)", f"card {card}" if card else via)
        shell.end_session("maintenance")  # whoever was here is gone before staff see anything
        shell._apply(shell.journey, Start("maintenance", {"via": via, "card": card}))

    def on_event(self, event) -> bool:
        """True: the event was maintenance mode's (a staff card, or a test read)."""
        at = time.strftime("%H:%M:%S")
        if isinstance(event, ErrorEvent):
            self.last_errors[event.device] = f"{at} {event.message}"[:160]
        elif isinstance(event, RequestDone) and not event.ok:
            self.last_errors[event.device] = f"{at} {event.action}: {event.error}"[:160]
        elif isinstance(event, StatusChanged) and event.state.value in ("no_device", "hardware_error"):
            self.last_errors[event.device] = f"{at} {event.state.value}"
        if not isinstance(event, IdentityRead | CardInserted | CodeScanned):
            return False
        journey = self.journey
        if journey is not None:
            journey.on_read(event)
            self.shell._changed()
            return True
        number = (event.identity.id_number if isinstance(event, IdentityRead)
                  else event.info.get("card_number", "") if isinstance(event, CardInserted) else "")
        if number and staff_card(self.shell.config.staff.cards, number):
            self.enter("card", masked(number))
            return True
        return False
