"""Voice guidance: a page's heading and instruction read aloud with espeak-ng.

The UI thread only hands an utterance over (``say``) or cuts the one playing (``stop``); a worker
thread starts espeak-ng and waits for it. A new utterance, a page change or the end of a session
cuts the one playing by killing its process. espeak-ng missing or failing is one precise line in
the log for staff; the citizen's screen goes on without voice.

Where the sound goes ([voice] output): ``device`` the default audio device; ``wav`` the file
``<var>/voice/last.wav`` (replaced by each utterance: a demo or a test without sound hardware);
``auto`` the device when this machine has one (an ALSA card or a PulseAudio/PipeWire socket),
else the file. Utterances hold no personal data beyond a masked surname (kiosk.speech); the file
is created 0600 all the same.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

from kiosk.config import KioskConfig

log = logging.getLogger("kiosk.voice")

ESPEAK = "espeak-ng"
DEFAULT = object()  # Shell(speaker=DEFAULT): the one the configuration asks for


def voices(config: KioskConfig) -> dict[str, str]:
    """The espeak-ng voice of each language: 繁體 in Mandarin, or Cantonese if the hall chose it."""
    return {"zh_CN": "cmn", "zh_TW": config.voice.zh_TW_voice, "en": "en"}


def has_audio_device() -> bool:
    try:
        cards = Path("/proc/asound/cards").read_text(errors="replace")
    except OSError:
        cards = ""
    if cards.strip() and "no soundcards" not in cards.lower():
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    sockets = ("pulse/native", "pipewire-0")
    return bool(os.environ.get("PULSE_SERVER")) or (bool(runtime) and any((Path(runtime) / s).exists() for s in sockets))


def wav_path(config: KioskConfig) -> Path | None:
    """The file utterances are written to, or None when they go to the audio device."""
    output = config.voice.output
    if output == "device" or (output == "auto" and has_audio_device()):
        return None
    return config.var_dir / "voice" / "last.wav"


class FakeSpeaker:
    """Records what would be spoken, for tests: ``said`` is [(text, voice)], ``stops`` counts cuts."""

    def __init__(self):
        self.said: list[tuple[str, str]] = []
        self.stops = 0
        self.playing: tuple[str, str] | None = None

    def say(self, text: str, voice: str) -> None:
        self.stops += self.playing is not None
        self.said.append((text, voice))
        self.playing = (text, voice)

    def stop(self) -> None:
        if self.playing is not None:
            self.stops += 1
        self.playing = None

    def close(self) -> None:
        self.playing = None


class Speaker:
    """espeak-ng in a worker thread; ``say`` and ``stop`` never wait for it."""

    def __init__(self, volume: int = 100, rate: int = 150, wav: Path | None = None, program: str = ESPEAK):
        self.volume, self.rate, self.wav, self.program = volume, rate, wav, program
        self._cond = threading.Condition()
        self._next: tuple[str, str] | None = None
        self._generation = 0  # each say/stop: a process started for an older one is cut at once
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._off = False  # espeak-ng is missing: said once, then silence
        self._reported: set[str] = set()
        self.spoken = 0  # utterances espeak-ng finished (tests and the demo wait on it)

    def say(self, text: str, voice: str) -> None:
        if self._off or not text:
            return
        with self._cond:
            self._generation += 1
            self._next = (text, voice)
            self._cut()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._generation += 1
            self._next = None
            self._cut()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._next = None
            self._cut()
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _cut(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # a signal: returns at once

    def command(self, text: str, voice: str) -> list[str]:
        cmd = [self.program, "-v", voice, "-a", str(self.volume), "-s", str(self.rate)]
        if self.wav is not None:
            cmd += ["-w", str(self.wav)]
        return [*cmd, "--", text]

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._next is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                (text, voice), self._next = self._next, None
                generation = self._generation
            self._speak(text, voice, generation)

    def _speak(self, text: str, voice: str, generation: int) -> None:
        try:
            if self.wav is not None:
                self.wav.parent.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(self.command(text, voice), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, umask=0o077)
        except FileNotFoundError:
            self._off = True
            log.error("voice guidance off: %s not found (install the Debian package espeak-ng)", self.program)
            return
        except OSError as exc:
            return self._report(f"voice: cannot start {self.program}: {exc.strerror or exc}")
        with self._cond:
            if generation != self._generation:
                proc.kill()  # cut before it could be registered
            self._proc = proc
        _, err = proc.communicate()
        with self._cond:
            self._proc = None
            cut = generation != self._generation
        if cut or proc.returncode < 0:
            return
        lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        # Without an audio device espeak-ng says so on stderr and still exits 0.
        errors = [line for line in lines if "error" in line.lower()]
        if proc.returncode != 0 or errors:
            why = (errors or lines or [f"exit status {proc.returncode}"])[-1].strip()
            return self._report(f"voice: {self.program} -v {voice} failed: {why[:200]}")
        self.spoken += 1

    def _report(self, line: str) -> None:
        if line not in self._reported:  # one line for staff, not one per page
            self._reported.add(line)
            log.warning("%s", line)


def speaker_for(config: KioskConfig) -> Speaker | FakeSpeaker | None:
    """The kiosk's speaker; None when the hall turned voice guidance off."""
    v = config.voice
    if not v.enabled:
        return None
    if shutil.which(ESPEAK) is None:
        log.error("voice guidance off: %s not found (install the Debian package espeak-ng)", ESPEAK)
        return None
    wav = wav_path(config)
    log.info("voice guidance: espeak-ng to %s", wav if wav is not None else "the default audio device")
    return Speaker(v.volume, v.rate, wav)
