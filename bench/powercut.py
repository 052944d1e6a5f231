"""Power-cut campaign: SIGKILL the kiosk at random moments of every journey that writes, restart
it on the same var folder, let it drain, and count what was lost or duplicated.

    .venv/bin/python bench/powercut.py [--n 200] [--seed 20261201] [--report bench/POWERCUT.md]

(``make powercut [N=200] [SEED=...]``). What runs: the reference platform as a process of its
own (``python -m central.server``, SQLite), the ESC/POS emulator on a pty (it outlives the
kiosk, as a printer outlives a power cut of the PC), and the kiosk as ``kiosk run`` assembles
it (``kiosk.runtime.running_kiosk``: the real Shell, outbox and sender, durable print queue,
command book, catalogue, staff door and PIN lock file, on a configuration file) without its
Kivy window: every write the kiosk makes is below the Shell, the window writes nothing, and a
headless life leaves room for hundreds of cuts. Each life is forked from an idle "zygote" that
has imported everything (a new interpreter per life would spend most of a round importing).

Each round draws a journey that writes, starts a life, kills it with SIGKILL after a random
wall-clock delay (15% of the time during start-up, i.e. during the previous cut's recovery),
and starts the next round on the same folder. A life repeats its journey until it dies:

| journey | writes |
|---|---|
| apply | a case and its receipt (outbox, one transaction), the receipt's print job |
| rating | a rating of the hall's service, or of a delivered case by its applicant (outbox) |
| guide | a guide slip (print queue) |
| ticket | a queue ticket (platform) and its slip (print queue) |
| certificate | a certificate proof (platform) and its slip (print queue) |
| command | the platform's commands (notice, sync_guides, reload_config, restart) in the command book |
| staff | a wrong PIN (the lock file), the right PIN, a receipt reprinted by staff (print queue, audit) |

There is no supplements (补正) journey on the kiosk: the outbox and client can send one
(``Outbox.enqueue_supplement``), but no journey enqueues it; the query journey only shows what
补正 asks for.

After the last round one more life runs until everything is delivered and printed ("drained").
Then, against the platform's database and the paper on the virtual printer:

- every case the kiosk committed (its outbox) is on the platform exactly once; every case the
  citizen was shown as accepted is among them; the platform has no case of this terminal the
  outbox does not know;
- every rating committed is on the platform exactly once, none doubled, a case rated at most once;
- every receipt is on paper (or kept for staff by design) and at most once without the 补打
  REPRINT mark; every guide slip, ticket and certificate proof shown as printing is on paper,
  and never more often unmarked than it was asked for;
- every command has one result on the platform, the book's state is final and reported, a
  restart ran at most once;
- the PIN's wrong-try count read at each start is at least the one last shown (a power cut gives
  no guesser more tries).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform as platform_mod
import queue
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

JOURNEYS = ("apply", "rating", "guide", "ticket", "certificate", "command", "staff")
MARK = "补打"
PIN, WRONG_PIN = "2468", "1357"
APPLY_ITEM_QUERY = "hunyin"
STARTUP_CUT = 0.15  # share of cuts that land during start-up (the last cut's recovery)
MAX_DELAY_S = 2.5  # a cut lands up to this long after the kiosk is ready


# -- the kiosk's lives (the child side) ------------------------------------------------------------
def _say(*words) -> None:
    # One write() of the whole line: a SIGKILL between the pieces print() writes (unbuffered
    # stdout) would leave half a line, and the zygote's "ENDED" glued to it.
    os.write(1, (" ".join(str(w) for w in words) + "\n").encode())


def _until(c, cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if c.stop_requested:
            _say("STOP", c.stop_requested)
            os._exit(75)  # kiosk.commands.RESTART_EXIT: systemd would start the kiosk again
        if time.monotonic() > deadline:
            raise TimeoutError(f"stuck on {c.page}")
        c.tick()
        time.sleep(0.005)


def _idle(c, seconds: float) -> None:
    end = time.monotonic() + seconds
    _until(c, lambda: time.monotonic() >= end, seconds + 5)


def _sign_out(c) -> None:
    c.logout()
    c.dismiss_notice()
    c.home()


class Life:
    def __init__(self, shell, a: dict, rnd: random.Random):
        from drivers.samv.emulator import SAMPLE_CARDS

        self.c, self.a, self.rnd = shell, a, rnd
        self.cards = list(SAMPLE_CARDS.values())

    def card(self, i: int) -> None:
        from devices.events import IdentityRead

        self.c.on_device_event(IdentityRead(device="id_reader", identity=self.cards[i % len(self.cards)]))

    def cases(self):
        return [i for i in self.c.outbox.items() if i.kind == "case"]

    def apply(self) -> None:
        c = self.c
        self.card(len(self.cases()))  # the n-th case is the n-th card's (the rating finds it so)
        c.start("guide", code=self.a["item"])
        _until(c, lambda: c.page.screen == "guide" and c.page.can_apply)
        c.act("apply")
        _say("INTENT case")
        c.act("confirm")
        if c.journey.name == "apply" and c.journey.ref:
            _say("COMMITTED case", c.journey.ref)
        _until(c, lambda: c.page.screen == "done" or c.notice is not None)
        if c.page.screen == "done":
            _say("SHOWN case", c.journey.ref)
        _sign_out(c)

    def rating(self) -> None:
        c = self.c
        cases = [(n, i) for n, i in enumerate(self.cases()) if i.case_number]
        if cases and self.rnd.random() < 0.5:
            n, item = self.rnd.choice(cases)
            self.card(n)
            c.start("rating", case_no=item.case_number)
        else:
            c.start("rating")
        _until(c, lambda: c.journey.name == "rating" and c.journey.step in ("levels", "rated", "closed"))
        if c.journey.step == "levels":
            _say("INTENT rating")
            c.act("choose", level=self.rnd.choice((5, 4, 3)))
            if c.journey.step == "thanks":
                _say("SHOWN rating", c.journey.ref, c.journey.case_no or "-")
        _sign_out(c)

    def _job_shown(self, kind: str, key_of) -> None:
        c = self.c
        _until(c, lambda: c.notice is not None and (c.notice.job or c.notice.kind == "error"))
        if c.notice.job:
            job = c.printing.queue.get(c.notice.job)
            _say("SHOWN", kind, key_of(job.document) if job is not None else "?")

    def guide(self) -> None:
        c = self.c
        code = self.a["guides"][self.a["guide_base"] + self.n_guides % 7]
        self.n_guides += 1
        c.start("guide", code=code)
        _until(c, lambda: c.page.screen == "guide" and c.page.code == code)
        _say("INTENT guide", code)
        c.act("print")
        self._job_shown("guide", lambda _doc: code)
        _sign_out(c)

    n_guides = 0

    def ticket(self) -> None:
        c = self.c
        c.start("ticket")
        _until(c, lambda: c.journey.name == "ticket" and (c.journey.services is not None or c.journey.error))
        if not c.journey.services:
            _sign_out(c)
            return
        _say("INTENT ticket")
        c.act("take", code=self.rnd.choice([s.code for s in c.journey.services]))
        _until(c, lambda: (c.journey.name == "ticket" and c.journey.ticket is not None) or c.notice is not None)
        if c.journey.name == "ticket" and c.journey.ticket is not None and c.journey.job:
            _say("SHOWN ticket", c.journey.ticket.ticket_no)
        _sign_out(c)

    def certificate(self) -> None:
        from devices.printdoc import Text

        c = self.c
        self.card(self.rnd.randrange(len(self.cards)))
        c.start("certificate")
        _until(c, lambda: c.journey.name == "certificate" and (c.journey.certs is not None or c.journey.error))
        if not c.journey.certs:
            _sign_out(c)
            return
        c.act("open", cert_id=c.journey.certs[0].cert_id)
        _say("INTENT certificate")
        c.act("print")
        label = c.tr("slip.verification_code")

        def code(doc) -> str:
            texts = [e.text for e in doc.elements if isinstance(e, Text)]
            return texts[texts.index(label) + 1]

        self._job_shown("certificate", code)
        _sign_out(c)

    def command(self) -> None:
        _idle(self.c, 1.0)  # the heartbeat brings the platform's commands; they run on the tick

    def staff(self) -> None:
        c = self.c
        for _ in range(5):
            c.staff_tap()
        _until(c, lambda: c.journey.name == "maintenance")
        m = c.journey
        if m.page().locked:
            _say("LOCKED")
            _idle(c, 0.5)
            return
        for pin, what in ((WRONG_PIN, "wrong"), (PIN, "right")):
            for d in pin:
                c.act("digit", d=d)
            _say("INTENT pin", what)
            c.act("enter")
            _until(c, lambda: not m.verifying)
            _say("SHOWN pin", what, c.staff.lock.failures)
            if m.step != "pin":
                break
        delivered = [i for i in self.cases() if i.case_number and (r := c.outbox.receipt(i.terminal_ref))
                     and r[1] == "queued"]
        if m.step != "pin" and delivered:
            ref = self.rnd.choice(delivered).terminal_ref
            _say("INTENT reprint", ref)
            c.act("reprint", ref=ref)
            _say("SHOWN reprint", ref)
        c.act("leave")
        c.dismiss_notice()
        c.home()


def _life(a: dict) -> int:
    import logging

    from kiosk import config
    from kiosk.print_jobs import JobState
    from kiosk.runtime import running_kiosk

    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s life {os.getpid()} %(name)s %(levelname)s %(message)s")
    lock = Path(a["var"]) / "staff-lock.json"
    _say("PINDISK", json.loads(lock.read_text())["failures"] if lock.exists() else 0)
    cfg = config.load(a["config"])
    with running_kiosk(cfg, config_path=a["config"]) as c:
        _until(c, lambda: c.device_states.get("printer", {}).get("state") == "online", 30)
        _say("READY")
        life = Life(c, a, random.Random(a["seed"]))
        if not a.get("final"):
            while True:
                _say("BEGIN", a["journey"])
                getattr(life, a["journey"])()
        # The last life: until every item is delivered, every slip printed, every command reported.
        queue, book = c.printing.queue, c.remote.book
        _until(c, lambda: c.outbox.depth() == 0 and not c.outbox.receipts("waiting")
               and not queue.jobs(JobState.QUEUED, JobState.PRINTING, JobState.HELD)
               and not book._rows("state NOT IN ('done', 'failed') OR reported = 0"), timeout=120)
        _say("DRAINED")
    return 0


def zygote() -> int:
    """Imports everything, then forks one life per line on stdin (a JSON of the life's arguments)."""
    import kiosk.runtime  # noqa: F401 - imported once, here, not in every life
    import kiosk.shell  # noqa: F401

    for line in sys.stdin:
        a = json.loads(line)
        go_r, go_w = os.pipe()  # the life speaks after "LIFE <pid>", never before it
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.read(go_r, 1)
            os.close(go_r)
            code = 1
            try:
                code = _life(a)
            except BaseException as exc:  # the runner reads it
                _say(f"ERROR {type(exc).__name__}: {exc}")
            finally:
                os._exit(code)
        _say("LIFE", pid)
        os.close(go_r)
        os.write(go_w, b"g")
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
        _say("ENDED", os.waitstatus_to_exitcode(status))
    return 0


# -- the campaign (the runner side) ----------------------------------------------------------------
@dataclass
class Tally:
    rounds: Counter = field(default_factory=Counter)  # journey -> rounds
    cuts_startup: Counter = field(default_factory=Counter)
    cuts_journey: Counter = field(default_factory=Counter)
    restarts: Counter = field(default_factory=Counter)  # lives ended by the platform's restart
    shown: Counter = field(default_factory=Counter)  # what the citizen (or staff) was shown, by kind
    lost: Counter = field(default_factory=Counter)
    duplicated: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def total_lost(self) -> int:
        return sum(self.lost.values())

    @property
    def total_duplicated(self) -> int:
        return sum(self.duplicated.values())


class Zygote:
    def __init__(self, log):
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--zygote"], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        # Lines through a thread: a stuck life must not hang the campaign (select() on a buffered
        # stream would miss lines already read into its buffer).
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for out in self.proc.stdout:
            self._lines.put(out.rstrip("\n"))
        self._lines.put("")

    def line(self, timeout: float = 180.0) -> str:
        try:
            out = self._lines.get(timeout=timeout)
        except queue.Empty:
            out = ""
        if not out:
            raise RuntimeError("the kiosk's zygote died or stopped answering")
        return out

    def start(self, args: dict) -> int:
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        words = self.line().split()
        if words[0] != "LIFE" or int(words[1]) <= 0:
            raise RuntimeError(f"the zygote said {words!r}, not LIFE <pid>")
        return int(words[1])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


class Platform:
    """The reference platform, a process of its own, on SQLite; the runner reads its database."""

    def __init__(self, folder: Path, log):
        self.db = folder / "central.db"
        self.proc = subprocess.Popen([sys.executable, "-m", "central.server", "--port", "0", "--db", str(self.db)],
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        first = self.proc.stdout.readline()
        m = re.search(r"at (http://\S+)", first)
        if not m:
            self.stop()
            raise RuntimeError(f"the platform did not start: {first!r}")
        self.url = m.group(1)
        from central.platform import PlatformStore

        self.store = PlatformStore(self.db)

    def rows(self, sql: str, **params) -> list[tuple]:
        from sqlalchemy import text

        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _config(folder: Path, url: str, tid: str, secret: str, printer_port: str, pin_hash: str) -> Path:
    path = folder / "kiosk.toml"
    path.write_text(f"""
[terminal]
id = "{tid}"
hall = "广安区政务服务中心"

[central]
url = "{url}"
secret = "{secret}"
heartbeat_s = 5

[paths]
var = "{folder / 'var'}"

[voice]
enabled = false

[staff]
pin_hash = "{pin_hash}"
lock_after = 20

[devices.printer]
driver = "escpos"
connection = "serial"
port = "{printer_port}"
status_timeout_ms = 300
""", encoding="utf-8")
    return path


def _queue_commands(platform: Platform, tid: str, rnd: random.Random, round_no: int, queued: list) -> None:
    for _ in range(rnd.randint(1, 3)):
        kind = rnd.choice(("notice", "notice", "sync_guides", "reload_config", "restart"))
        args = {"text": f"第{round_no}轮停电演练"} if kind == "notice" else {}
        queued.append(platform.store.queue_command(tid, kind, args))


def campaign(n: int, seed: int, folder: Path, progress=None, journeys: tuple[str, ...] = JOURNEYS) -> Tally:
    """``n`` power cuts (rounds) drawn from ``seed``, in ``folder``; returns what was counted."""
    from drivers.escpos.emulator import VirtualPrinter
    from kiosk.staff_access import hash_pin

    rnd = random.Random(seed)
    tally = Tally()
    tid = f"PC-{seed % 100000:05d}"
    (folder / "var").mkdir(parents=True, exist_ok=True)
    lines: list[tuple[int, str, str]] = []  # (round, journey, line) of every life
    stamps: list[float] = []  # when each line came, seconds into its life
    queued: list[dict] = []
    pin_seen: list[tuple[int, int, int]] = []  # (round, failures on disk at start, last shown before)
    with open(folder / "lives.log", "w") as log, VirtualPrinter() as printer:
        platform = Platform(folder, log)
        try:
            secret = platform.store.add_terminal(tid)
            item = platform.store.search.search(APPLY_ITEM_QUERY).items[0].item_code
            guides = [r[0] for r in platform.rows("SELECT item_code FROM guides WHERE item_code != :i "
                                                  "ORDER BY item_code", i=item)]
            cfg = _config(folder, platform.url, tid, secret, printer.port, hash_pin(PIN))
            base = {"config": str(cfg), "var": str(folder / "var"), "item": item}
            zygote = Zygote(log)
            shown_failures = 0
            try:
                for r in range(n + 1):
                    final = r == n
                    journey = "drain" if final else rnd.choice(journeys)
                    if journey == "command":
                        _queue_commands(platform, tid, rnd, r, queued)
                    args = {**base, "journey": journey, "seed": rnd.randrange(2**31), "final": final,
                            "guides": guides, "guide_base": (r * 7) % max(1, len(guides) - 7)}
                    pid = zygote.start(args)
                    t_life = time.monotonic()
                    startup_cut = not final and rnd.random() < STARTUP_CUT
                    delay = rnd.uniform(0.0, 1.0 if startup_cut else MAX_DELAY_S)
                    killed = False
                    if startup_cut:
                        time.sleep(delay)
                    while True:
                        got = zygote.line()
                        if got.startswith("ENDED"):
                            break
                        lines.append((r, journey, got))
                        stamps.append(time.monotonic() - t_life)
                        if got.startswith("PINDISK"):
                            pin_seen.append((r, int(got.split()[1]), shown_failures))
                        elif got.startswith("SHOWN pin"):
                            shown_failures = int(got.split()[3])
                        elif got == "INTENT pin right":  # it may reset the count before it is shown
                            shown_failures = 0
                        elif got.startswith("ERROR"):
                            tally.notes.append(f"round {r} ({journey}): {got}")
                        elif got == "DRAINED" and final:
                            continue
                        if not final and not killed and (startup_cut or got == "READY"):
                            if not startup_cut:
                                time.sleep(delay)
                            with contextlib.suppress(ProcessLookupError):  # it ended by itself (ERROR says why)
                                os.kill(pid, signal.SIGKILL)
                            killed = True
                    if not final:
                        tally.rounds[journey] += 1
                        stop = any(ln.startswith("STOP") for rr, _, ln in lines if rr == r)
                        if stop:
                            tally.restarts[journey] += 1
                        elif startup_cut and not any(ln == "READY" for rr, _, ln in lines if rr == r):
                            tally.cuts_startup[journey] += 1
                        else:
                            tally.cuts_journey[journey] += 1
                    if progress:
                        progress(r, journey)
                if not any(ln == "DRAINED" for rr, _, ln in lines if rr == n):
                    tally.notes.append("the last life did not drain: " +
                                       "; ".join(ln for rr, _, ln in lines if rr == n)[-500:])
            finally:
                zygote.proc.kill()
                zygote.proc.wait(10)
                (folder / "events.log").write_text("".join(f"{r} {j} {t:6.2f} {ln}\n" for (r, j, ln), t in zip(lines, stamps, strict=True)),
                                                      encoding="utf-8")
            time.sleep(0.5)  # the last slip's bytes reach the emulator
            _check(tally, platform, tid, folder / "var", lines, list(printer.slips), queued, pin_seen)
        finally:
            platform.stop()
    return tally


def _check(tally: Tally, platform: Platform, tid: str, var: Path, lines, slips, queued, pin_seen) -> None:
    from kiosk.commands import Command
    from kiosk.i18n import Translator
    from kiosk.outbox import Outbox
    from kiosk.slips import group_number

    words = [(r, ln.split()) for r, _, ln in lines]
    shown = defaultdict(list)
    intents = Counter()
    for _r, w in words:
        if w[0] == "SHOWN":
            shown[w[1]].append(w[2:])
        elif w[0] == "INTENT" and len(w) > 2:
            intents[(w[1], w[2])] += 1
        elif w[0] == "INTENT":
            intents[(w[1], "")] += 1
    for kind, rows in shown.items():
        tally.shown[kind] = len(rows)

    box = Outbox(var / "outbox.db", tid)
    try:
        items = box.items()
        receipt_state = {ref: state for ref, state, _ in box.receipts()}
    finally:
        box.close()
    cases = [i for i in items if i.kind == "case"]
    evals = [i for i in items if i.kind == "evaluation"]
    tally.facts.update(cases_committed=len(cases), ratings_committed=len(evals),
                       outbox_states=dict(Counter(i.state for i in items)))

    # Cases: the outbox's, on the platform, once each.
    on_platform = platform.rows("SELECT terminal_ref, case_no FROM cases WHERE terminal_id = :t", t=tid)
    per_ref = Counter(ref for ref, _ in on_platform)
    refs = {i.terminal_ref for i in cases}
    tally.lost["case"] += len(refs - set(per_ref))
    tally.lost["case"] += len({w[0] for w in shown["case"]} - refs)  # shown accepted, never committed
    tally.duplicated["case"] += sum(k - 1 for k in per_ref.values() if k > 1) + len(set(per_ref) - refs)
    tally.facts["cases_on_platform"] = len(on_platform)

    # Ratings: every committed one delivered, once; a case rated at most once.
    rows = platform.rows("SELECT evaluation_id, case_no FROM evaluations WHERE terminal_id = :t", t=tid)
    ids = Counter(i.result_id for i in evals if i.state == "delivered")
    tally.lost["rating"] += sum(1 for i in evals if i.state != "delivered")
    tally.lost["rating"] += len(set(ids) - {e for e, _ in rows})
    by_ref = {i.terminal_ref for i in evals}
    tally.lost["rating"] += sum(1 for w in shown["rating"] if w[0] not in by_ref)
    tally.duplicated["rating"] += len({e for e, _ in rows} - set(ids)) + sum(k - 1 for k in ids.values() if k > 1)
    tally.duplicated["rating"] += sum(k - 1 for k in Counter(c for _, c in rows if c).values() if k > 1)
    tally.facts["ratings_on_platform"] = len(rows)

    # Paper.
    zh = Translator("zh_CN")
    texts = [s.raw.decode("gb18030", "replace") for s in slips]
    tally.facts["slips"] = len(texts)
    tally.facts["marked_reprints"] = sum(1 for t in texts if MARK in t)
    receipts_ = [t for t in texts if zh("slip.receipt_title") in t]
    numbers = {i.terminal_ref: i.terminal_ref for i in cases}
    numbers |= {group_number(no): ref for ref, no in on_platform}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(numbers, key=len, reverse=True))) if numbers else None
    every, unmarked = Counter(), Counter()
    for t in receipts_:
        for ref in {numbers[m] for m in pattern.findall(t)} if pattern else ():
            every[ref] += 1
            unmarked[ref] += MARK not in t
    for ref in refs:
        if every[ref] == 0 and receipt_state.get(ref) not in ("kept", "refused"):
            tally.lost["receipt"] += 1
        if unmarked[ref] > 1:
            tally.duplicated["receipt"] += 1
    tally.facts["receipts_kept_for_staff"] = sum(1 for s in receipt_state.values() if s == "kept")

    for kind, title in (("guide", "slip.guide_title"), ("ticket", "slip.ticket_title"),
                        ("certificate", "slip.certificate_title")):
        mine = [t for t in texts if zh(title) in t]
        keys = {w[0] for w in shown[kind]} | {k for (kd, k) in intents if kd == kind and k}
        for key in keys:
            found = [t for t in mine if key in t]
            if not found and [key] in shown[kind]:
                tally.lost[kind] += 1
            asked = max(intents[(kind, key)], sum(1 for w in shown[kind] if w[0] == key))
            if sum(MARK not in t for t in found) > asked:
                tally.duplicated[kind] += 1
        asked_all = intents[(kind, "")] + sum(v for (kd, k), v in intents.items() if kd == kind and k)
        if sum(MARK not in t for t in mine) > asked_all:
            tally.duplicated[kind] += 1

    # Commands: one result each on the platform; the book's state final and reported; a restart once.
    book = sqlite3.connect(var / "commands.db")  # read as the last life left it (CommandBook would recover it)
    try:
        for q in queued:
            cid = q["command_id"]
            found = book.execute("SELECT command_id, command, args, state, result, reported FROM commands "
                                 "WHERE command_id = ?", (cid,)).fetchone()
            row = Command(*found[:5], bool(found[5])) if found else None
            result = platform.rows("SELECT ok, result FROM terminal_commands WHERE command_id = :c", c=cid)
            if row is None or row.state not in ("done", "failed") or not row.reported or result[0][0] is None:
                tally.lost["command"] += 1
                tally.notes.append(f"command {cid} {q['command']}: book {row}, platform {result}")
            elif row.command not in ("restart",) and row.state == "failed" and row.command != "reload_config":
                tally.notes.append(f"command {cid} {q['command']} failed: {row.result}")
        restarts = {q["command_id"] for q in queued if q["command"] == "restart"}
        stops = sum(1 for _r, w in words if w[0] == "STOP")
        if stops > len(restarts):
            tally.duplicated["command"] += stops - len(restarts)
        tally.facts["commands"] = dict(Counter(q["command"] for q in queued))
        tally.facts["restarts_run"] = stops
    finally:
        book.close()

    # The PIN's count of wrong tries: a cut never gives back a try that was shown as counted.
    for r, disk, last in pin_seen:
        if disk < last:
            tally.lost["pin_try"] += 1
            tally.notes.append(f"round {r}: the PIN lock file says {disk} wrong tries, {last} were shown")


