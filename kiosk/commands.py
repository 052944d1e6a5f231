"""Commands from the platform, each run exactly once, and their results reported until confirmed.

The heartbeat answer carries every command the platform has no result for yet, again and again.
Each id is committed to ``VAR/commands.db`` (SQLite WAL, synchronous=FULL, file mode 0600) as
``received`` before anything is done, as ``running`` before it acts, then ``done`` or ``failed``
with a one-line result; a command id already in the book is never run again, whatever the
heartbeat says. The result goes to the platform (``POST /terminals/commands/{id}/result``) until
it confirms, retried with backoff and after a restart. What the commands leave behind (the
out-of-service state, the hall's notice) is kept in the same file, so it outlasts a restart.

| command | args | does | found ``running`` at start-up (a crash, a power cut) |
|---|---|---|---|
| ``reload_config`` | none | re-reads the configuration file and applies what can change while running (session times, heartbeat and sync intervals, the outbox's and voice's settings, search words); a file that fails its check is refused with its one-line error, the old configuration stays | run again: reading a file twice is harmless |
| ``sync_guides`` | none | a catalogue sync now; the result says what changed | run again |
| ``restart`` | none | ``accepted`` is committed, sent (waiting up to ``RESTART_ACK_WAIT_S`` for the platform), then the shell asks the app to exit; systemd starts it again | failed, ``interrupted``: never run again, so a restart cannot loop |
| ``notice`` | ``text`` (at most 200 characters, no control characters; empty clears it), ``minutes`` (1-10080, optional: until cleared) | the hall's notice on the welcome and out-of-service pages | run again: it sets the same state |
| ``out_of_service`` | ``state``: ``on`` or ``off`` | the out-of-service page instead of the welcome page: no citizen journey starts, a card or a code is not read; a session in progress finishes as usual | run again |

An unknown command or bad arguments fail with the reason. Ids are the platform's: the book
belongs to one platform (a terminal moved to another platform starts with a new var folder).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.models import MAX_COMMAND_RESULT, TerminalCommand
from kiosk.central_client import CentralError
from kiosk.durable_db import open_durable

log = logging.getLogger("kiosk.commands")

IDEMPOTENT = ("reload_config", "sync_guides", "notice", "out_of_service")  # run again after a crash
NOTICE_MAX = 200
NOTICE_MAX_MINUTES = 7 * 24 * 60
RESULT_RETRY_S, RESULT_RETRY_MAX_S = 2.0, 300.0
RESTART_EXIT = 75  # the app's exit code for a restart asked for (EX_TEMPFAIL); the unit restarts on any exit
RESTART_ACK_WAIT_S = 5.0  # "accepted" reaches the fleet page before the kiosk goes, unless the platform is away
# A 4xx with the platform's error body about the result itself (the command is unknown there):
# sending it again can only get the same answer.
PERMANENT_STATUS = (400, 404, 409, 413, 422)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    command_id INTEGER PRIMARY KEY,   -- the platform's
    command TEXT NOT NULL,
    args TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'received',   -- received | running | done | failed
    result TEXT NOT NULL DEFAULT '',
    reported INTEGER NOT NULL DEFAULT 0,      -- the platform confirmed the result
    received REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Command:
    command_id: int
    command: str
    args: dict[str, str]
    state: str
    result: str
    reported: bool


class CommandBook:
    """The table of commands and what they left behind. Every change is committed and fsync'd
    before the call returns."""

    def __init__(self, path: str | Path = ":memory:", clock: Callable[[], float] = time.time):
        self.clock = clock
        self._lock = threading.Lock()
        self._conn = open_durable(path)  # "running" must be on disk before a restart acts
        self._conn.executescript(_SCHEMA)
        self.interrupted = self._recover()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _recover(self) -> list[int]:
        """Commands cut short by a crash: idempotent ones run again, the rest fail as interrupted."""
        with self._lock:
            rows = self._conn.execute("SELECT command_id, command FROM commands WHERE state = 'running'").fetchall()
            for cid, command in rows:
                if command in IDEMPOTENT:
                    self._conn.execute("UPDATE commands SET state = 'received' WHERE command_id = ?", (cid,))
                else:
                    self._conn.execute("UPDATE commands SET state = 'failed', result = ?, updated = ? "
                                       "WHERE command_id = ?",
                                       ("interrupted: the kiosk stopped while it ran", self.clock(), cid))
        return [cid for cid, command in rows if command not in IDEMPOTENT]

    def receive(self, cmd: TerminalCommand) -> bool:
        """True for a command never seen before (now committed as received)."""
        now = self.clock()
        with self._lock:
            return self._conn.execute(
                "INSERT OR IGNORE INTO commands (command_id, command, args, received, updated) VALUES (?, ?, ?, ?, ?)",
                (cmd.command_id, cmd.command, json.dumps(cmd.args, ensure_ascii=False), now, now)).rowcount == 1

    def _rows(self, where: str, params: tuple = ()) -> list[Command]:
        with self._lock:
            rows = self._conn.execute("SELECT command_id, command, args, state, result, reported FROM commands "
                                      f"WHERE {where} ORDER BY command_id", params).fetchall()
        return [Command(r[0], r[1], json.loads(r[2]), r[3], r[4], bool(r[5])) for r in rows]

    def get(self, command_id: int) -> Command | None:
        found = self._rows("command_id = ?", (command_id,))
        return found[0] if found else None

    def to_run(self) -> list[Command]:
        return self._rows("state = 'received'")

    def unreported(self) -> list[Command]:
        return self._rows("state IN ('done', 'failed') AND reported = 0")

    def set_state(self, command_id: int, state: str, result: str = "") -> None:
        with self._lock:
            self._conn.execute("UPDATE commands SET state = ?, result = ?, updated = ? WHERE command_id = ?",
                               (state, result[:MAX_COMMAND_RESULT], self.clock(), command_id))

    def reported(self, command_id: int) -> None:
        with self._lock:
            self._conn.execute("UPDATE commands SET reported = 1, updated = ? WHERE command_id = ?",
                               (self.clock(), command_id))

    # -- what commands leave behind ------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) "
                               "DO UPDATE SET value = excluded.value", (key, json.dumps(value, ensure_ascii=False)))


def default_path(var_dir: str | Path) -> Path:
    return Path(var_dir) / "commands.db"


class BadArgs(ValueError):
    """A command's arguments are not what it takes: it fails with this reason."""


