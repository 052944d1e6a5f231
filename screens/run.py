"""Starts the Kivy UI for a shell: configures Kivy first, then imports it."""

from __future__ import annotations

from devices.fonts import cjk_font
from kiosk.config import KioskConfig
from kiosk.shell import Shell
from screens.kivy_setup import configure


def run_ui(shell: Shell, config: KioskConfig, demo=None, tour_out=None, on_started=None) -> tuple[int, str]:
    """Run the UI until it stops; with ``tour_out`` run the headless tour, with ``on_started``
    call it with the app once it runs (bench/ui_bench.py drives it). Returns (exit code, failure)."""
    headless = tour_out is not None
    d = config.display
    configure(d.width + (240 if demo is not None and config.demo.panel else 0), d.height, d.fullscreen,
              d.font_scale, str(cjk_font("regular")), str(cjk_font("bold")), headless=headless)
    # Only now may Kivy be imported: its window takes the configuration it finds at import.
    from screens.app import KioskApp

    tour = None
    if tour_out is not None:
        from screens.tour import Tour

        tour = Tour(tour_out, demo)
    app = KioskApp(shell, demo=demo if config.demo.panel else None,
                   on_started=tour.start if tour is not None else on_started)
    app.run()
    return (tour.exit_code, tour.failure) if tour is not None else (0, "")