def report(tally: Tally, n: int, seed: int, seconds: float) -> str:
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        "# Power-cut campaign",
        "",
        f"`make powercut N={n} SEED={seed}` (`.venv/bin/python bench/powercut.py --n {n} --seed {seed} "
        "--report bench/POWERCUT.md`), "
        f"{when}, {seconds / 60:.1f} min on {platform_mod.machine()} with {os.cpu_count()} cores "
        f"(Python {platform_mod.python_version()}), shared with other jobs. How it works: the docstring of "
        "`bench/powercut.py`.",
        "",
        f"**lost = {tally.total_lost}, duplicated = {tally.total_duplicated}** over {n} SIGKILLs and restarts.",
        "",
        "| journey | rounds | killed in the journey | killed during start-up | ended by a restart command |",
        "|---|---|---|---|---|",
    ]
    for j in JOURNEYS:
        lines.append(f"| {j} | {tally.rounds[j]} | {tally.cuts_journey[j]} | {tally.cuts_startup[j]} | "
                     f"{tally.restarts[j]} |")
    lines += ["", "| what | shown to the citizen / staff | lost | duplicated |", "|---|---|---|---|"]
    kinds = ("case", "receipt", "rating", "guide", "ticket", "certificate", "reprint", "pin", "command", "pin_try")
    for k in kinds:
        lines.append(f"| {k} | {tally.shown.get(k, '—')} | {tally.lost[k]} | {tally.duplicated[k]} |")
    lines += ["", "Counted after the drain: " + ", ".join(f"{k} {v}" for k, v in tally.facts.items()) + "."]
    if tally.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in tally.notes)]
    lines += ["", "What \"lost\" and \"duplicated\" count, per row: a case the outbox committed missing on the "
              "platform, or shown as accepted but never committed / on the platform twice or unknown to the outbox; "
              "a receipt neither on paper nor kept for staff / on paper twice without 补打; a rating committed but "
              "not delivered / on the platform twice, or a case rated twice; a guide slip, ticket or certificate "
              "proof shown as printing but not on paper / on paper unmarked more often than asked for; a command "
              "without a final, reported result / a restart run more often than asked for; a PIN try shown as "
              "counted but gone from the lock file after the cut.",
              "", "Not drawn: supplements (补正), because the kiosk has no such journey (the outbox could send one, "
              "`Outbox.enqueue_supplement`, but nothing enqueues it); progress slips (query) and life-event slips, "
              "which take the same print-queue path as guide slips but cannot be told apart on paper per request."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--zygote"]:
        return zygote()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200, help="power cuts (rounds)")
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("--report", type=Path, help="write the report here (Markdown)")
    p.add_argument("--journeys", default=",".join(JOURNEYS), help="draw from these only (comma-separated)")
    p.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = p.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="powercut-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        tally = campaign(args.n, args.seed, folder,
                         progress=lambda r, j: print(f"round {r}/{args.n}: {j}", file=sys.stderr, flush=True),
                         journeys=tuple(args.journeys.split(",")))
    text = report(tally, args.n, args.seed, time.monotonic() - started)
    print(text)
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    return 0 if tally.total_lost == 0 and tally.total_duplicated == 0 and not tally.notes else 1


if __name__ == "__main__":
    raise SystemExit(main())