def _only(args: dict[str, str], *allowed: str) -> None:
    extra = sorted(set(args) - set(allowed))
    if extra:
        raise BadArgs(f"unexpected argument {extra[0]!r}")


def notice_args(args: dict[str, str]) -> tuple[str, int | None]:
    """(text, minutes) of a ``notice``: text stripped ("" clears), minutes None for "until cleared"."""
    _only(args, "text", "minutes")
    text = args.get("text", "").strip()
    if len(text) > NOTICE_MAX:
        raise BadArgs(f"text is {len(text)} characters; at most {NOTICE_MAX}")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise BadArgs("text has control characters (one line of plain text is shown)")
    minutes = args.get("minutes")
    if minutes is None:
        return text, None
    if not (minutes.isascii() and minutes.isdigit()) or not 1 <= int(minutes) <= NOTICE_MAX_MINUTES:
        raise BadArgs(f"minutes must be a whole number from 1 to {NOTICE_MAX_MINUTES}, not {minutes!r}")
    return text, int(minutes)


# Read once, at start-up (devices opened, the platform's client, the window, the outbox's sender,
# the voice, the search index's words): a change waits for a restart.
START_UP_ONLY = ("terminal", "display", "outbox", "paths", "voice", "demo", "devices")
LIVE = {"central": ("guides_sync_min", "heartbeat_s", "track_url"), "search": ("help_desk",)}


def reloaded(old, new) -> tuple[Any, list[str]]:
    """(the configuration to run with now, what changed but waits for a restart): ``new`` where
    it is read while running, ``old`` where it was read at start-up."""
    later = [name for name in START_UP_ONLY if getattr(old, name) != getattr(new, name)]
    update = {name: getattr(old, name) for name in START_UP_ONLY}
    for section, live in LIVE.items():
        was, now = getattr(old, section), getattr(new, section)
        later += [f"{section}.{k}" for k in type(was).model_fields if k not in live and getattr(was, k) != getattr(now, k)]
        update[section] = was.model_copy(update={k: getattr(now, k) for k in live})
    return new.model_copy(update=update), later


