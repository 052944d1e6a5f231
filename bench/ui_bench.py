"""The app at the speed of touch, under Xvfb (software GL): start-up, touch → next screen, memory.

- start-up: a new process to its first drawn frame, the kiosk as a terminal runs it (`kiosk run`,
  its reader, printer and scanner emulated and the reference platform running, each a program of
  its own as on a terminal) against a bare Kivy app showing one label, configured alike; and
  `kiosk demo` for reference (it starts its emulators and platform itself). Median of 5 after one
  warm-up run each (the kiosk's log line "first frame drawn X s after the process started", the
  same measure in the bare app). Peak memory at that frame too.
- touch → next screen drawn: the demo driven in-process by taps dispatched through the window as a
  finger's (press and release at the widget's centre), each timed from the press to the first
  frame drawn once the app shows the page it leads to; ≥ 30 taps per step of the guide journey.
- memory: resident size after sessions 10 and 200 (a card placed, a guide searched and opened,
  the card taken away), after a full garbage collection.

Run: .venv/bin/python bench/ui_bench.py [--runs 5] [--taps 30] [--sessions 200] [--only startup|taps|memory]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.children import stop  # noqa: E402

READY = re.compile(r"kiosk ready ([0-9.]+) s after the process started")
FIRST_FRAME = re.compile(r"first frame drawn ([0-9.]+) s after the process started .*peak memory ([0-9]+) MB")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rss_mb() -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def bench_config(folder: Path) -> Path:
    """The demo's configuration with its state in ``folder``."""
    text = (ROOT / "config" / "demo.toml").read_text("utf-8")
    text = re.sub(r'(?m)^var = .*$', f'var = "{folder / "var"}"', text)
    path = folder / "kiosk.toml"
    path.write_text(text, "utf-8")
    return path


