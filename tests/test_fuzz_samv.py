"""Fuzzing the SAM_V driver's reading of the serial line: whatever bytes come back, in whatever
pieces, ``read_identity`` returns the card on the reader, nothing, or one of the driver's
DeviceErrors; it never hands over a person from a frame whose checksum failed, always ends by its
deadline, and reads the card once the line is clean again after garbage.

The far end is the emulator's own ``answer`` (the replies a reader gives), sent through damage
that hypothesis chooses per reply. The port is a scripted stand-in with a simulated clock: every
read that brings nothing costs the 50 ms a real read blocks, so a run that would take minutes
against a pty takes milliseconds, and "it ends" is a count, not a wall-clock guess.
(test_samv_noise.py runs the same driver on a real pty with a noisy emulator.)
"""

from __future__ import annotations

import types

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from devices.errors import DeviceError
from devices.identity import Identity
from drivers.samv import driver as samv
from drivers.samv import protocol as p
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator
from tests.fuzzing import examples

pytestmark = pytest.mark.fuzz

CARD = SAMPLE_CARDS["deng_yuxi"]  # has a newest address: 30 03 is asked too
TIMEOUT_MS = 200
WINDOW = samv.RETRY_WINDOW
MAX_READS = 20_000  # far above what a deadline-bound run needs: a loop that never ends hits it


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class ScriptedLine:
    """What SamSerialReader uses of serial.Serial. Each request it is sent is answered by the
    emulator, then passed through ``damage`` (reply frame, request → list of byte chunks)."""

    def __init__(self, clock: Clock, emulator: SamEmulator, damage):
        self.clock, self.emulator, self.damage = clock, emulator, damage
        self.requests = p.RequestReader()
        self.pending: list[bytes] = []
        self.reads = 0
        self.intact_reads = 0  # READ_BASE replies that reached the driver unchanged

    def reset_input_buffer(self) -> None:
        self.pending.clear()

    def write(self, data: bytes) -> int:
        for request in self.requests.feed(data):
            assert isinstance(request, p.Request), request  # the driver's own frames are whole
            reply = self.emulator.answer(request)
            chunks = self.damage(reply, request)
            if request.command == p.READ_BASE and reply in b"".join(chunks):
                self.intact_reads += 1
            self.pending += [c for c in chunks if c]
        return len(data)

    @property
    def in_waiting(self) -> int:
        return len(self.pending[0]) if self.pending else 0

    def read(self, n: int) -> bytes:
        self.reads += 1
        assert self.reads < MAX_READS, "the driver kept reading past every deadline"
        if not self.pending:
            self.clock.now += samv._READ_SLICE
            return b""
        chunk = self.pending.pop(0)
        if len(chunk) > n:
            chunk, rest = chunk[:n], chunk[n:]
            self.pending.insert(0, rest)
        self.clock.now += len(chunk) * 10 / 115200  # the bytes' wire time
        return chunk

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def emulator():
    with SamEmulator(card=CARD) as emu:  # only its answer() is used: the pty stays idle
        yield emu


def read_through(emulator: SamEmulator, damage) -> tuple[Identity | None | DeviceError, ScriptedLine, float]:
    clock = Clock()
    line = ScriptedLine(clock, emulator, damage)
    reader = samv.SamSerialReader("id", samv.SamSerialReader.Options(port="/dev/fuzz", timeout_ms=TIMEOUT_MS),
                                  lambda _event: None)
    reader._serial, reader.port, reader.baud = line, "/dev/fuzz", 115200
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(samv, "time", types.SimpleNamespace(monotonic=clock.monotonic))
        until = clock.now + WINDOW
        try:
            result = reader.read_identity(until=until)
        except DeviceError as exc:  # the driver's documented errors; anything else fails the test
            result = exc
    # Bounded: the last request started before ``until``, and its wait is the timeout plus the
    # longest reply's wire time (a damaged frame may also need its _FRAME_GAP to be given up).
    limit = until + TIMEOUT_MS / 1000 + 2321 * 10 / 115200 + samv._FRAME_GAP + 2 * samv._READ_SLICE
    assert clock.now <= limit, f"still reading {clock.now - until:.2f} s after the deadline"
    return result, line, clock.now


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in points)})
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def flip(frame: bytes, at: int, xor: int) -> bytes:
    """One byte after the preamble changed: LEN, payload or CHK. The XOR checksum always fails."""
    at = len(p.PREAMBLE) + at % (len(frame) - len(p.PREAMBLE))
    return frame[:at] + bytes([frame[at] ^ xor]) + frame[at + 1:]


