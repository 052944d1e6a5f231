"""Start-up: the welcome page on screen first, the rest of the kiosk in the frames after it.

A bare Kivy window takes about 0.3 s to its first frame; checking the configuration (pydantic)
and loading the kiosk (the journeys, the platform's models, the drivers) would double that before
anything is drawn. So start-up:

1. reads from the configuration file only what the first frame shows (``first_frame``: window,
   language, hall, terminal id), with kiosk.config's defaults for anything missing or unusable;
2. checks the whole configuration in a child process (``ConfigCheck``) while this one loads Kivy,
   and waits for its verdict before the window opens: a configuration that fails the check is
   refused with the one-line error of ``kiosk config check``, before anything is shown;
3. draws the welcome page from ``FirstShell``, which stands in for kiosk.shell.Shell until
   ``assemble`` has built the real one (after the first frame; touches wait for it in Kivy's queue).

The welcome page of the first frame is the one the shell shows (kiosk.welcome), with two things
it learns only once assembled: the device status line (every device is "unknown" until it answers)
and the citizen-code hint, which needs the drivers to know a scanner is there.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from kiosk.i18n import LANGUAGES, Translator
from kiosk.welcome import entries, welcome_page

MAX_MESSAGE = 2000
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "kiosk.toml"
DEMO_CONFIG = DEFAULT_CONFIG.with_name("demo.toml")


@dataclass(frozen=True)
class FirstFrame:
    """What the first frame needs. Defaults are kiosk.config's (a test keeps them equal)."""

    width: int = 1280
    height: int = 800
    fullscreen: bool = False
    font_scale: float = 1.0
    language: str = "zh_CN"
    hall: str = "政务服务中心"
    terminal_id: str = "KIOSK-0001"
    var: str = "var"
    panel: bool = True


def first_frame(path: str | os.PathLike) -> FirstFrame:
    """Never fails: the full check (ConfigCheck) says what is wrong with the file."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, ValueError, RecursionError):
        data = {}
    d = FirstFrame()

    def get(section: str, key: str, kind: type, default):
        table = data.get(section)
        value = table.get(key, default) if isinstance(table, dict) else default
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        return value if ok else default

    lang = get("terminal", "language", str, d.language)
    return FirstFrame(
        width=min(max(get("display", "width", int, d.width), 320), 7680),
        height=min(max(get("display", "height", int, d.height), 240), 4320),
        fullscreen=get("display", "fullscreen", bool, d.fullscreen),
        font_scale=min(max(float(get("display", "font_scale", (int, float), d.font_scale)), 0.5), 3.0),
        language=lang if lang in LANGUAGES else d.language,
        hall=get("terminal", "hall", str, d.hall)[:100],
        terminal_id=get("terminal", "id", str, d.terminal_id)[:64],
        var=get("paths", "var", str, d.var),
        panel=get("demo", "panel", bool, d.panel),
    )


class ConfigCheck:
    """``kiosk.config.load(path)`` in a forked child, beside whatever this process does meanwhile.
    ``verdict()``: "" when the configuration is good, else the line staff see."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: check, answer, leave without running anything of the parent's
            os.close(read)
            try:
                os.write(write, self._check().encode("utf-8")[:MAX_MESSAGE])
            finally:
                os._exit(0)
        os.close(write)
        self._read = read

    def _check(self) -> str:
        try:
            from kiosk import config

            config.load(self.path)
        except Exception as exc:  # ConfigError: its own line; anything else is a bug in the check
            text = str(exc) if type(exc).__name__ == "ConfigError" else \
                f"{self.path}: cannot be checked: {type(exc).__name__}: {exc}"
            return f"config error: {text}"
        return ""

    def verdict(self) -> str:
        chunks = []
        while chunk := os.read(self._read, 4096):
            chunks.append(chunk)
        os.close(self._read)
        _, status = os.waitpid(self.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 and not chunks:
            return f"config error: {self.path}: the check died (exit status {os.waitstatus_to_exitcode(status)})"
        return b"".join(chunks).decode("utf-8", "replace")


class FirstShell:
    """What the app asks of kiosk.shell.Shell before the kiosk is assembled (screens/app.py asks
    for the rest only after): the welcome page, nobody there, nothing known of the devices yet."""

    idle_warning = None
    elder = False

    def __init__(self, first: FirstFrame):
        self.tr = Translator(first.language)
        self.config = SimpleNamespace(terminal=SimpleNamespace(id=first.terminal_id, hall=first.hall))
        self.page = welcome_page(self.tr, entries(self.tr))

    @property
    def hall(self) -> str:
        from kiosk.guide_text import in_language  # OpenCC is loaded only for a 繁體 terminal

        return in_language(self.config.terminal.hall, self.tr.lang)

    def device_summary(self) -> list[tuple[str, str, bool]]:
        return []

    def touch(self) -> None:
        pass