# -- start-up ------------------------------------------------------------------------------------
def _first_frame(cmd: list[str], env: dict, ready: bool) -> tuple[float, float, float]:
    """(first frame, peak memory then, and with ``ready`` the kiosk's "ready" time: assembled, the
    welcome page answering touches) of a new process."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        first = None
        for line in proc.stderr:
            if first is None and (m := FIRST_FRAME.search(line)):
                first = float(m.group(1)), float(m.group(2))
                if not ready:
                    return (*first, float("nan"))
            elif first is not None and (m := READY.search(line)):
                return (*first, float(m.group(1)))
            if time.monotonic() > deadline:
                break
        raise SystemExit(f"no first frame from {cmd}")
    finally:
        stop(proc, 20)


def terminal_config(folder: Path, reader, printer, scanner, url: str) -> Path:
    """A terminal's configuration: its devices on the emulators' ports, the platform at ``url``."""
    text = (ROOT / "config" / "demo.toml").read_text("utf-8")
    text = re.sub(r'(?m)^var = .*$', f'var = "{folder / "term"}"', text)
    text = re.sub(r'(?m)^url = .*$', f'url = "{url}"', text)
    text = re.sub(r"(?ms)^\[demo\].*?(?=^\[)", "", text)
    text = re.sub(r"(?ms)^\[devices\.sscard\].*?(?=^\[|\Z)", "", text)
    ports = iter((reader.port, printer.port, scanner.port))
    text = re.sub(r'(?m)^port = "emulator"$', lambda _m: f'port = "{next(ports)}"', text)
    path = folder / "terminal.toml"
    path.write_text(text, "utf-8")
    return path


def bench_startup(folder: Path, runs: int) -> None:
    """``kiosk run`` as on a terminal: the devices (emulators) and the platform are there already,
    other programs; and, for reference, ``kiosk demo``, which starts its emulators and platform."""
    from central.server import BackgroundServer
    from drivers.escpos.emulator import VirtualPrinter
    from drivers.samv.emulator import SamEmulator
    from drivers.serialscan.emulator import SerialScannerEmulator

    kiosk = str(Path(sys.executable).parent / "kiosk")
    with BackgroundServer(folder / "central.db") as platform, SamEmulator() as reader, \
            VirtualPrinter() as printer, SerialScannerEmulator() as scanner:
        cmds = {"bare": ([sys.executable, __file__, "--bare"], {}),
                "kiosk run": ([kiosk, "run"], {"KIOSK_CONFIG": str(terminal_config(folder, reader, printer, scanner,
                                                                                   platform.url))}),
                "kiosk demo": ([kiosk, "demo"], {"KIOSK_CONFIG": str(bench_config(folder))})}
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cmds}
        for i in range(runs + 1):
            for name, (cmd, env) in cmds.items():
                t = _first_frame(cmd, dict(os.environ, **env), ready=name != "bare")
                if i:  # the first run of each warms the disk cache and seeds the databases
                    results[name].append(t)
    b = statistics.median(t for t, _, _ in results["bare"])
    bm = statistics.median(m for _, m, _ in results["bare"])
    print(f"start-up to the first frame (median of {runs}; target kiosk run ≤ 1.5x bare): bare Kivy {b:.2f} s, "
          f"peak memory {bm:.0f} MB")
    for name in ("kiosk run", "kiosk demo"):
        k = statistics.median(t for t, _, _ in results[name])
        km = statistics.median(m for _, m, _ in results[name])
        r = statistics.median(r for _, _, r in results[name])
        print(f"  {name:<10} first frame {k:.2f} s: {k / b:.2f}x; peak memory {km:.0f} MB; "
              f"ready (assembled, answering touches) {r:.2f} s: {r / b:.2f}x")


def bare_app() -> None:
    """A Kivy app showing one label, configured as the kiosk configures Kivy (window of the demo's
    size, the CJK font); it imports nothing of the kiosk but the Kivy set-up."""
    import logging

    from devices.fonts import cjk_font
    from screens.kivy_setup import configure, peak_memory_mb, process_age

    logging.basicConfig(level=logging.INFO)
    configure(1280 + 240, 800, False, 1.0, str(cjk_font("regular")), str(cjk_font("bold")))
    from kivy.app import App
    from kivy.core.window import Window
    from kivy.uix.label import Label

    def first(*_):
        Window.unbind(on_flip=first)
        logging.getLogger("bare").info("first frame drawn %.3f s after the process started (peak memory %.0f MB)",
                                       process_age(), peak_memory_mb())

    class Bare(App):
        def build(self):
            Window.bind(on_flip=first)
            return Label(text="政务服务自助终端", font_size="40sp")

    Bare().run()


# -- driving the app in-process ----------------------------------------------------------------
class Driver:
    """Taps like a finger and times each tap to the first frame that shows where it leads."""

    def __init__(self, taps: int, sessions: int):
        self.hw, self.taps, self.sessions = None, taps, sessions
        self.sessions_done = 0
        self.times: dict[str, list[float]] = {}
        self.memory: dict[int, float] = {}
        self.flips = 0
        self.failure = ""

    def start(self, app) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window

        self.app, self.shell, self.hw = app, app.shell, app.hardware
        Window.bind(on_flip=self._flip)
        self._gen = self.script()
        self._event = Clock.schedule_interval(self._step, 0)

    def _flip(self, *_):
        self.flips += 1
        self.last_flip = time.perf_counter()

    def _step(self, _dt):
        try:
            next(self._gen)
        except StopIteration:
            self._event.cancel()
            self.app.stop()
        except Exception as exc:  # noqa: BLE001 (reported, then the app stops)
            self.failure = (f"{type(exc).__name__}: {exc} (screen {self.shell.page.screen}, devices "
                            f"{self.shell.device_states}, session {self.sessions_done})")
            self._event.cancel()
            self.app.stop()

    def tap(self, widget) -> None:
        from kivy.tests.common import UnitTestTouch

        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def wait(self, cond, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s")
            yield

    def timed(self, label: str, widget, cond):
        """Tap ``widget``; the time to the first frame drawn after ``cond`` holds."""
        t0 = time.perf_counter()
        self.tap(widget)
        try:
            yield from self.wait(cond)
        except TimeoutError as exc:
            raise TimeoutError(f"{label}: {exc}") from None
        seen = self.flips
        yield from self.wait(lambda: self.flips > seen)
        self.times.setdefault(label, []).append(self.last_flip - t0)
        yield from self.settle()

    def settle(self):
        """A finger's next tap comes later than the frame that shows the page (0.2 s)."""
        later = time.monotonic() + 0.2
        yield from self.wait(lambda: time.monotonic() > later)

    def on(self, screen: str, **data):
        return lambda: (self.app.sm.current == screen and self.shell.page.screen == screen
                        and all(getattr(self.shell.page, k) == v for k, v in data.items()))

    def entry(self, journey: str):
        screen = self.app.sm.get_screen(self.app.sm.current)
        return next(w for w in screen.walk() if getattr(w, "journey", None) == journey)

    def script(self):
        yield from self.wait(lambda: self.shell.catalogue is not None and self.shell.catalogue.ready, 60)
        yield from self.wait(lambda: all(ok for _n, _t, ok in self.shell.device_summary()), 30)
        for _ in range(20):  # settle
            yield
        if self.taps:
            for _ in range(self.taps):
                yield from self.guide_round()
        for n in range(1, self.sessions + 1):
            yield from self.session()
            if n in (10, self.sessions):
                gc.collect()
                self.memory[n] = rss_mb()

    def guide_round(self):
        sm = self.app.sm
        yield from self.timed("welcome → guides", self.entry("guide"), self.on("guides", loading=False))
        keyboard = sm.get_screen("guides").ids.keyboard
        keys = {b.text: b for row in keyboard.children for b in row.children if hasattr(b, "text")}
        typed = ""
        for ch in "hun":
            typed += ch
            yield from self.timed("keystroke → results", keys[ch],
                                  self.on("guides", query=typed, loading=False))
        rows = sm.get_screen("guides").ids.results.layout_manager.children
        first = self.shell.page.items[0].code
        row = next(r for r in rows if getattr(r, "code", None) == first)
        yield from self.timed("result → guide", row, lambda: self.on("guide")() and self.shell.page.code == first)
        yield from self.timed("guide → back to results", self._back(), self.on("guides"))
        yield from self.timed("results → back to welcome", self._back(), self.on("welcome"))

    def _back(self):
        screen = self.app.sm.get_screen(self.app.sm.current)
        return screen.ids.back

    def session(self):
        self.hw.place_card(self.sessions_done % 4)
        self.sessions_done += 1
        yield from self.wait(self.on("personal"))
        yield from self.settle()
        self.tap(self.entry("guide"))
        yield from self.wait(self.on("guides", loading=False))
        self.shell.act("search", query="hunyin")
        yield from self.wait(lambda: self.on("guides", query="hunyin", loading=False)() and self.shell.page.items)
        self.shell.act("open", code=self.shell.page.items[0].code)
        yield from self.wait(self.on("guide"))
        self.shell.logout()  # the sign-out button
        self.hw.remove_card()
        yield from self.wait(lambda: self.shell.session.identity is None and not self.shell.card.left)
        for _ in range(3):
            yield


