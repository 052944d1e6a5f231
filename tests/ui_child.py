"""What the tests' UI children share: the demo kiosk assembled as ``kiosk demo`` assembles it
(kiosk.cli), a finger, and a script of steps run one per Clock tick."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path


def tap(widget) -> None:
    """A finger on the middle of ``widget``: down and up, through Kivy's input as a touch."""
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()


def drive(config: str, out: str, script: Callable[[object, dict], Iterator], interval: float = 0.1) -> int:
    """Run the demo kiosk of ``config``; once it has started, ``script(app, result)`` (a generator,
    one step a tick) drives it. ``result`` is written to ``out`` as JSON when the script ends, or
    when a step fails, with ``failed`` saying what did not happen. 0 when the script ran to its end."""
    from kiosk.startup import first_frame
    from screens.run import run_ui

    result: dict = {}

    def started(app):
        from kivy.clock import Clock

        run = script(app, result)

        def advance(_dt):
            try:
                next(run)
                return True
            except StopIteration:
                pass
            except Exception as exc:  # the step that did not happen, for the test's message
                result["failed"] = f"{type(exc).__name__}: {exc}"
            Path(out).write_text(json.dumps(result, ensure_ascii=False))
            app.stop()
            return False

        Clock.schedule_interval(advance, interval)

    first = first_frame(config)

    def assemble(stack):
        from kiosk import config as cfgmod
        from kiosk.demo import DemoHardware
        from kiosk.runtime import running_kiosk

        cfg = cfgmod.load(config)
        hw = stack.enter_context(DemoHardware(cfg, Path(out).parent / "slips"))
        return stack.enter_context(running_kiosk(cfg, hw.device_overrides())), hw

    code, failure = run_ui(config, first, assemble, demo=True, on_started=started)
    if failure:
        print(failure, file=sys.stderr)
    if not Path(out).exists():
        return code or 1
    failed = json.loads(Path(out).read_text()).get("failed")
    if failed:
        print(failed, file=sys.stderr)
    return 1 if failed else code
