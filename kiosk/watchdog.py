"""Telling systemd how the kiosk is (sd_notify): ready, alive, which screen it shows.

The unit (systemd/kiosk@.service) is ``Type=notify`` with ``WatchdogSec=``: systemd counts the
kiosk as started only on READY=1, and kills and restarts it when WATCHDOG=1 stops coming. The
pings are sent from the UI's own clock (screens/app.py), so a main loop that hangs (a blocked
callback, a deadlock) stops them and the terminal comes back by itself; a thread pinging would
keep a frozen screen alive.

Outside systemd (no $NOTIFY_SOCKET: a terminal session, the demo, tests) every call does nothing.
STATUS= is the screen's name only: `systemctl status` is readable by anyone on the machine.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("kiosk.watchdog")


class Notifier:
    def __init__(self):
        environ = os.environ  # libsystemd reads $NOTIFY_SOCKET there too
        self.enabled = bool(environ.get("NOTIFY_SOCKET"))
        self.interval_s: float | None = None  # how often alive() should be called, None: never
        usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
        # WATCHDOG_PID names the process systemd watches; a child that inherited it must not ping.
        if self.enabled and usec.isdigit() and int(usec) > 0 and pid in ("", str(os.getpid())):
            self.interval_s = int(usec) / 2e6  # half the timeout, as sd_watchdog_enabled(3) advises
        self._status = ""
        self._failed = False
        self._notify = None

    def _send(self, kind: str, value: str | None = None) -> None:
        if not self.enabled:
            return
        if self._notify is None:  # loaded only under systemd
            from cysystemd.daemon import Notification, notify

            self._notify = lambda k, v: notify(Notification[k], v, return_exceptions=False)
        try:
            self._notify(kind, value)
        except (OSError, ValueError, RuntimeError) as exc:  # (libsystemd's error codes) said once; the kiosk goes on
            if not self._failed:
                log.warning("cannot notify systemd (%s): %s", kind, exc)
            self._failed = True

    def ready(self) -> None:
        self._send("READY")

    def alive(self) -> None:
        self._send("WATCHDOG")

    def status(self, screen: str) -> None:
        if screen != self._status:
            self._status = screen
            self._send("STATUS", f"screen: {screen}")

    def stopping(self) -> None:
        self._send("STOPPING")
