"""A kiosk that applies and prints again and again until it is killed, for the power-cut tests.

``python -m tests.powercut_child zygote ARGS_JSON`` imports everything, then forks one kiosk "life"
per line read on stdin and prints ``LIFE <pid>``. The lives are the processes the test SIGKILLs: a
fork of an idle, thread-free process starts in milliseconds where a new interpreter takes most of
a second, so a hundred power cuts fit in the suite. Each life runs the real shell, outbox,
sender, durable print queue and ESC/POS driver on the test's virtual printer (a pty) against the
reference platform over HTTP; it prints ``READY`` once the printer is online, then applies for
``item`` as one citizen after another until the outbox holds ``cases`` cases, and then drains:
every case delivered and every slip printed, ``DRAINED``, exit 0. With ``announce`` it prints
``COMMITTED <terminal ref>`` as soon as a case is committed.

The citizen's identity is handed to the shell as the IdentityRead event the card reader
would send: what is under test is the path from "确认提交" to the slip, and a SAM read per session
would leave room for far fewer power cuts.
"""

from __future__ import annotations

import json
import os
import sys
import time

from devices.events import IdentityRead
from devices.manager import DeviceManager
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk import config
from kiosk.central_client import CentralClient
from kiosk.outbox import Outbox, Sender
from kiosk.print_jobs import JobState, PrintQueue
from kiosk.shell import Shell

CARDS = list(SAMPLE_CARDS.values())


def _until(c: Shell, cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"stuck on {c.page}")
        c.tick()
        time.sleep(0.005)


def life(a: dict) -> int:
    cfg = config.validate({"terminal": {"id": a["tid"]}, "central": {"url": a["url"]},
                           "paths": {"var": a["var"]}})
    client = CentralClient(a["url"], timeout=(1, 2), retries=1, terminal_id=a["tid"], secret=a["secret"])
    outbox = Outbox(os.path.join(a["var"], "outbox.db"), a["tid"])
    # "sender_url": where cases go, if not to "url" (a dead address keeps them pending).
    sending = CentralClient(a.get("sender_url") or a["url"], timeout=(1, 2), retries=1, terminal_id=a["tid"],
                            secret=a["secret"])
    sender = Sender(outbox, sending, idle_s=0.05, base_backoff=0.02).start()
    devices = DeviceManager({"printer": {"driver": "escpos", "connection": "serial", "port": a["printer"],
                                         "status_timeout_ms": 300}})
    devices.start()
    queue = PrintQueue(os.path.join(a["var"], "print_jobs.db"))
    c = Shell(cfg, client, devices, outbox=outbox, sender=sender, print_queue=queue, case_wait_s=a["case_wait_s"])
    _until(c, lambda: c.device_states.get("printer", {}).get("state") == "online")
    print("READY", flush=True)
    while (n := sum(1 for i in outbox.items() if i.kind == "case")) < a["cases"]:
        c.on_device_event(IdentityRead(device="id_reader", identity=CARDS[n % len(CARDS)]))
        c.start("guide", code=a["item"])
        _until(c, lambda: c.page.screen == "guide" and c.page.can_apply)
        c.act("apply")
        c.act("confirm")
        if a.get("announce"):
            print("COMMITTED", c.journey.ref, flush=True)
        _until(c, lambda: c.page.screen == "done" or c.notice is not None)
        c.logout()
    _until(c, lambda: outbox.depth() == 0 and not queue.jobs(JobState.QUEUED, JobState.PRINTING, JobState.HELD),
           timeout=60)
    print("DRAINED", flush=True)
    c.shutdown()
    sender.stop()
    devices.stop()
    return 0


def zygote(a: dict) -> int:
    for _line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                code = life(a)
            except BaseException as exc:  # the test reads it on stdout
                print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
                code = 1
            os._exit(code)
        print(f"LIFE {pid}", flush=True)
        os.waitpid(pid, 0)
        print("ENDED", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(zygote(json.loads(sys.argv[2])))