class RemoteCommands:
    """Runs the book's commands on the UI thread (``Shell.tick``) and reports their results.

    ``shell`` gives what the commands act on: ``config_path``, ``apply_config``, ``upkeep``,
    ``background``, ``central``, ``request_stop`` and ``_changed``."""

    def __init__(self, book: CommandBook, shell, monotonic: Callable[[], float] = time.monotonic):
        self.book, self.shell, self.monotonic = book, shell, monotonic
        self.retry_s = RESULT_RETRY_S
        self._retry = self.retry_s
        self._next_report = 0.0
        self._restart: tuple[int, float] | None = None  # (command id, when to go at the latest)
        # What the commands left behind, read once (the page is built every tick); written through.
        self._out_of_service = bool(book.setting("out_of_service", False))
        self._notice = book.setting("notice")
        for cid in book.interrupted:
            log.warning("platform command %d was cut short by a stop; reported as interrupted", cid)

    # -- state the shell shows -----------------------------------------------------------------
    @property
    def out_of_service(self) -> bool:
        return self._out_of_service

    def notice(self) -> str:
        """The hall's notice now ("" when none or expired)."""
        n = self._notice
        if not n or (n.get("until") is not None and self.book.clock() >= n["until"]):
            return ""
        return n["text"]

    # -- receiving and running -------------------------------------------------------------------
    def receive(self, commands: list[TerminalCommand]) -> None:
        for cmd in commands:
            if self.book.receive(cmd):
                log.info("platform command %d: %s %s", cmd.command_id, cmd.command, sorted(cmd.args))

    def tick(self) -> None:
        for cmd in self.book.to_run():
            self._run(cmd)
        self._report()
        if self._restart is not None:
            cid, latest = self._restart
            row = self.book.get(cid)
            if (row is not None and row.reported) or self.monotonic() >= latest:
                self._restart = None
                log.warning("restart asked for by the platform (command %d): the kiosk stops for systemd to "
                            "start it again", cid)
                self.shell.request_stop("restart")

    def _run(self, cmd: Command) -> None:
        handler = getattr(self, f"do_{cmd.command}", None)
        if handler is None:
            return self._finish(cmd.command_id, False, f"unknown command {cmd.command!r}")
        self.book.set_state(cmd.command_id, "running")
        try:
            outcome = handler(cmd)
        except BadArgs as exc:
            outcome = (False, f"bad arguments: {exc}")
        except Exception as exc:  # a bug: the kiosk goes on, the platform hears of it
            log.exception("platform command %d (%s) crashed", cmd.command_id, cmd.command)
            outcome = (False, f"{type(exc).__name__}: {exc}")
        if outcome is not None:  # None: it finishes when an answer comes (``_finish``)
            self._finish(cmd.command_id, *outcome)

    def _finish(self, command_id: int, ok: bool, result: str) -> None:
        result = " ".join(result.split())[:MAX_COMMAND_RESULT]  # one line
        self.book.set_state(command_id, "done" if ok else "failed", result)
        (log.info if ok else log.warning)("platform command %d %s: %s", command_id, "done" if ok else "failed",
                                          result)
        self._next_report = 0.0  # report at once

    # -- the commands ----------------------------------------------------------------------------
    def do_reload_config(self, cmd: Command):
        _only(cmd.args)
        return self.shell.reload_config()

    def do_sync_guides(self, cmd: Command):
        _only(cmd.args)
        if self.shell.catalogue is None:
            return False, "this terminal has no guide catalogue"

        def done(r) -> None:
            self._finish(cmd.command_id, True, f"synced: {r.changed} changed, {r.deleted} deleted")

        def failed(exc: CentralError) -> None:
            self._finish(cmd.command_id, False, f"sync failed: {exc.code}: {exc.message}")

        self.shell.upkeep.sync_now(done, failed)
        return None

    def do_restart(self, cmd: Command):
        _only(cmd.args)
        self._restart = (cmd.command_id, self.monotonic() + RESTART_ACK_WAIT_S)
        return True, "accepted"

    def do_notice(self, cmd: Command):
        text, minutes = notice_args(cmd.args)
        until = self.book.clock() + minutes * 60 if minutes else None
        self._notice = {"text": text, "until": until} if text else None
        self.book.set_setting("notice", self._notice)
        self.shell._changed()
        if not text:
            return True, "notice cleared"
        return True, f"notice shown for {minutes} min" if minutes else "notice shown until cleared"

    def do_out_of_service(self, cmd: Command):
        _only(cmd.args, "state")
        state = cmd.args.get("state")
        if state not in ("on", "off"):
            raise BadArgs(f"state must be 'on' or 'off', not {state!r}")
        self._out_of_service = state == "on"
        self.book.set_setting("out_of_service", self._out_of_service)
        self.shell._changed()
        busy = state == "on" and self.shell.session.active
        return True, f"out of service {state}" + (" (after the session in progress)" if busy else "")

    # -- results to the platform -------------------------------------------------------------------
    def _report(self) -> None:
        if self.monotonic() < self._next_report or not getattr(self.shell.central, "terminal_id", None):
            return
        rows = self.book.unreported()
        if not rows:
            return
        self._next_report = float("inf")  # until this round answers
        central = self.shell.central

        def send() -> tuple[list[int], CentralError | None]:
            confirmed = []
            for row in rows:
                try:
                    central.command_result(row.command_id, row.state == "done", row.result)
                except CentralError as exc:
                    if exc.from_platform and exc.status in PERMANENT_STATUS:
                        log.error("platform refused the result of command %d (%s): given up", row.command_id,
                                  exc.code)
                        confirmed.append(row.command_id)
                        continue
                    return confirmed, exc
                confirmed.append(row.command_id)
            return confirmed, None

        self.shell.background.once("command results", send, self._reported, self._report_crashed)

    def _reported(self, answer: tuple[list[int], CentralError | None]) -> None:
        confirmed, error = answer
        for cid in confirmed:
            self.book.reported(cid)
        if error is None:
            self._retry, self._next_report = self.retry_s, 0.0
            return
        log.warning("command results not sent (%s); next try in %.0f s", error.code, self._retry)
        self._next_report = self.monotonic() + self._retry
        self._retry = min(self._retry * 2, RESULT_RETRY_MAX_S)

    def _report_crashed(self, exc: CentralError) -> None:
        self._reported(([], exc))
