"""The soak: many citizens in a row through the real app, each on a journey drawn at random, while
the hardware and the network misbehave (bench/soak.py runs it and checks what came out).

It builds on the tour (screens/tour.py): it acts only as people do, hardware through the demo
harness and the app by tapping its widgets, and waits for what a person would wait for. Every
session draws from its own generator seeded with (seed, session number), so one session can be
replayed alone. What the citizens saw accepted (the done page of an application) and what the
printer gave out are recorded for the comparison with the platform afterwards.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.collector import resident_mb, sqlite_mb, trim
from kiosk.scanned import REPEAT_S
from screens.kivy_fixes import fonts_opened
from screens.tour import Tour, TourFailed

log = logging.getLogger("kiosk.soak")

# Searches a citizen types on the guides page: pinyin, initials, an item's name in pinyin.
QUERIES = ("hunyin", "shebao", "sfz", "jiehun", "hukou", "yibao", "qxz")
# The journeys drawn once a person is signed in; apply comes through a guide, as a citizen's does.
JOURNEYS = ("guide", "apply", "query", "rating", "ticket", "certificate", "lifeevent", "scan", "language", "elder")
ENDINGS = ("signout", "card_taken", "idle", "signout")  # [::2]: the endings without a card
# Device faults, one drawn for some sessions (see Soak.device_fault).
DEVICE_FAULTS = ("reader_garbage", "reader_silence", "reader_checksum", "reader_truncated", "reader_noise",
                 "paper_out", "cover_open", "printer_unplugged", "printer_garbage", "scanner_garbage",
                 "card_pulled", "sscard")
# The fault proxy's ways of failing (tests/fault_proxy.py), one drawn for some sessions.
NETWORK_FAULTS = ("drop", "drop_after", "delay", "error500", "malformed", "cut", "page404")
MEMORY_EVERY = 50  # the log's and the report's resident memory: after session 10 and every 50th


class SessionOver(Exception):
    """The session ended while a journey was on its way (the card was pulled): not a failure."""


class Notes:
    """What the soak saw, a JSON line each, on disk: kept in the kiosk's process, hundreds of
    sessions of slips' text and samples would be memory the soak counts as the kiosk's, made a
    little at a time among each session's short-lived objects (which then keep Python's arenas)."""

    def __init__(self, path: Path):
        self.path = path
        path.touch()
        self._read: dict[str, list[dict]] | None = None  # by kind, once the run is over

    def add(self, kind: str, **data) -> None:
        self._read = None
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, **data}, ensure_ascii=False) + "\n")

    def read(self, kind: str) -> list[dict]:
        if self._read is None:  # the file once, however many figures the report draws from it
            self._read = {}
            with self.path.open(encoding="utf-8") as f:
                for note in map(json.loads, f):
                    self._read.setdefault(note.pop("kind"), []).append(note)
        return self._read.get(kind, [])


class Soak(Tour):
    def __init__(self, out_dir: Path, sessions: int, seed: int, set_network: Callable[[list[str]], None],
                 first: int = 1, fault_rate: float = 0.35):
        super().__init__(out_dir)
        self.sessions, self.seed, self.first = sessions, seed, first
        self.set_network = set_network
        self.fault_rate = fault_rate
        self.done = 0  # sessions completed
        self.notes = Notes(out_dir.parent / "notes.jsonl")
        self.journeys: dict[str, int] = {}
        self.faults: dict[str, int] = {}
        self.outbox: dict = {}
        self.abandoned = False  # a stuck session the soak could not get back from
        self._later: list[tuple[float, Callable[[], None]]] = []
        self._session = 0
        self._scanned = 0.0  # when a code was last held to the scanner
        self.profile = int(os.environ.get("KIOSK_SOAK_PROFILE", "0"))  # every N sessions: what grew
        # For heaptrack: stop dead after session N, so that what is still allocated is what it held then.
        self.exit_after = int(os.environ.get("KIOSK_SOAK_EXIT_AFTER", "0"))
        self._types: dict[str, int] = {}
        self._observers: dict[str, int] = {}  # (the census) observers of each busy property, last look
        self._textures: set[int] = set()  # (the census) ids of the textures alive at the last look
        self._modules: set[str] = set()  # (the profile) sys.modules as of the last look
        self._traced = None  # (KIOSK_SOAK_TRACE) the first tracemalloc snapshot: (session, snapshot)
        self._fonts_seen: set[str] = set()  # (the profile) the font objects open at the last look
        self._regions: dict[str, float] = {}  # (the profile) resident MB by kind of mapping, last look
        # KIOSK_SOAK_JOURNEYS=guide,apply: only these (to find which journey a fault or a leak is in)
        self.drawn = tuple(j for j in os.environ.get("KIOSK_SOAK_JOURNEYS", "").split(",") if j in JOURNEYS) \
            or JOURNEYS

    # -- what it saw, read back once it is over ------------------------------------------------
    @property
    def stuck(self) -> list[dict]:
        return self.notes.read("stuck")

    @property
    def accepted(self) -> list[dict]:  # {"session", "ref", "number"} of each done page seen
        return self.notes.read("accepted")

    @property
    def slips(self) -> list[dict]:  # {"session", "text", "reprint"} of every slip printed
        return self.notes.read("slip")

    @property
    def memory(self) -> dict[int, float]:  # resident MB after each session, collected and trimmed
        return {note["session"]: note["mb"] for note in self.notes.read("memory")}

    @property
    def memory_parts(self) -> dict[str, dict[int, float]]:  # each part's MB (memory_parts) after each session
        parts: dict[str, dict[int, float]] = {}
        for note in self.notes.read("memory"):
            for part, mb in note.items():
                if part not in ("session", "mb"):
                    parts.setdefault(part, {})[note["session"]] = mb
        return parts

    @property
    def codes(self) -> list[str]:  # the citizen codes shown (the privacy audit looks for them)
        return [note["code"] for note in self.notes.read("code")]

    def start(self, app) -> None:
        from kivy.clock import Clock

        super().start(app)
        self._event.cancel()  # every frame rather than ten times a second: many sessions to go
        self._event = Clock.schedule_interval(self._advance, 0)

    # -- driving --------------------------------------------------------------------------
    def _advance(self, dt) -> None:
        now = time.monotonic()
        for due in [x for x in self._later if x[0] <= now]:
            self._later.remove(due)
            due[1]()
        super()._advance(dt)

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        """Staff (or the cable) put the fault right after ``seconds``."""
        self._later.append((time.monotonic() + seconds, action))

    def _finish(self) -> None:
        self.exit_code = 0 if not self.failure else 1
        self._event.cancel()
        self.app.stop()

    def shot(self, journey: str, page: str) -> Path:  # no pictures: a soak is not a tour
        return Path()

    def script(self):
        shell = self.shell
        yield from self.wait("the devices to come online", lambda: all(ok for _n, _t, ok in shell.device_summary()),
                             timeout=30)
        yield from self.wait("the catalogue", lambda: shell.catalogue is not None and shell.catalogue.ready, timeout=60)
        # A terminal is started before the hall opens: every screen built and font opened by then
        # (screens/warmup.py), which the first citizens would otherwise bring in as they come.
        yield from self.wait("the warm-up", lambda: self.app.prebuilt, timeout=120)
        for n in range(self.first, self.sessions + 1):
            self._session = n
            try:
                yield from self.session(n, random.Random(f"{self.seed}-{n}"))
            except TourFailed as exc:
                self.notes.add("stuck", session=n, what=str(exc))
                log.error("soak session %d stuck: %s", n, exc)
                self._save(f"stuck-session-{n:04d}")
                if not (yield from self.recover()):
                    self.abandoned = True
                    self.failure = f"session {n}: could not get back to the welcome page after: {exc}"
                    return
            self.done = n
            self.harvest(n)
            if self.profile and n % self.profile == 0:
                self.object_growth(n)
            gc.collect()  # as the kiosk leaves itself once a person has gone (kiosk.collector)
            trim()
            mb = resident_mb()
            # and what it is made of (bench/soak.py compares each part's medians as it does the whole's)
            self.notes.add("memory", session=n, mb=mb, **memory_parts())
            if n == 10 or n % MEMORY_EVERY == 0:
                log.info("soak: resident memory after session %d: %.1f MB", n, mb)
            if n == self.exit_after:
                log.warning("soak: stopping dead after session %d (KIOSK_SOAK_EXIT_AFTER)", n)
                logging.shutdown()
                os._exit(0)
        yield from self.drain()

    def object_growth(self, n: int) -> None:
        """Resident memory (and after malloc_trim), the font objects Kivy has open (each
        (face, size) is one, ~2.5 MB for a CJK face), glibc's bytes in use and free (growth in use
        is memory kept, growth free is fragmentation), the proportional set (a font page mapped by
        two font objects counts once) and, with KIOSK_SOAK_CENSUS=1, the Python object types and
        the Kivy bindings that grew most since the last look (the census itself costs memory: its
        lists of every object leave the arenas fragmented)."""

        gc.collect()
        grew = ""
        if os.environ.get("KIOSK_SOAK_CENSUS"):
            from collections import Counter

            from kivy.uix.widget import Widget

            objects = gc.get_objects()
            counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
            counts.update(f"widget {type(o).__qualname__}" for o in objects if isinstance(o, Widget))
            diff = sorted(((c - self._types.get(t, 0), t) for t, c in counts.items()), reverse=True)
            self._types = dict(counts)
            grew += self._observers_grown(objects)
            grew += self._textures_grown(objects)
            del objects
            widgets = [(d, t) for d, t in diff if t.startswith("widget ")][:10]
            grew += "; grew: " + ", ".join(f"{t} +{d}" for d, t in diff[:12] + widgets if d > 0)
        if os.environ.get("KIOSK_SOAK_TRACE"):  # Python's own allocations, str and bytes included
            import tracemalloc

            if not tracemalloc.is_tracing():
                tracemalloc.start(8)
            else:  # against the first look: what outlives the sessions between, not one session's leftovers
                now = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
                if self._traced is None:
                    self._traced = (n, now)
                else:
                    top = now.compare_to(self._traced[1], "traceback")[:8]
                    grew += f"; traced since session {self._traced[0]}: " + " | ".join(
                        f"{d.size_diff / 1e6:+.2f} MB {' <- '.join(str(f) for f in d.traceback[-1:-5:-1])}" for d in top)
        before = resident_mb()
        trim()
        regions = smaps_mb()
        modules, self._modules = set(sys.modules) - self._modules, set(sys.modules)
        if n > self.profile:  # a module first imported mid-day: the warm-up could bring it in
            grew += f"; modules imported since: {len(modules)} ({', '.join(sorted(modules)[:12])})"
        grew += "; caches " + ", ".join(  # functools' caches, fullest first: bounded, but filled by the day's use
            f"{name} {f.cache_info().currsize}/{f.cache_info().maxsize}"
            for name, f in sorted(_module_caches().items(), key=lambda kv: -kv[1].cache_info().currsize)[:8])
        render = sys.modules.get("drivers.escpos.render")  # the receipt encoder's (the printer's: its process)
        if render is not None:
            grew += f"; printer glyph cells {render.glyph.cache_info().currsize}"
        grew += f"; SQLite's memory {sqlite_mb():.1f} MB; threads {threading.active_count()}; malloc {malloc_mb()}; {python_arenas()}; proportional set {pss_mb():.1f} MB"
        changes = {k: v - self._regions.get(k, 0) for k, v in regions.items()}
        grew += "; resident by mapping, most changed (MB, change): " + ", ".join(
            f"{k} {regions[k]:.1f} ({d:+.1f})" for k, d in sorted(changes.items(), key=lambda kv: -abs(kv[1]))[:8])
        self._regions = regions
        fonts = set(fonts_opened())
        new_fonts, self._fonts_seen = sorted(fonts - self._fonts_seen), fonts
        log.info("soak profile after session %d: %.1f MB (%.1f MB after malloc_trim); fonts opened: %d%s%s",
                 n, before, resident_mb(), len(fonts), f" (new: {', '.join(new_fonts)})" if n > self.profile else "",
                 grew)

    def _observers_grown(self, objects) -> str:
        """The Kivy properties whose list of observers grew most since the last look: a binding
        made again and again and never undone (it found screens/kivy_fixes.OneBarBinding)."""
        from kivy.event import EventDispatcher

        now = {}
        for o in objects:
            if isinstance(o, EventDispatcher):
                for name in o.properties():
                    if (k := len(o.get_property_observers(name))) > 10:
                        now[f"{type(o).__qualname__}@{id(o):x}.{name}"] = k
        grown = sorted(((k - self._observers.get(key, 0), key) for key, k in now.items()), reverse=True)
        self._observers = now
        return "; observers grown: " + (", ".join(f"{key} +{d}" for d, key in grown[:5] if d > 0) or "none")

    def _textures_grown(self, objects) -> str:
        """Kivy's textures alive (each a GL texture: in llvmpipe, memory of the kiosk's process) and,
        for those made since the last look and still alive, their size and what holds them."""
        from collections import Counter

        from kivy.graphics.opengl import glDeleteTextures, glGenTextures, glIsTexture
        from kivy.graphics.texture import Texture

        textures = [o for o in objects if isinstance(o, Texture)]
        seen, self._textures = self._textures, {id(t) for t in textures}
        new = [t for t in textures if id(t) not in seen]
        holders = Counter()
        for t in new[:200]:
            refs = [r for r in gc.get_referrers(t) if r is not objects and r is not textures and r is not new]
            holders.update(f"{type(r).__module__}.{type(r).__qualname__}" for r in refs[:3])
        sizes = Counter(f"{t.width}x{t.height}" for t in new)
        # The pixels behind them, each GL texture once (a region shares its texture's): llvmpipe
        # keeps them in the process's heap, 4 bytes a pixel.
        pixels = {t.id: t.width * t.height for t in textures if type(t) is Texture}
        # GL's names: the next one GL gives out, and how many below it are still textures (Kivy
        # deletes a texture's GL side once its object is gone; a count that grows is GL's to keep).
        probe = glGenTextures(1)[0]
        glDeleteTextures(1, probe.to_bytes(4, sys.byteorder))
        live = sum(1 for i in range(1, probe) if glIsTexture(i))
        return (f"; textures alive {len(textures)} ({sum(pixels.values()) * 4 / 2**20:.1f} MB of pixels; "
                f"GL: next name {probe}, {live} below it are textures), "
                f"new since the last look {len(new)} "
                f"(sizes {', '.join(f'{k} {v}' for k, v in sizes.most_common(5))}; "
                f"held by {', '.join(f'{k} {v}' for k, v in holders.most_common(6))})")

    # -- a session --------------------------------------------------------------------------
    def session(self, n: int, rng: random.Random):
        shell, demo = self.shell, self.demo
        yield from self.wait("the welcome page", lambda: shell.page.screen == "welcome" and not shell.page.use_card)
        fault = rng.choice(DEVICE_FAULTS) if rng.random() < self.fault_rate else ""
        network = rng.choice(NETWORK_FAULTS) if rng.random() < self.fault_rate else ""
        self.set_network(["pass", network] if network else ["pass"])  # the fault every other request
        for name in (fault, network and f"network_{network}"):
            if name:
                self.faults[name] = self.faults.get(name, 0) + 1
        log.info("soak session %d: device fault %s, network %s", n, fault or "-", network or "-")
        if rng.random() < 0.2:
            yield from self.language(rng.choice(("zh_TW", "en", "zh_CN")))
        if rng.random() < 0.1:
            self.tap(self.screen("welcome").ids.elder)
            yield from self.wait("elder mode", lambda: shell.elder)
        if rng.random() < 0.1:
            spoken = getattr(shell.speaker, "spoken", None)
            self.tap(self.app.root.ids.speak)
            if spoken is not None:
                yield from self.wait("the page spoken", lambda: shell.speaker.spoken > spoken)
        if fault == "sscard":
            demo.toggle_ss_card()
            self.later(rng.uniform(0.5, 3), demo.toggle_ss_card)
        if fault == "scanner_garbage":
            demo.scanner.send_garbage(rng.randbytes(rng.randint(1, 40)))

        # Signing in: a card on the reader (a faulty reader for a while), or the app's citizen code.
        by_code = rng.random() < 0.15
        if fault.startswith("reader_"):
            self.reader_fault(fault[7:], rng)
        if by_code:
            yield from self.wait("a moment since the last code",
                                 lambda: time.monotonic() - self._scanned > REPEAT_S + 0.2, timeout=REPEAT_S + 5, settle=0)
            self._scanned = time.monotonic()
            demo.show_code("citizen")
            self.notes.add("code", code=demo.last_code)
        else:
            demo.place_card(rng.randrange(len(demo.card_labels())))
        yield from self.wait("the personal page", lambda: shell.page.screen == "personal"
                             or (shell.page.screen == "notice" and shell.page.kind != "progress"), timeout=30)
        if shell.page.screen != "personal":  # the code could not be checked (the network): told so
            yield from self.signed_out(walk_away=True)
            return
        if fault == "card_pulled" and not by_code:
            self.pull_at = rng.randint(0, 2)
        else:
            self.pull_at = -1
        try:
            for i in range(rng.randint(1, 3)):
                if i == self.pull_at:
                    demo.remove_card()
                    yield from self.wait("the card-taken notice", lambda: not shell.session.active,
                                         timeout=shell.config.session.card_grace_s + 10)
                    raise SessionOver
                # Every tenth session applies first: even a tiny soak checks a case end to end.
                journey = "apply" if i == 0 and n % 10 == 1 and "apply" in self.drawn else rng.choice(self.drawn)
                self.journeys[journey] = self.journeys.get(journey, 0) + 1
                log.info("soak session %d: %s", n, journey)
                yield from getattr(self, f"j_{journey}")(rng, fault)
                yield from self.home()
            yield from self.end(rng.choice(ENDINGS[::2] if by_code else ENDINGS))  # no card to take away
        except SessionOver:
            pass
        yield from self.signed_out()

    def reader_fault(self, kind: str, rng: random.Random) -> None:
        reader = self.demo.reader
        if kind == "noise":
            reader.line_noise(0.2, 0.1, seed=rng.randrange(1 << 30))
            self.later(rng.uniform(1, 4), reader.line_noise)
            return
        reader.fault = {"checksum": "bad_checksum"}.get(kind, kind)
        self.later(rng.uniform(0.5, 4), lambda: setattr(reader, "fault", None))

    def printer_fault(self, fault: str, rng: random.Random) -> None:
        """Just before a print: the fault, and staff putting it right a few seconds later."""
        printer = self.demo.printer
        if fault == "paper_out":
            printer.set_paper("out")
            self.later(rng.uniform(1, 6), lambda: printer.set_paper("full"))
        elif fault == "cover_open":
            printer.set_cover(True)
            self.later(rng.uniform(1, 6), lambda: printer.set_cover(False))
        elif fault == "printer_unplugged":
            printer.set_online(False)
            self.later(rng.uniform(1, 6), lambda: printer.set_online(True))
        elif fault == "printer_garbage":
            printer.send_garbage(rng.randbytes(rng.randint(1, 16)))

    def end(self, how: str):
        shell = self.shell
        if shell.page.screen != "personal":
            yield from self.home()
        if how == "signout":
            self.tap(self.screen("personal").ids.logout)
        elif how == "card_taken":
            self.demo.remove_card()
        else:  # walked away: the idle timer sees no touch for the whole timeout
            shell.session.last_touch -= shell.session.idle_timeout_s + 1
        yield from self.wait(f"the session to end ({how})", lambda: not shell.session.active,
                             timeout=shell.config.session.card_grace_s + 15)

    def signed_out(self, walk_away: bool = False):
        """Past the sign-out notice, the card taken, the welcome page for the next person. With
        ``walk_away`` nobody had signed in: the person leaves, and the idle timeout puts back
        what they chose on the welcome page (kiosk.shell: Shell._reset_unattended)."""
        shell = self.shell
        self.demo.remove_card()
        deadline = time.monotonic() + 30
        while not (shell.page.screen == "welcome" and not shell.page.use_card):
            if time.monotonic() > deadline:
                raise TourFailed(f"no welcome page after the session (screen {shell.page.screen!r})")
            if shell.page.screen == "notice" and shell.page.kind != "progress":
                self.tap(self.screen("notice").ids.ok)
                yield from self.wait("the notice to go", lambda: shell.page.screen != "notice", timeout=5)
            yield
        default = shell.config.terminal.language
        if walk_away and (shell.elder or shell.tr.lang != default):
            shell.session.last_touch -= shell.session.idle_timeout_s + 1
            yield from self.wait("the welcome page as the terminal's own again",
                                 lambda: not shell.elder and shell.tr.lang == default, timeout=5)
        if shell.elder or shell.tr.lang != default:
            raise TourFailed(f"the person's choice outlived them (elder {shell.elder}, language {shell.tr.lang})")

    def home(self):
        """Back to the personal page the way a citizen goes: OK on a notice, 返回 on a page."""
        shell = self.shell
        deadline = time.monotonic() + 45
        while shell.page.screen != "personal":
            if not shell.session.active:
                raise SessionOver
            if time.monotonic() > deadline:
                raise TourFailed(f"could not get back to the personal page from {shell.page.screen!r}")
            left = shell.page.screen
            ids = self.screen(left).ids
            if left == "notice":
                if shell.page.kind == "progress":
                    yield
                    continue
                button = ids.ok
            elif left == "question":
                button = ids.no
            elif "back" in ids:
                button = ids.back
            elif "home" in ids:
                button = ids.home
            elif "header" in ids:
                button = ids.header.ids.back
            else:
                raise TourFailed(f"no way back from {left!r}")
            self.tap(button)
            yield from self.wait(f"away from {left}", lambda left=left: shell.page.screen != left
                                 or not shell.session.active, timeout=20, settle=1)

    def recover(self):
        """After a stuck journey: everything put right, the person gone; the welcome page again?"""
        self._later.clear()
        self.set_network(["pass"])
        demo = self.demo
        demo.reader.fault = None
        demo.reader.line_noise()
        demo.printer.set_paper("full")
        demo.printer.set_cover(False)
        demo.printer.set_online(True)
        demo.remove_card()
        if self.shell.session.active:
            self.shell.session.last_touch -= self.shell.session.idle_timeout_s + 1
        try:
            yield from self.signed_out()
        except TourFailed:
            return False
        return True

    def seen(self, widgets) -> list:
        """Those a person can see to touch: not scrolled out of any list they are in (a finger
        scrolls first; the soak picks among what is in view)."""
        from kivy.uix.scrollview import ScrollView

        out = []
        for w in widgets:
            x, y = w.to_window(*w.center)
            parent, inside = w.parent, True
            while parent is not None and inside and parent is not parent.parent:  # (the window is its own)
                if isinstance(parent, ScrollView):
                    px, py = parent.to_window(*parent.pos)
                    inside = px <= x <= px + parent.width and py <= y <= py + parent.height
                parent = parent.parent
            if inside:
                out.append(w)
        return out

    # -- outcomes ---------------------------------------------------------------------------
    def until(self, what: str, cond: Callable[[], bool], timeout: float = 20):
        """Wait for ``cond``, or for the app to say otherwise (a notice, the session over)."""
        shell = self.shell
        yield from self.wait(what, lambda: cond() or not shell.session.active
                             or (shell.page.screen == "notice" and shell.page.kind != "progress"), timeout=timeout)
        if not shell.session.active:
            raise SessionOver
        return cond()

    def harvest(self, n: int) -> None:
        """The slips printed so far, as text (the printer keeps the pictures of the last two)."""
        for text in self.demo.take_slip_texts(keep=2):
            self.notes.add("slip", session=n, text=text, reprint="补打" in text or "REPRINT" in text)

    def drain(self):
        """The network back, every fault put right: the outbox delivers all it holds."""
        self.set_network(["pass"])
        outbox = self.shell.outbox
        if self.shell.sender is not None:
            self.shell.sender.wake()
        deadline = time.monotonic() + 180
        while outbox.counts().get("pending", 0):
            if time.monotonic() > deadline:
                break
            if int(time.monotonic()) % 5 == 0:
                outbox.retry_now()
                self.shell.sender.wake()
            yield
        self.outbox = {"counts": outbox.counts(),
                       "items": [{"ref": i.terminal_ref, "kind": i.kind, "state": i.state, "number": i.result_id}
                                 for i in outbox.items()],
                       "receipts": [{"ref": ref, "state": state} for ref, state, _ in outbox.receipts()]}
        self.harvest(self.done)

    # -- the journeys -----------------------------------------------------------------------
    def open_guide(self, rng: random.Random, query: str):
        shell = self.shell
        self.tap(self.entry("guide"))
        if not (yield from self.until("the guide list", self.on_screen("guides", loading=False))):
            return False
        keyboard = self.screen("guides").ids.keyboard
        keys = {b.text: b for row in keyboard.children for b in row.children if hasattr(b, "text")}
        for ch in query:
            self.tap(keys[ch])
            yield
        if not (yield from self.until(f"results for {query!r}", lambda: shell.page.screen == "guides"
                                      and shell.page.query == query and not shell.page.loading)):
            return False
        if not shell.page.items:
            return False
        yield
        first = shell.page.items[0].code
        rows = self.screen("guides").ids.results.layout_manager.children
        row = next((r for r in rows if getattr(r, "code", None) == first), None)
        if row is None:
            raise TourFailed("the first result is not on screen")
        self.tap(row)
        return (yield from self.until("the guide page", self.on_screen("guide")))

    def print_here(self, button, fault: str, rng: random.Random):
        """Tap a print button (a printer fault just before, for some sessions); wait for the notice."""
        shell = self.shell
        if fault in ("paper_out", "cover_open", "printer_unplugged", "printer_garbage"):
            self.printer_fault(fault, rng)
            yield from self.wait("the printer's state seen", lambda: True, settle=5)
        self.tap(button)
        yield from self.until("the print notice", lambda: False, timeout=30)
        if shell.page.screen == "notice" and shell.page.kind == "warning":
            # The slip waits for the printer; the citizen waits a little, as the notice says.
            yield from self.wait("the slip after the fault", lambda: shell.page.screen != "notice"
                                 or shell.page.kind != "warning" or not shell.session.active, timeout=10)

    def j_guide(self, rng, fault):
        if not (yield from self.open_guide(rng, rng.choice(QUERIES))):
            return
        if rng.random() < 0.6:
            yield from self.print_here(self.screen("guide").ids.print_button, fault, rng)

    def j_apply(self, rng, fault):
        shell = self.shell
        if not (yield from self.open_guide(rng, rng.choice(("hunyin", "jiehun", "hukou")))):
            return
        if not shell.page.can_apply:
            return
        self.tap(self.screen("guide").ids.apply_button)
        if not (yield from self.until("the apply page", self.on_screen("apply"))):
            return
        rows = self.screen("apply").ids.materials.children[::-1]
        optional = [r for r in rows if not r.ticked]
        optional = self.seen(optional)
        if optional and rng.random() < 0.5:
            self.tap(rng.choice(optional))
            yield
        if fault in ("paper_out", "cover_open", "printer_unplugged", "printer_garbage"):
            self.printer_fault(fault, rng)
        self.tap(self.screen("apply").ids.confirm)
        if rng.random() < 0.2:  # an impatient second tap submits nothing more
            self.tap(self.screen("apply").ids.confirm)
        apply = shell.journey
        done = yield from self.until("the done page", self.on_screen("done"),
                                     timeout=shell.case_wait_s + 20)
        if done:
            self.notes.add("accepted", session=self._session, ref=apply.ref, number=apply.number)
            yield from self.wait("the receipt", lambda: bool(shell.page.receipt), timeout=10)
        elif apply.ref:
            self.notes.add("accepted", session=self._session, ref=apply.ref, number="", not_shown=True)

    def j_query(self, rng, fault):
        shell = self.shell
        self.tap(self.entry("query"))
        if not (yield from self.until("my cases", self.on_screen("query_mine", loading=False), timeout=25)):
            return
        if not shell.page.rows:
            return
        case_no = shell.page.rows[0].case_no
        row = next((w for w in self.screen("query_mine").ids.rows.children if getattr(w, "case_no", None) == case_no),
                   None)
        if row is None:
            return
        self.tap(row)
        if not (yield from self.until("the timeline", self.on_screen("query_timeline"), timeout=25)):
            return
        if rng.random() < 0.4:
            yield from self.print_here(self.screen("query_timeline").ids.print_button, fault, rng)

    def j_rating(self, rng, fault):
        shell = self.shell
        self.tap(self.entry("rating"))
        if not (yield from self.until("the levels page", self.on_screen("rating_levels"))):
            return
        buttons = self.seen(self.screen("rating_levels").ids.levels.children)
        self.tap(rng.choice(buttons))
        yield from self.until("the next page", lambda: shell.page.screen in ("rating_reasons", "rating_thanks"))
        if shell.page.screen == "rating_reasons":
            screen = self.screen("rating_reasons")
            rows = self.seen([*screen.ids.reasons.children, *screen.ids.phrases.children])
            self.tap(rng.choice(rows))
            yield from self.wait("the tick", lambda: any(shell.page.ticked), settle=1)
            self.tap(screen.ids.submit)
            yield from self.until("the thanks", self.on_screen("rating_thanks"), timeout=25)

    def j_ticket(self, rng, fault):
        shell = self.shell
        self.tap(self.entry("ticket"))
        if not (yield from self.until("the business types", lambda: shell.page.screen == "ticket_services"
                                      and not shell.page.busy, timeout=25)):
            return
        if shell.page.error:
            return
        if fault in ("paper_out", "cover_open", "printer_unplugged", "printer_garbage"):
            self.printer_fault(fault, rng)
        self.tap(rng.choice(self.seen(self.screen("ticket_services").ids.services.children)))
        yield from self.until("the ticket page", self.on_screen("ticket_printed"), timeout=25)

    def j_certificate(self, rng, fault):
        shell = self.shell
        self.tap(self.entry("certificate"))
        if not (yield from self.until("the certificate list", lambda: shell.page.screen == "certificates"
                                      and not shell.page.loading, timeout=25)):
            return
        if not shell.page.rows:
            return
        # The list makes widgets only for the rows in view, once it has laid them out.
        def in_view():
            return self.seen(self.screen("certificates").ids.rows.children)

        if not (yield from self.until("the certificate rows", lambda: bool(in_view()), timeout=5)):
            return
        rows = in_view()
        self.tap(rng.choice(rows))
        shown = yield from self.until("the certificate page", self.on_screen("certificate"), timeout=25)
        if shown and rng.random() < 0.5:
            yield from self.print_here(self.screen("certificate").ids.print_button, fault, rng)

    def j_lifeevent(self, rng, fault):
        shell = self.shell
        self.tap(self.entry("lifeevent"))
        if not (yield from self.until("the life events", lambda: shell.page.screen == "life_events"
                                      and not shell.page.loading, timeout=25)) or not shell.page.events:
            return  # the platform did not answer: the page says so, with 重试
        self.tap(rng.choice(self.seen(self.screen("life_events").ids.events.children)))
        if not (yield from self.until("the event's items", lambda: shell.page.screen == "life_event"
                                      and not shell.page.loading, timeout=25)):
            return
        if shell.page.items and rng.random() < 0.5:
            yield from self.print_here(self.screen("life_event").ids.print_button, fault, rng)

    def j_scan(self, rng, fault):
        shell = self.shell
        what = rng.choice(("receipt", "guide", "other"))
        # The same code again within a moment is one scan (kiosk.scanned): a person is slower.
        yield from self.wait("a moment since the last code", lambda: time.monotonic() - self._scanned > REPEAT_S + 0.2,
                             timeout=REPEAT_S + 5, settle=0)
        self._scanned = time.monotonic()
        if not self.demo.show_code(what):
            return
        yield from self.until(f"the {what}'s page", lambda: shell.page.screen != "personal"
                              and not getattr(shell.page, "loading", False), timeout=25)

    def j_language(self, rng, fault):
        yield from self.language(rng.choice(("zh_TW", "en", "zh_CN")))

    def j_elder(self, rng, fault):
        shell = self.shell
        elder = shell.elder
        self.tap(self.screen("personal").ids.elder)
        yield from self.wait("elder mode switched", lambda: shell.elder != elder)


def _module_caches() -> dict[str, functools._lru_cache_wrapper]:
    """The functools caches of the kiosk's modules, by name (found through the modules: made at
    import, they are among the objects the collector froze, which gc no longer lists)."""
    found: dict[int, tuple[str, functools._lru_cache_wrapper]] = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("kiosk", "contract", "screens", "devices", "drivers", "central"):
            for f in list(vars(module).values()):
                if isinstance(f, functools._lru_cache_wrapper):  # (imported elsewhere: named once, where made)
                    found.setdefault(id(f), (f"{f.__module__}.{getattr(f, '__qualname__', '?')}", f))
    return dict(found.values())


def smaps_mb() -> dict[str, float]:
    """Resident MB by kind of mapping: the heap, anonymous maps (malloc arenas, mmaps of GL and
    the C libraries), stacks, and each file mapped."""
    out: dict[str, float] = {}
    name = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if len(head) >= 5 and "-" in head[0] and ":" not in head[0]:
            name = head[5] if len(head) > 5 else "[anon]"
            name = name.rsplit("/", 1)[-1] if name.startswith("/") else name
        elif head and head[0] == "Rss:":
            out[name] = out.get(name, 0) + int(head[1]) / 1024
    return out


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def malloc_mb() -> str:
    """glibc's own account, all arenas: bytes in use (heap chunks + mmapped blocks) and bytes free
    in its heaps. Live bytes that grow are memory kept; free bytes that grow are fragmentation."""
    try:
        m = _mallinfo()
    except (OSError, AttributeError):
        return "n/a"
    return f"in use {(m.uordblks + m.hblkhd) / 1e6:.1f} MB (mmapped {m.hblkhd / 1e6:.1f}), free {m.fordblks / 1e6:.1f} MB"


def memory_parts() -> dict[str, float]:
    """What the resident size is made of (MB, ~30 ms to take): malloc's bytes in use and free, the
    resident size of its main heap and of the anonymous maps (its other arena, Python's arenas,
    stacks), Python's arenas held (1 MiB each) and the bytes in use in them, and the resident size
    of the GL renderer (llvmpipe's JIT and its own code) and of all files mapped (those two among
    them: the GL renderer's own lines say whether it is what grows)."""
    m = _mallinfo()
    regions = smaps_mb()
    arenas, in_use = _arena_stats()
    return {"heap_in_use": round(m.uordblks / 2**20, 2), "heap_free": round(m.fordblks / 2**20, 2),
            "malloc_mmapped": round(m.hblkhd / 2**20, 2), "heap_resident": round(regions.get("[heap]", 0), 2),
            "anon_resident": round(regions.get("[anon]", 0), 2), "python_arenas_held": arenas,
            "python_in_use": round(in_use / 2**20, 2),
            "llvm_resident": round(sum(v for k, v in regions.items() if "LLVM" in k), 2),
            "swrast_resident": round(regions.get("swrast_dri.so", 0), 2),
            "files_resident": round(sum(v for k, v in regions.items() if not k.startswith("[")), 2)}


def _mallinfo() -> _Mallinfo2:
    info = ctypes.CDLL("libc.so.6").mallinfo2
    info.restype = _Mallinfo2
    return info()


def python_arenas() -> str:
    """Python's own small-object arenas (1 MiB mappings that malloc does not see): how many are
    held and how much of them is in use; a spike of small objects leaves arenas partly used."""
    arenas, in_use = _arena_stats()
    return f"Python's arenas {arenas} ({in_use / 1e6:.1f} MB in use)"


def _arena_stats() -> tuple[int, int]:
    import re
    import tempfile

    with tempfile.TemporaryFile() as f:  # _debugmallocstats writes to the C stderr only
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode("ascii", "replace")

    def field(name: str) -> int:
        m = re.search(rf"# {name}\s*=\s*([\d,]+)", text)
        return int(m.group(1).replace(",", "")) if m else 0

    return field("arenas allocated current"), field("bytes in allocated blocks")


def pss_mb() -> float:
    """The proportional set: a page mapped twice (a font file opened by two font objects) counts once."""
    line = next(x for x in Path("/proc/self/smaps_rollup").read_text().splitlines() if x.startswith("Pss:"))
    return int(line.split()[1]) / 1024


