"""A noisy line between the kiosk and the SAM_V reader (the emulator on a real pty): a damaged or
cut-off frame is never used; the request is sent again within the wait window and counted, and
only a line that stays bad for the whole window ends in bad_checksum."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from devices.events import ErrorEvent, IdentityRead, StatusChanged
from devices.manager import DeviceManager
from drivers.samv import protocol as p
from drivers.samv.emulator import SAMPLE_CARDS, NoisyLine, SamEmulator
from kiosk import read_cli
from tests.conftest import KIOSK, REPO

pytestmark = pytest.mark.timeout(60)

NOISE, CORRUPT = 0.4, 0.15  # 40 % of replies after a burst of noise, 15 % of frames damaged
WAIT = 5.0  # read-id's default --wait
CARDS = list(SAMPLE_CARDS.values())


def no_config():
    raise AssertionError("read-id --driver needs no configuration")


def read_id(capsys, port: str, wait: float) -> tuple[int, dict, str, float]:
    """What `kiosk devices read-id --driver sam-serial --port PORT --json --reveal` runs, in-process."""
    started = time.monotonic()
    code = read_cli.read_id(no_config, None, "sam-serial", port, None, as_json=True, reveal=True, wait=wait)
    took = time.monotonic() - started
    out = capsys.readouterr()
    return code, json.loads(out.out), out.out + out.err, took


def person(card) -> dict:
    """Everything read-id --reveal prints about the card's holder, from the emulator's card."""
    want = read_cli.identity_json(card, reveal=True)
    del want["photo_bytes"]  # the sample cards carry no photo; the emulator sends a fake one
    return want


def test_noisy_line_reads_the_right_person_within_the_wait(capsys):
    retried = retries = damaged_frames = 0
    for seed in range(20):
        card = CARDS[seed % len(CARDS)]
        with SamEmulator(card=card) as emu:
            emu.line_noise(NOISE, CORRUPT, seed)
            code, out, text, took = read_id(capsys, emu.port, WAIT)
            damaged = emu.damaged
        assert code == 0, (seed, text)
        assert {k: out.get(k) for k in person(card)} == person(card), seed
        assert took < WAIT, seed
        # A damaged frame is never used: the driver had to ask again.
        assert out["retries"] > 0 or damaged == 0, (seed, out["retries"], damaged)
        retried += out["retries"] > 0
        retries += out["retries"]
        damaged_frames += damaged
    assert retried >= 12  # the seeds are not all lucky: most runs had to ask again
    # ...and only for damage (a damaged request is answered SW3 10, which may be damaged too).
    assert retries <= damaged_frames


def test_a_line_that_damages_every_frame_ends_in_bad_checksum_never_a_person(capsys):
    card = SAMPLE_CARDS["wang_kun"]
    with SamEmulator(card=card) as emu:
        emu.line_noise(NOISE, 1.0, 7)
        code, out, text, took = read_id(capsys, emu.port, 1.5)
    assert code == 1 and out["ok"] is False and out["error"] == "bad_checksum", text
    assert 1.5 <= took < 3.0  # the whole window was tried, then it gave up
    assert out["retries"] > 0
    assert card.id_number not in text and card.name not in text and card.masked_number not in text


def test_kiosk_devices_read_id_on_a_noisy_line():
    """The real command against the emulator run by hand, with `noise` typed on its stdin."""
    card = SAMPLE_CARDS["deng_yuxi"]  # with a 追加住址: the 30 03 after the read is retried too
    emu = subprocess.Popen([sys.executable, "-m", "drivers.samv.emulator", "--card", "deng_yuxi"],
                           cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        port = emu.stdout.readline().strip()
        emu.stderr.readline()  # the banner
        emu.stdin.write("noise 0.4 0.15 3\n")
        emu.stdin.flush()
        assert emu.stderr.readline().strip() == "ok"
        started = time.monotonic()
        r = subprocess.run([KIOSK, "devices", "read-id", "--driver", "sam-serial", "--port", port,
                            "--json", "--reveal"], capture_output=True, text=True, timeout=30)
        took = time.monotonic() - started
    finally:
        emu.stdin.write("quit\n")
        emu.stdin.close()
        emu.wait(5)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {k: out.get(k) for k in person(card)} == person(card)
    assert out["extra"]["newest_address"] == card.extra["newest_address"]
    assert out["retries"] > 0  # seed 3 damages frames on this run
    assert took < WAIT + 3  # the window, plus starting Python twice


def wait_for(manager: DeviceManager, events: list, cond, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond(events):
        assert time.monotonic() < deadline, [type(e).__name__ for e in events][-10:]
        events += manager.drain()
        time.sleep(0.02)


def test_worker_on_a_noisy_line_reports_each_card_once_without_errors():
    cards = [SAMPLE_CARDS["li_xiaomei"], SAMPLE_CARDS["deng_yuxi"], SAMPLE_CARDS["mark_smith"]]
    with SamEmulator() as emu:
        emu.line_noise(NOISE, CORRUPT, 11)
        manager = DeviceManager({"id_reader": {"driver": "sam-serial", "port": emu.port,
                                               "poll_interval_ms": 100}})
        manager.start()
        events: list = []
        try:
            for card in cards:
                emu.place_card(card)
                wait_for(manager, events, lambda ev, c=card: any(
                    isinstance(e, IdentityRead) and e.identity.id_number == c.id_number for e in ev), 5)
            time.sleep(1.0)  # the last card stays on the reader for a few more polls
            events += manager.drain()
        finally:
            manager.stop()
        damaged = emu.damaged
    assert damaged > 0
    assert [e.identity.id_number for e in events if isinstance(e, IdentityRead)] == [c.id_number for c in cards]
    assert [e.identity.name for e in events if isinstance(e, IdentityRead)] == [c.name for c in cards]
    assert not [(e.code, e.message) for e in events if isinstance(e, ErrorEvent)]
    retries = [int(e.detail["retries"]) for e in events if isinstance(e, StatusChanged) and "retries" in e.detail]
    assert retries and max(retries) > 0  # staff see that the line needed retries


# ---------------------------------------------------------------- frames, without a port


FIND_OK = p.build_reply(p.SW_FOUND, bytes(4))


def test_a_cut_off_frame_then_a_whole_one_yields_the_whole_one():
    reader = p.FrameReader()
    head = p.PREAMBLE + (1288).to_bytes(2, "big") + b"\x00\x00\x90\x01"  # a read reply cut off
    assert reader.feed(head + FIND_OK) == []  # still waiting for the 1288 bytes it claims
    assert reader.pending_length == 1288
    assert reader.skip_partial() == [p.Reply(0, 0, p.SW_FOUND, bytes(4))]
    assert reader.pending_length is None and reader.buffered == 0


def test_rejected_frames_say_which_length_they_claimed():
    bad = FIND_OK[:-1] + bytes([FIND_OK[-1] ^ 0x40])
    [err] = p.FrameReader().feed(bad)
    assert isinstance(err, p.FrameError) and err.code == "bad_checksum" and err.length == 8


def test_a_reply_must_have_the_shape_of_its_command():
    assert p.fits_reply(p.FIND_CARD, 8) and p.fits_reply(p.FIND_CARD, 4)
    assert not p.fits_reply(p.FIND_CARD, 1288)  # a late read reply does not answer a find
    assert p.fits_reply(p.READ_BASE, 1288) and p.fits_reply(p.READ_BASE, 4)
    assert not p.fits_reply(p.READ_BASE, 12)  # nor a select reply a read


def test_emulator_noise_is_reproducible():
    def stream(seed: int) -> bytes:
        line = NoisyLine(NOISE, CORRUPT, seed)
        return b"".join(line.carry(FIND_OK) for _ in range(50))

    assert stream(5) == stream(5) != stream(6)
    assert NoisyLine().carry(FIND_OK) == FIND_OK
    with pytest.raises(ValueError):
        NoisyLine(1.5, 0)
