"""Starts the Kivy UI: the welcome page first, the kiosk assembled after it (kiosk.startup)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from devices.fonts import cjk_font
from kiosk.startup import ConfigCheck, FirstFrame, FirstShell
from screens.kivy_setup import configure

# (an ExitStack that lives as long as the app) -> (the shell, the demo hardware or None)
Assemble = Callable[[ExitStack], tuple[Any, Any]]


def _quiet(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def run_ui(config_path: str | os.PathLike, first: FirstFrame, assemble: Assemble, demo: bool = False,
           tour_out=None, on_started=None, audit: bool = False) -> tuple[int, str]:
    """Run the UI until it stops; with ``tour_out`` run the headless tour, with ``on_started``
    call it with the app once the kiosk is assembled (bench/ui_bench.py drives it); with ``audit``
    the tour audits each page it pictures (screens/audit.py). Returns
    (exit code, failure): 2 and the one-line error for a configuration that fails its check."""
    check = ConfigCheck(config_path)  # beside Kivy's loading, on the other core
    panel = demo and first.panel
    # Kivy loads quietly until the check has answered: if it fails, its line is all staff see.
    kivy_log = logging.getLogger("kivy")  # (Kivy sets its logger's level as it loads: a filter stays)
    kivy_log.addFilter(_quiet)
    configure(first.width + (240 if panel else 0), first.height, first.fullscreen, first.font_scale,
              str(cjk_font("regular")), str(cjk_font("bold")), headless=tour_out is not None)
    import kivy.app  # noqa: F401  (what does not open the window yet)
    import kivy.lang  # noqa: F401

    kivy_log.removeFilter(_quiet)
    failure = check.verdict()
    if failure:
        return 2, failure
    # Only now may the window open: importing the app creates it.
    from screens.app import KioskApp

    tour = None
    if tour_out is not None:
        from screens.tour import Tour

        tour = Tour(tour_out, audit=audit)
    app = KioskApp(FirstShell(first), assemble, panel=panel,
                   on_started=tour.start if tour is not None else on_started)
    app.run()
    if app.failure:
        return 2, app.failure
    return (tour.exit_code, tour.failure) if tour is not None else (app.exit_code, "")
