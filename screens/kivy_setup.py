"""Kivy configuration that must happen before any other Kivy import (see the Kivy notes)."""

from __future__ import annotations

import os
from pathlib import Path


def configure(width: int, height: int, fullscreen: bool, font_scale: float, font_regular: str,
              font_bold: str, headless: bool = False) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ["KIVY_METRICS_FONTSCALE"] = str(font_scale)
    if headless:
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kivy.config import Config

    g = "graphics"
    # Borderless at the exact screen size: 'fullscreen=auto' is broken on a bare X server.
    Config.set(g, "fullscreen", "auto" if fullscreen else "0")
    Config.set(g, "borderless", "1")
    Config.set(g, "position", "custom")
    Config.set(g, "left", "0")
    Config.set(g, "top", "0")
    Config.set(g, "width", str(width))
    Config.set(g, "height", str(height))
    Config.set(g, "resizable", "0")
    Config.set(g, "allow_screensaver", "0")
    Config.set(g, "show_cursor", "1" if headless else "0")
    # 60, not 30: a touch whose page comes a frame later (a search, an answer from the pool)
    # waited up to 33 ms for that frame; idle, Kivy draws nothing new either way (1.5 % of a core
    # against 1.2 %, measured on a static screen under software GL)
    Config.set(g, "maxfps", "60")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "desktop", "0")
    Config.set("kivy", "default_font", str(["KioskCJK", font_regular, font_regular, font_bold, font_bold]))
    for key, _ in list(Config.items("input")):
        Config.remove_option("input", key)
    # One touch route only: X pointer emulation. Adding probesysfs too would double every touch.
    Config.set("input", "mouse", "mouse,disable_multitouch")


def process_age() -> float:
    """Seconds since this process started (Linux: /proc), for the start-up time."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


def peak_memory_mb() -> float:
    try:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return float("nan")
    return int(line.split()[1]) / 1024
