"""The real app (`kiosk run`'s) with a hand on its main loop, for tests/test_watchdog.py.

``python -m tests.watchdog_child CONFIG`` runs the kiosk as `kiosk run` does; each line on stdin is
an order: ``freeze`` schedules a callback on the UI's clock that blocks until ``thaw`` (as a hung
callback would), ``stop`` stops the app.
"""

from __future__ import annotations

import sys
import threading

from kiosk.cli import _setup_logging
from kiosk.startup import first_frame


def main(config: str) -> int:
    from screens.run import run_ui

    _setup_logging(False)
    thaw = threading.Event()

    def orders(app) -> None:
        from kivy.clock import Clock  # (only after run_ui has configured Kivy)

        for line in sys.stdin:
            order = line.strip()
            if order == "freeze":
                thaw.clear()
                Clock.schedule_once(lambda _dt: thaw.wait(30))  # Kivy's scheduling is thread-safe
            elif order == "thaw":
                thaw.set()
            elif order == "stop":
                thaw.set()
                Clock.schedule_once(lambda _dt: app.stop())

    def started(app) -> None:
        threading.Thread(target=orders, args=(app,), daemon=True).start()
        print("started", flush=True)

    def assemble(stack):
        from kiosk import config as cfgmod
        from kiosk.runtime import running_kiosk

        return stack.enter_context(running_kiosk(cfgmod.load(config))), None

    code, failure = run_ui(config, first_frame(config), assemble, on_started=started)
    if failure:
        print(failure, file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
