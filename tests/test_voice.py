"""Voice guidance as a citizen hears it: the real shell and journeys against the reference platform
over HTTP (signed, as a hall's terminal), a fake speaker recording what would be said; then real
espeak-ng producing audio, and a speaker that hangs or is missing."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
import wave

import pytest

from contract.models import CaseSubmission, TerminalCommand
from devices.events import IdentityRead
from drivers.samv.emulator import SAMPLE_CARDS
from kiosk import config, speech
from kiosk.central_client import CentralClient
from kiosk.config import ConfigError
from kiosk.journeys import JOURNEYS  # noqa: F401  (every journey's pages registered)
from kiosk.outbox import Outbox
from kiosk.pages import PAGES
from kiosk.session import Session
from kiosk.shell import Shell
from kiosk.voice import FakeSpeaker, Speaker, wav_path
from tests.conftest import REPO
from tests.fault_proxy import FaultProxy
from tests.test_shell import run_until

pytestmark = pytest.mark.timeout(60)
LI = SAMPLE_CARDS["li_xiaomei"]
WANG = SAMPLE_CARDS["wang_kun"]  # born 1962: the reference platform keeps elder mode for him


class Kiosk:
    """A signed terminal of its own at the platform, an outbox, a fake speaker; no hardware."""

    def __init__(self, platform, tmp_path, url: str = "", clock=None, **voice):
        self.tid = "V-" + uuid.uuid4().hex[:8].upper()
        self.secret = platform.store.add_terminal(self.tid)
        cfg = config.load(REPO / "config" / "demo.toml")
        cfg.paths.var, cfg.terminal.id = str(tmp_path), self.tid
        for key, value in voice.items():
            setattr(cfg.voice, key, value)
        self.client = CentralClient(url or platform.url, retries=1, terminal_id=self.tid, secret=self.secret)
        self.outbox = Outbox(tmp_path / "outbox.db", self.tid)
        self.speaker = FakeSpeaker()
        session = Session(cfg.session.idle_timeout_s, cfg.session.warning_s, clock=clock) if clock else None
        self.shell = Shell(cfg, self.client, outbox=self.outbox, case_wait_s=0.2, speaker=self.speaker,
                           session=session)

    def close(self):
        self.shell.shutdown()
        self.outbox.close()


@pytest.fixture
def kiosk(platform, tmp_path):
    k = Kiosk(platform, tmp_path)
    yield k
    k.close()


def identify(shell: Shell, card=LI) -> None:
    shell.on_device_event(IdentityRead(device="id_reader", identity=card))


def settle(shell: Shell, seconds: float = 0.5) -> None:
    """Every background answer (the person's preferences among them) is back and applied."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or shell.background._pending:
        shell.tick()
        time.sleep(0.02)


def test_every_page_has_words_to_say():
    assert not speech.SILENT - set(PAGES)  # no silence declared for a page that is not there
    missing = sorted(set(PAGES) - set(speech.SPEECH) - speech.SILENT)
    assert not missing, f"pages without speech (kiosk/speech.py): {missing}"


def test_in_elder_mode_every_page_speaks_as_it_opens_and_nothing_personal(kiosk, platform):
    shell, spk = kiosk.shell, kiosk.speaker
    heard: dict[str, str] = {}

    def spoke(screen: str) -> None:
        """The page on screen is ``screen`` and its words were the last thing said, in Mandarin."""
        assert shell.page.screen == screen, shell.page
        words = speech.speech(shell.page, shell.tr)
        assert words and spk.said[-1] == (words, "cmn"), (spk.said[-1:], words)
        heard[screen] = words

    shell.set_elder(True)
    spoke("welcome")
    assert "读卡处" in heard["welcome"]

    shell.start("guide")
    run_until(shell, lambda: not shell.page.loading)
    spoke("guides")
    n = len(spk.said)
    shell.act("search", query="hunyin")  # typing and results: the same page, said once
    run_until(shell, lambda: not shell.page.loading and shell.page.items)
    assert len(spk.said) == n
    for item in shell.page.items:  # the first one that can be applied for here
        shell.act("open", code=item.code)
        run_until(shell, lambda c=item.code: shell.page.screen == "guide" and shell.page.code == c)
        spoke("guide")
        if shell.page.can_apply and any(m.is_required for m in shell.journey.guide.materials):
            break
        shell.back()
    code = shell.page.code
    shell.act("apply")
    spoke("notice")  # the identify journey asks for the card

    identify(shell)
    settle(shell)
    spoke("apply")
    required = shell.journey.guide.materials.index(next(m for m in shell.journey.guide.materials if m.is_required))
    shell.act("toggle", index=required)
    spoke("question")
    shell.act("answer", yes=False)
    spoke("apply")
    shell.act("confirm")
    run_until(shell, lambda: shell.page.screen == "done")
    spoke("done")
    case_ref = shell.journey.ref

    shell.home()
    spoke("personal")
    assert heard["personal"].startswith("您好，李。")  # the masked surname, without its stars

    token = kiosk.client.person_token(LI.id_number, LI.name).token
    case = kiosk.client.submit_case(token, CaseSubmission(item_code=code), str(uuid.uuid4()))
    kiosk.client.revoke_person_token(token)
    shell.start("query")
    run_until(shell, lambda: shell.page.screen == "query_mine" and not shell.page.loading)
    spoke("query_mine")
    shell.act("open", case_no=case.case_no)
    spoke("query_timeline")
    shell.back()
    shell.act("number")
    spoke("query_number")
    shell.home()

    shell.start("certificate")
    run_until(shell, lambda: shell.page.screen == "certificates" and not shell.page.loading)
    spoke("certificates")
    shell.act("open", cert_id=shell.page.rows[0].cert_id)
    spoke("certificate")
    shell.home()

    shell.start("lifeevent")
    run_until(shell, lambda: not shell.page.loading)
    spoke("life_events")
    shell.act("open", code="birth")
    run_until(shell, lambda: not shell.page.loading)
    spoke("life_event")
    shell.home()

    shell.start("rating")
    spoke("rating_levels")
    shell.act("choose", level=1)
    spoke("rating_reasons")
    shell.act("submit")
    spoke("rating_thanks")
    shell.home()

    shell.start("ticket")
    run_until(shell, lambda: shell.page.screen == "ticket_services" and shell.page.items)
    spoke("ticket_services")
    shell.act("take", code=shell.page.items[0].code)
    run_until(shell, lambda: shell.page.screen == "ticket_printed")
    spoke("ticket_printed")
    assert shell.page.number in heard["ticket_printed"]  # called out in the hall anyway

    shell.logout()  # then the platform takes the terminal out of service (kiosk.commands)
    shell.dismiss_notice()
    shell.remote.receive([TerminalCommand(command_id=1, command="out_of_service", args={"state": "on"},
                                          created_at=dt.datetime.now(dt.UTC))])
    shell.tick()
    shell.set_elder(True)
    spoke("out_of_service")

    assert set(heard) == set(PAGES) - speech.SILENT, sorted(set(PAGES) - speech.SILENT - set(heard))
    said = " ".join(text for text, _voice in spk.said)
    assert LI.name not in said and LI.id_number not in said
    for part in (LI.id_number[:6], LI.id_number[6:14], LI.id_number[-4:]):  # masked or not, no digits of it
        assert part not in said
    assert case.case_no not in said and case_ref not in said and case.case_no[-6:] not in said
    assert "王" not in said  # nobody else's either


def test_not_elder_nothing_is_said_until_speak_is_tapped(kiosk):
    shell, spk = kiosk.shell, kiosk.speaker
    shell.start("lifeevent")
    run_until(shell, lambda: not shell.page.loading)
    shell.act("open", code="birth")
    run_until(shell, lambda: not shell.page.loading)
    assert spk.said == []
    shell.speak()  # 朗读
    words = speech.speech(shell.page, shell.tr)
    assert spk.said == [(words, "cmn")] and "出生" in words
    shell.speak()  # 重听: again, from the start
    assert spk.said == [(words, "cmn")] * 2 and spk.playing
    shell.stop_speaking()  # 停止
    assert spk.playing is None
    shell.speak()
    shell.back()  # another page: the words of the last one are cut, and the new one is silent
    assert spk.playing is None and len(spk.said) == 3


def test_a_page_change_cuts_the_words_playing(kiosk):
    shell, spk = kiosk.shell, kiosk.speaker
    shell.set_elder(True)
    shell.start("rating")
    assert spk.playing == (speech.speech(shell.page, shell.tr), "cmn")
    stops = spk.stops
    shell.act("choose", level=2)
    assert spk.stops == stops + 1 and spk.said[-1][0] == speech.speech(shell.page, shell.tr)
    n = len(spk.said)
    shell.act("toggle", index=0)  # a tick on the same page: neither cut nor said again
    shell.tick()
    assert len(spk.said) == n and spk.stops == stops + 1


def test_signing_out_cuts_the_voice_and_says_nothing_of_the_person(kiosk):
    shell, spk = kiosk.shell, kiosk.speaker
    identify(shell)
    shell.set_elder(True)
    assert "李" in spk.playing[0]
    n = len(spk.said)
    shell.logout()
    assert spk.playing is None  # cut at once
    settle(shell)
    shell.dismiss_notice()
    assert not shell.elder  # the next person starts without it: nothing more is said by itself
    assert spk.said[n:] == [] and shell.page.screen == "welcome"


def test_the_idle_warning_is_said_once_and_the_timeout_cuts_it(platform, tmp_path):
    now = [0.0]
    k = Kiosk(platform, tmp_path, clock=lambda: now[0])
    try:
        shell, spk = k.shell, k.speaker
        identify(shell)
        shell.set_elder(True)
        now[0] = shell.config.session.idle_timeout_s - shell.config.session.warning_s + 1
        shell.tick()
        assert spk.said[-1][0] == speech.idle_warning(shell.tr, shell.idle_warning)
        n = len(spk.said)
        now[0] += 3
        shell.tick()
        assert len(spk.said) == n  # not every second of the countdown
        now[0] += shell.config.session.warning_s
        shell.tick()
        assert spk.playing is None and not shell.session.active
    finally:
        k.close()


@pytest.mark.parametrize(("lang", "tw_voice", "voice", "word"),
                         [("en", "cmn", "en", "Welcome"), ("zh_TW", "cmn", "cmn", "歡迎"),
                          ("zh_TW", "yue", "yue", "歡迎")])
def test_a_language_switch_speaks_in_that_language_s_voice(platform, tmp_path, lang, tw_voice, voice, word):
    k = Kiosk(platform, tmp_path, zh_TW_voice=tw_voice)
    try:
        k.shell.set_elder(True)
        k.shell.set_language(lang)
        text, said_voice = k.speaker.said[-1]
        assert said_voice == voice and word in text
    finally:
        k.close()


def test_the_english_voice_is_given_no_chinese_and_no_stars(kiosk):
    shell, spk = kiosk.shell, kiosk.speaker
    identify(shell)
    shell.set_elder(True)
    shell.set_language("en")
    text, voice = spk.said[-1]
    # Not "Hello, Chinese letter asterisk".
    assert voice == "en" and text.startswith("Hello. What would you like to do?") and "*" not in text


# -- the platform's per-person preference ------------------------------------------------------
def test_the_platform_s_elder_mode_for_a_person_is_applied_after_identification(kiosk):
    shell, spk = kiosk.shell, kiosk.speaker
    identify(shell, WANG)
    run_until(shell, lambda: shell.elder)
    assert spk.said[-1] == (speech.speech(shell.page, shell.tr), "cmn") and shell.page.screen == "personal"
    shell.logout()
    assert not shell.elder
    identify(shell, LI)  # no such preference: the terminal stays as it was
    settle(shell)
    assert not shell.elder and shell.page.screen == "personal"
    assert kiosk.client.person_preferences(
        kiosk.client.person_token(LI.id_number, LI.name).token).elder_mode is False


def test_a_preference_answered_after_the_person_left_is_dropped(platform, tmp_path):
    proxy = FaultProxy(platform.url, ["delay"], delay_s=0.4)
    k = Kiosk(platform, tmp_path, url=proxy.url)
    try:
        identify(k.shell, WANG)
        k.shell.logout()  # gone before the platform answered
        settle(k.shell, 1.5)
        assert not k.shell.elder and k.speaker.said == []
    finally:
        k.close()
        proxy.close()


# -- espeak-ng itself ----------------------------------------------------------------------------
def wait(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize(("voice", "text"), [("cmn", "请将身份证放在感应区"), ("en", "Place your ID card on the reader")])
def test_espeak_ng_writes_audio(tmp_path, voice, text):
    out = tmp_path / "voice" / "last.wav"
    spk = Speaker(wav=out)
    try:
        started = time.monotonic()
        spk.say(text, voice)
        assert time.monotonic() - started < 0.05  # the UI only hands it over
        wait(lambda: spk.spoken == 1)
    finally:
        spk.close()
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() > 0.5  # over half a second of speech
    assert out.stat().st_mode & 0o077 == 0


def test_the_demo_writes_its_voice_to_a_file_without_sound_hardware(monkeypatch):
    cfg = config.load(REPO / "config" / "demo.toml")
    monkeypatch.setattr("kiosk.voice.has_audio_device", lambda: False)
    assert cfg.voice.output == "auto" and wav_path(cfg) == cfg.var_dir / "voice" / "last.wav"
    monkeypatch.setattr("kiosk.voice.has_audio_device", lambda: True)
    assert wav_path(cfg) is None  # a machine with a sound card hears it


def test_a_new_utterance_kills_the_one_playing(tmp_path):
    script = tmp_path / "slow-espeak"
    pids = tmp_path / "pids"
    script.write_text(f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 30\n")
    script.chmod(0o755)
    spk = Speaker(program=str(script))
    try:
        spk.say("一", "cmn")
        wait(lambda: pids.exists() and len(pids.read_text().split()) == 1)
        first = int(pids.read_text().split()[0])
        spk.say("二", "cmn")
        wait(lambda: len(pids.read_text().split()) == 2)
        wait(lambda: not _alive(first), 3)
        spk.stop()
        second = int(pids.read_text().split()[1])
        wait(lambda: not _alive(second), 3)
    finally:
        spk.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_espeak_ng_missing_or_failing_is_one_line_for_staff(tmp_path, caplog):
    caplog.set_level(logging.INFO, "kiosk.voice")
    missing = Speaker(program=str(tmp_path / "no-espeak-ng"))
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho 'error: No such file or directory' >&2\n")
    failing.chmod(0o755)
    broken = Speaker(program=str(failing))
    try:
        for _ in range(3):
            missing.say("您好", "cmn")
            broken.say("您好", "cmn")
            time.sleep(0.2)
    finally:
        missing.close()
        broken.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "no-espeak-ng not found" in lines[0] or "no-espeak-ng not found" in lines[1]
    assert any("failed: error: No such file or directory" in line for line in lines)


@pytest.mark.parametrize(("text", "error"), [
    ("[voice]\nvolume = 201\n", "voice.volume"),
    ("[voice]\nrate = 20\n", "voice.rate"),
    ("[voice]\nzh_TW_voice = \"zh\"\n", "voice.zh_TW_voice"),
    ("[voice]\noutput = \"speakers\"\n", "voice.output"),
])
def test_voice_settings_are_bounded(tmp_path, text, error):
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        config.load(path)


def test_voice_off_in_the_config_means_no_speaker(tmp_path, platform):
    path = tmp_path / "kiosk.toml"
    path.write_text("[voice]\nenabled = false\n")
    shell = Shell(config.load(path), CentralClient(platform.url, retries=1))
    try:
        shell.set_elder(True)
        shell.speak()  # nothing to do it with, and nothing breaks
        assert shell.speaker is None and shell.elder
    finally:
        shell.shutdown()
