"""The shell: what every journey shares, and the one object screens talk to.

It owns the UI tick (device events, print jobs, background answers, upkeep, the idle timer), the
session and its wipe (the ID card's rules, taking it away included, are in kiosk.card), the
language, and the stack of journeys: the bottom one is Home (welcome or personal page), the top
one's page is on screen, and "back" leaves the top one's step or the top one. A notice is an
overlay above the page that never enters the way back.

Screens render ``shell.page`` and forward touches: ``act(action, **args)`` to the top journey,
``start(name)`` for a new one, ``back()``, ``home()``, ``dismiss_notice()``, ``logout()``,
``set_language()``. Everything runs on the caller's thread (the UI clock); HTTP calls go to a
small pool (kiosk.background) and their answers are applied in ``tick()``, and only while the
journey that asked is still on the stack and the session is the one that asked.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from devices.events import CodeScanned, ErrorEvent, Event, IdentityRead, RequestDone, StatusChanged
from kiosk import guide_text, receipts, slips, speech, voice
from kiosk.background import Background
from kiosk.card import CardRules, CardWatch
from kiosk.catalogue import Catalogue
from kiosk.central_client import CentralClient, CentralError, person_session
from kiosk.commands import CommandBook, RemoteCommands, reloaded
from kiosk.config import ConfigError, KioskConfig, load
from kiosk.i18n import LANGUAGES, Translator
from kiosk.journeys import JOURNEYS
from kiosk.journeys.base import NEEDS_IDENTITY, Finish, Journey, Notice, Result, Start, UnknownStep, Words
from kiosk.journeys.home import Home
from kiosk.journeys.identify import Identify
from kiosk.journeys.printing import job_notice
from kiosk.pages import NoticePage, Page
from kiosk.print_jobs import PrintDispatcher, PrintQueue
from kiosk.scanned import ScanRules
from kiosk.session import IdleState, Session
from kiosk.staff_access import StaffDoor
from kiosk.upkeep import Upkeep

log = logging.getLogger("kiosk.shell")

CASE_WAIT_S = 3.0  # how long the citizen waits for the case number before the receipt prints
SIGNED_OUT_S = 10.0  # a "signed out" notice, then the welcome page is back for the next person


class Shell(CardRules, ScanRules):
    def __init__(self, config: KioskConfig, central: CentralClient, devices=None,
                 clock: Callable[[], dt.datetime] = dt.datetime.now, session: Session | None = None,
                 print_queue: PrintQueue | None = None, catalogue: Catalogue | None = None,
                 outbox=None, version: str = "", monotonic: Callable[[], float] = time.monotonic,
                 sender=None, case_wait_s: float = CASE_WAIT_S, speaker=voice.DEFAULT,
                 commands: CommandBook | None = None, config_path=None):
        self.config, self.central, self.devices, self.catalogue = config, central, devices, catalogue
        self.outbox = outbox  # kiosk.outbox.Outbox: cases go in here; its depth goes into the heartbeat
        self.sender = sender  # kiosk.outbox.Sender: woken after a case is committed
        self._rounds_seen = 0  # the sender's delivering rounds that tick() has seen
        self.case_wait_s, self.now, self.monotonic = case_wait_s, clock, monotonic
        self.tr = Translator(config.terminal.language)
        self.elder = False  # 长辈模式: larger text and targets, voice; the person's choice, for their session
        self.session = session or Session(config.session.idle_timeout_s, config.session.warning_s)
        self.idle_warning: int | None = None
        self.card = CardWatch(config.session.card_grace_s, monotonic)
        self.device_states: dict[str, dict[str, str]] = {}
        self._listeners: list[Callable[[], None]] = []
        self.background = Background()
        self.upkeep = Upkeep(config, central, self.background, monotonic, catalogue, outbox, devices,
                             self.device_states, version)
        # Slips go through a durable queue: a slip blocked by paper out prints once staff refill it.
        self.printing: PrintDispatcher | None = None
        printer = devices.first_of_kind("printer") if devices is not None else None
        if printer is not None:
            queue = print_queue or PrintQueue(config.var_dir / "print_jobs.db")
            self.printing = PrintDispatcher(queue, devices, printer, slips.reprint_mark(self.tr))
            if outbox is not None:
                receipts.resume(outbox, self.printing, config.terminal.hall, config.terminal.id, self.now(),
                                outbox.clock(), config.outbox.receipt_resume_min * 60)
        # The platform's commands (kiosk.commands): without a book on disk, exactly once per run only.
        self.config_path = config_path  # what reload_config reads again
        self.remote = RemoteCommands(commands or CommandBook(), self, monotonic)
        self.upkeep.on_commands = self.remote.receive
        self.stop_requested = ""  # why the app should exit ("restart"): the app watches it
        self.journeys = JOURNEYS  # what this kiosk offers, by name (journeys ask: is there a "query"?)
        self.stack: list[Journey] = [Home(self)]
        self.notice: Notice | None = None
        self._signed_out_at: float | None = None
        self._generation = 0  # a new session, a new generation: older answers are dropped
        self.sessions_ended = 0  # the UI collects garbage once a person has gone
        # Voice guidance (kiosk.voice): None when the hall turned it off. ``_said``: what the page
        # on screen says, so that a redraw of the same page neither repeats nor cuts it.
        self.speaker = voice.speaker_for(config) if speaker is voice.DEFAULT else speaker
        self.voices = voice.voices(config)
        self._said = ""
        self.staff = StaffDoor(self)  # maintenance mode: staff card, gesture and PIN (kiosk/staff_access.py)
        self.page: Page = self.stack[0].page()

    # -- rendering ------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _page(self) -> Page:
        n = self.notice
        if n is None:
            return self.journey.page()
        tr = Translator(n.lang) if n.lang else self.tr

        def say(text) -> str:  # Words and errors are put into words now, in the language on screen
            return text if isinstance(text, str) else text(tr)

        # Signed out (then: welcome) with the card still on the reader: a reminder to take it.
        take = tr("personal.take_card") if n.then == "welcome" and self.card.left else ""
        return NoticePage(kind=n.kind, title=say(n.title), message=say(n.message), take_card=take)

    def _changed(self) -> None:
        self.page = self._page()
        self._voice_follows()
        for listener in self._listeners:
            listener()

    @property
    def hall(self) -> str:
        """The hall's name for the header: the configuration's Simplified text, converted for 繁體."""
        return guide_text.in_language(self.config.terminal.hall, self.tr.lang)

    @property
    def journey(self) -> Journey:
        return self.stack[-1]

    def error_text(self, error: CentralError, tr: Translator | None = None) -> str:
        """The platform's plain sentence (in 繁體 converted), or ours in English."""
        tr = tr or self.tr
        return guide_text.in_language(error.zh, tr.lang) if tr.lang != "en" else tr("error.central")

    def error_words(self, error: CentralError):
        """``error_text`` for a notice: worded in whatever language is on screen when drawn."""
        return lambda tr: self.error_text(error, tr)

    # -- journeys -------------------------------------------------------------------------
    def act(self, action: str, **args: Any) -> None:
        self.touch()
        journey = self.journey
        try:
            result = journey.act(action, **args)
        except UnknownStep:  # a screen bug: loud in the log, but the citizen's kiosk keeps running
            log.exception("touch %r not understood on %s", action, journey.name)
            return
        self._apply(journey, result)

    def start(self, name: str, **args: Any) -> None:
        self.touch()
        if self.closed_to_citizens:
            log.info("%s not started: out of service", name)
            return self._changed()
        self.notice = None
        self._apply(self.journey, Start(name, args))

    def call(self, journey: Journey, fn: Callable, on_done: Callable, on_error: Callable) -> None:
        generation = self._generation

        def bound(callback):
            def run(value):
                if journey in self.stack and generation == self._generation:
                    self._apply(journey, callback(value))
                else:  # the person or the journey that asked has gone: so has the answer
                    log.debug("dropped an answer for %s", journey.name)
            return run

        self.background.call(fn, bound(on_done), bound(on_error))

    def _apply(self, journey: Journey, result: Result) -> None:
        if isinstance(result, Start):
            new = self.journeys[result.journey](self, **result.args)
            self.stack.append(new)
            return self._apply(new, new.start())
        if result is NEEDS_IDENTITY:
            self.stack.append(Identify(self, journey.identify_words))
        elif result == Finish("home"):
            return self.home()
        elif isinstance(result, Finish):
            self._leave(journey)
            return None
        elif isinstance(result, Notice):
            self.notice = result
        self._changed()

    def _leave(self, journey: Journey) -> None:
        """Take ``journey`` (and anything above it) off the stack; an identify journey hands back
        to the one that asked for it."""
        if journey not in self.stack or journey is self.stack[0]:
            return self._changed()
        at = self.stack.index(journey)
        del self.stack[at:]
        if isinstance(journey, Identify):
            return self._apply(self.journey, self.journey.resume())
        self._changed()

    def back(self) -> None:
        self.touch()
        if self.notice is not None:
            return self.dismiss_notice()
        journey = self.journey
        went = journey.back()
        if went is True:
            return self._changed()
        if went is not False:
            return self._apply(journey, went)
        if len(self.stack) == 1:
            return self.home()
        self._leave(journey)

    def home(self) -> None:
        self.touch()
        del self.stack[1:]
        self.notice = None
        if not self.session.identity:
            self.session.end("home")
        self._changed()

    def dismiss_notice(self) -> None:
        if self.notice is None:
            return self.back()  # a journey's own notice page (identify): OK means back
        then, self.notice = self.notice.then, None
        if then in ("home", "welcome"):
            return self.home()
        self._changed()

    # -- the session ----------------------------------------------------------------------
    def touch(self) -> None:
        self.session.touch()
        if self.idle_warning is not None:
            self.idle_warning = None
            self._silence()  # the warning's words, if it was said
            self._changed()

    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(lang)
        self.touch()
        self.tr = Translator(lang)
        self.session.language = lang
        if self.notice is not None and self.notice.lang:  # "signed out": now in the chosen language
            self.notice = replace(self.notice, lang="")
        self._changed()  # every page is built in the current language, in its place

    def set_elder(self, on: bool) -> None:
        self.touch()
        self._set_elder(on)

    def _set_elder(self, on: bool) -> None:
        self.elder = bool(on)
        self._changed()
        if self.elder:  # voice is on in elder mode: the page on screen speaks at once
            self._say(speech.speech(self.page, self.tr))
        else:
            self._silence()

    def learn_preferences(self, identity) -> None:
        """Ask the platform for the person's own settings (a person token for this call only) and
        apply them if the same person is still here: elder mode on, their language unless they
        chose one here already. Unsigned (no terminal secret), the platform could not answer."""
        if not getattr(self.central, "terminal_id", None):
            return
        generation, central = self._generation, self.central

        def ask():
            with person_session(central, identity.id_number, identity.name) as token:
                return central.person_preferences(token)

        def apply(prefs) -> None:
            if generation != self._generation or self.session.identity is not identity:
                return  # the person has gone: so has what the platform said about them
            if prefs.language and prefs.language != self.tr.lang and self.tr.lang == self.config.terminal.language:
                self.tr = Translator(prefs.language)
                self.session.language = prefs.language
            if prefs.elder_mode and not self.elder:
                log.info("elder mode from the person's preferences")
                self._set_elder(True)
            else:
                self._changed()

        def failed(exc: CentralError) -> None:
            log.info("person preferences not available (%s)", exc.code)

        self.background.call(ask, apply, failed)

    # -- voice guidance ---------------------------------------------------------------------
    def speak(self) -> None:
        """"朗读" / "重听": the page on screen says its heading and instruction (again, from the start)."""
        self.touch()
        self._say(speech.speech(self.page, self.tr))

    def stop_speaking(self) -> None:
        """"停止"."""
        self.touch()
        self._silence()

    def _say(self, text: str) -> None:
        if self.speaker is not None and text:
            self.speaker.say(text, self.voices[self.tr.lang])

    def _silence(self) -> None:
        if self.speaker is not None:
            self.speaker.stop()

    def _voice_follows(self) -> None:
        """Another page (or the same in another language): the one playing is cut; in elder mode
        the new one speaks by itself."""
        said = speech.speech(self.page, self.tr)
        if said == self._said:
            return
        self._said = said
        self._silence()
        if self.elder:
            self._say(said)

    def logout(self) -> None:
        lang = self.tr.lang  # the person's: the notice is theirs, the welcome page under it the next one's
        self.end_session("logout")
        self.notice = Notice("info", Words("session.ended_title"), Words("session.ended"), then="welcome",
                             lang=lang)
        self._changed()

    def end_session(self, reason: str, keep: tuple[Journey, ...] = ()) -> None:
        """Every journey finishes what must not be lost, then all that showed the person goes.
        ``keep``: journeys usable without a card that stay (in the language, with their answers)."""
        for journey in self.stack:
            journey.on_session_end()
        self.sessions_ended += 1
        self.session.end(reason)
        self.card.released()
        del self.stack[1:]
        self.stack += keep
        self.notice = None
        self.idle_warning = None
        self._silence()  # nothing of the person is said once they have gone
        if not keep:
            self._generation += 1
            self.tr = Translator(self.config.terminal.language)
            self.elder = False

    def _check_idle(self) -> None:
        state = self.session.idle_state()
        if state is IdleState.EXPIRED:
            lang = self.tr.lang
            self.end_session("idle timeout")
            self.notice = Notice("info", Words("session.ended_title"), Words("session.ended_idle"),
                                 then="welcome", lang=lang)
            self._changed()
        elif state is IdleState.WARNING:
            left = self.session.seconds_left()
            if left != self.idle_warning:
                if self.idle_warning is None and self.elder:  # said once as it appears, not every second
                    self._say(speech.idle_warning(self.tr, left))
                self.idle_warning = left
                self._changed()
        elif self.idle_warning is not None:
            self.idle_warning = None
            self._changed()
        self._reset_unattended()
        # Whoever walked away never taps OK on "signed out": the welcome page returns by itself.
        leaving = self.notice is not None and self.notice.then == "welcome" and not self.session.active
        if not leaving:
            self._signed_out_at = None
        elif self._signed_out_at is None:
            self._signed_out_at = self.monotonic()
        elif self.monotonic() - self._signed_out_at >= SIGNED_OUT_S:
            self.dismiss_notice()

    def _reset_unattended(self) -> None:
        """Someone chose a language or elder mode on the welcome page and walked away without
        signing in (or their code could not be checked): no session ends to undo it, so the
        idle timeout does, and the next person finds the terminal's own settings."""
        if self.session.active or self.closed_to_citizens or self.journey is not self.stack[0]:
            return
        if self.tr.lang == self.config.terminal.language and not self.elder:
            return
        if self.session.idle_for() < self.session.idle_timeout_s:
            return
        log.info("welcome page untouched for %.0f s: back to the terminal's language, elder mode off",
                 self.session.idle_for())
        self.notice = None
        self.tr = Translator(self.config.terminal.language)
        self.session.language = None
        self._set_elder(False)

    # -- the tick and device events --------------------------------------------------------
    def news(self) -> bool:
        """Something came that tick() should show now (cheap enough for every frame): a platform
        answer, or the outbox delivered (a journey may be waiting on the "sending" page)."""
        return self.background.answered() or (self.sender is not None
                                              and self.sender.rounds_delivered != self._rounds_seen)

    def tick(self) -> None:
        """Called on the UI clock: device events, finished calls, journeys' waits, idle timer."""
        if self.sender is not None:
            self._rounds_seen = self.sender.rounds_delivered
        if self.devices is not None and not self.devices.started:
            # Only now, after the first frame: opening devices (imports, ports, a printer's
            # database) would compete with drawing it, and they report "unknown" until they answer.
            self.devices.start()
        if self.devices is not None:
            for event in self.devices.drain():
                self.on_device_event(event)
        if self.printing is not None:
            self.printing.pump()
        self.background.apply_finished()
        for journey in list(self.stack):
            if journey in self.stack and (result := journey.tick()) is not None:
                self._apply(journey, result)
        self.upkeep.tick()
        self.remote.tick()
        self.card_tick()
        self._check_idle()
        if self._page() != self.page:  # a journey moved on by itself (a wait ended)
            self._changed()

    def on_device_event(self, event: Event) -> None:
        if self.printing is not None:
            for job in self.printing.on_event(event):
                self._job_changed(job)
        if self.staff.on_event(event):  # a staff card, or a test read in maintenance mode
            return
        if self.closed_to_citizens and isinstance(event, (IdentityRead, CodeScanned)):
            log.info("%s on %s not read: out of service", type(event).__name__, event.device)
            return
        if self.card_event(event):  # kiosk.card: placed, taken, asked again
            return
        if isinstance(event, CodeScanned):
            self.code_scanned(event)  # kiosk.scanned: what the code means here
        elif isinstance(event, StatusChanged):
            self.device_states[event.device] = {"state": event.state.value, **event.detail}
            self._changed()
        elif isinstance(event, RequestDone) and not event.ok:
            log.info("device %s: %s failed: %s", event.device, event.action, event.error)
        elif isinstance(event, ErrorEvent):
            log.warning("device %s: %s (%s)", event.device, event.message, event.code)

    def _job_changed(self, job) -> None:
        for journey in list(self.stack):
            if journey in self.stack:
                result = journey.on_job(job)
                if result is not None:
                    self._apply(journey, result)
        if self.notice is not None and self.notice.job == job.id:  # the overlay follows its slip
            self.notice = job_notice(self.tr, job) or self.notice
        self._changed()

    # -- the platform's commands (kiosk.commands) -------------------------------------------
    @property
    def closed_to_citizens(self) -> bool:
        """Out of service and nobody's session going on: no journey starts, no card is read."""
        return self.remote.out_of_service and self.session.identity is None and len(self.stack) == 1

    def reload_config(self) -> tuple[bool, str]:
        """The configuration file read again; a file that fails its check changes nothing."""
        if self.config_path is None:
            return False, "started without a configuration file: nothing to read again"
        try:
            new = load(self.config_path)
        except ConfigError as exc:
            return False, f"config error: {exc}"
        self.config, later = reloaded(self.config, new)
        self.upkeep.config = self.config
        self.session.idle_timeout_s, self.session.warning_s = self.config.session.idle_timeout_s, self.config.session.warning_s
        self.card.grace_s = self.config.session.card_grace_s
        self._changed()
        return True, "reloaded" + (f"; applied at the next restart: {', '.join(later)}" if later else "")

    def request_stop(self, reason: str) -> None:
        """Ask the app to exit (the app exits with RESTART_EXIT; systemd starts the kiosk again)."""
        self.stop_requested = reason
        self._changed()

    def staff_tap(self) -> None:
        """A tap on the terminal id in the status bar: five in a row open the staff PIN pad."""
        self.staff.tap()

    # -- for the status bar and the staff -------------------------------------------------
    def device_summary(self) -> list[tuple[str, str, bool]]:
        """(device name in the citizen's language, plain status text, ok?) for every configured device."""
        return self.upkeep.device_summary(self.tr)

    def shutdown(self) -> None:
        self.remote.book.close()
        if self.speaker is not None:
            self.speaker.close()
        self.background.shutdown()
        if self.catalogue is not None:
            self.catalogue.close()
        if self.printing is not None:
            self.printing.queue.close()