def run_driven(folder: Path, taps: int, sessions: int) -> Driver:
    from kiosk import config as kconfig
    from kiosk.demo import DemoHardware
    from kiosk.runtime import running_kiosk
    from kiosk.startup import first_frame
    from kiosk.xvfb import virtual_display
    from screens.run import run_ui

    path = bench_config(folder)
    cfg = kconfig.load(path)
    driver = Driver(taps, sessions)

    def assemble(stack):
        hw = stack.enter_context(DemoHardware(cfg, folder / "slips"))
        return stack.enter_context(running_kiosk(cfg, hw.device_overrides())), hw

    with virtual_display(cfg.display.width + 240, cfg.display.height):
        run_ui(path, first_frame(path), assemble, demo=True, on_started=driver.start)
    if driver.failure:
        raise SystemExit(f"the bench run failed: {driver.failure}")
    return driver


def bench_taps(folder: Path, taps: int) -> None:
    d = run_driven(folder, taps, 0)
    print(f"touch → next screen drawn ({taps} rounds; target p95 ≤ 100 ms):")
    for label, xs in d.times.items():
        ms = [x * 1000 for x in xs]
        print(f"  {label:<36} p50 {pct(ms, 50):6.1f} ms  p95 {pct(ms, 95):6.1f} ms  (n={len(ms)})")


def bench_memory(folder: Path, sessions: int) -> None:
    d = run_driven(folder, 0, sessions)
    m10, mend = d.memory[10], d.memory[sessions]
    print(f"resident memory: session 10 {m10:.1f} MB, session {sessions} {mend:.1f} MB: "
          f"{mend - m10:+.1f} MB (target ≤ 5 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--taps", type=int, default=30)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--only", choices=["startup", "taps", "memory"])
    args = ap.parse_args()
    if args.bare:
        return bare_app()
    if args.only is None:  # one Kivy app per process: each part in a process of its own
        for part in ("startup", "taps", "memory"):
            subprocess.run([sys.executable, __file__, "--only", part, "--runs", str(args.runs), "--taps",
                            str(args.taps), "--sessions", str(args.sessions)], check=True)
        return None
    folder = Path(tempfile.mkdtemp(prefix="ui-bench-", dir=ROOT / "var"))
    try:
        if args.only in (None, "startup"):
            from kiosk.xvfb import virtual_display

            with virtual_display(1520, 800):
                bench_startup(folder, args.runs)
        if args.only in (None, "taps"):
            bench_taps(folder, args.taps)
        if args.only in (None, "memory"):
            bench_memory(folder, args.sessions)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