garbage = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([p.PREAMBLE, p.PREAMBLE[:3], p.PREAMBLE + b"\x0f\xff", p.PREAMBLE + b"\x00\x04\x00\x00\x90",
                     b"\xaa" * 9, p.build_reply(p.SW_OK)[:-1]]),
    st.builds(lambda n, tail: p.PREAMBLE + n.to_bytes(2, "big") + tail, st.integers(0, 0xFFFF),
              st.binary(max_size=16)),
)


@st.composite
def damages(draw):
    """A damage function: for each reply, hypothesis chooses what the line does to it."""
    data = draw(st.data())

    def damage(reply: bytes, request: p.Request) -> list[bytes]:
        what = data.draw(st.sampled_from(["intact", "intact", "flip", "prefix", "suffix", "truncate",
                                          "replace", "silence", "double"]), label=f"{request.command}")
        if what == "flip":
            reply = flip(reply, data.draw(st.integers(0, 4096)), data.draw(st.integers(1, 255)))
        elif what == "prefix":
            reply = data.draw(garbage) + reply
        elif what == "suffix":
            reply = reply + data.draw(garbage)
        elif what == "truncate":
            reply = reply[:data.draw(st.integers(0, len(reply) - 1))]
        elif what == "replace":
            reply = data.draw(garbage)
        elif what == "silence":
            reply = b""
        elif what == "double":
            reply = reply + reply
        return cut(reply, data.draw(st.lists(st.integers(0, 4096), max_size=6)))

    return damage


@examples(100)
@given(damage=damages())
def test_any_reply_stream_gives_the_card_nothing_or_a_device_error(emulator, damage):
    result, line, _ = read_through(emulator, damage)
    if isinstance(result, Identity):
        assert result == CARD
        assert line.intact_reads, "a person was read although no read reply arrived whole"
    else:
        assert result is None or isinstance(result, DeviceError)


@examples(60)
@given(at=st.integers(0, 4096), xor=st.integers(1, 255), cuts=st.lists(st.integers(0, 4096), max_size=6))
def test_a_read_reply_with_a_bad_checksum_never_gives_a_person(emulator, at, xor, cuts):
    def damage(reply, request):
        if request.command == p.READ_BASE:
            return cut(flip(reply, at, xor), cuts)
        return [reply]

    result, line, _ = read_through(emulator, damage)
    assert isinstance(result, DeviceError) and not line.intact_reads, result


@examples(100)
@example(noise=p.PREAMBLE + b"\x0f\xff", cuts=[])  # a header that swallows the real reply
@example(noise=p.PREAMBLE + b"\x00\x04\x00\x00\x80\x84", cuts=[])  # a whole "no card" frame: believed
@given(noise=garbage, cuts=st.lists(st.integers(0, 4096), max_size=6))
def test_the_card_is_read_once_garbage_has_passed(emulator, noise, cuts):
    """Garbage before the first reply only: the driver finds its way back and reads the card
    within the retry window (or, when the garbage is itself a valid frame, believes it)."""
    first = [True]

    def damage(reply, request):
        chunks = cut(noise + reply, cuts) if first[0] else [reply]
        first[0] = False
        return chunks

    result, _, _ = read_through(emulator, damage)
    if any(isinstance(item, p.Reply) for item in p.FrameReader().feed(noise)):
        assert result == CARD or isinstance(result, DeviceError), result  # a frame is a frame
    else:
        assert result == CARD, result
