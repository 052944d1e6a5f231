"""Fuzzing the code router: whatever a scanner hands over, bytes or text, it becomes one of the
four meanings (case, guide, citizen, unusable); a control character makes it unusable; a citizen
code never reaches the log; the serial scanners' framer stays bounded and does not care how the
bytes were cut. The shell's scan rules get generated codes on a real kiosk (the reference
platform over HTTP, the emulated devices) and stay on a page a citizen can use.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contract import auth
from devices.codes import MAX_CODE_BYTES, has_control, payload_text
from devices.events import CodeScanned, ErrorEvent
from devices.framing import CodeFramer
from kiosk.scanned import MAX_TEXT, masked, meaning
from tests.fuzzing import examples

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(120)]

TRACK = "https://zwfw.example.gov.cn/track/{number}"
PREFIX = "GAC1."
ITEM = "511A0138000000-511602000000-000-115113010833722043-1-00"
KINDS = {"case", "guide", "citizen", "unusable"}
CONTROLS = st.sampled_from(["\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u202e", "\u2066", "\r", "\n", "\t"])

# Texts near the shapes the router knows, so the generated codes reach every branch.
texts = st.one_of(
    st.text(max_size=80),
    st.builds(lambda n: TRACK.replace("{number}", n), st.text(max_size=30)),
    st.builds(lambda q: f"https://portal.example.cn/detail?{q}", st.text(max_size=60)),
    st.builds(lambda q: f"https://portal.example.cn/detail?itemCode={q}", st.from_regex(r"[0-9A-Za-z-]{0,60}")),
    st.builds(lambda t: PREFIX + t, st.text(max_size=60)),
    st.from_regex(r"[0-9A-Za-z]{1,20}(-[0-9A-Za-z]{1,20}){2,8}", fullmatch=True),
    st.from_regex(r"[ ]?[0-9A-Za-z-]{1,40}[ ]?", fullmatch=True),
    st.sampled_from([ITEM, "x" * (MAX_TEXT + 1), "4006381333931", "GA20270101AB12CD34", "http://[::1"]),
)


def with_control(text: str, control: str, at: int) -> str:
    at %= len(text) + 1
    return text[:at] + control + text[at:]


def item_codes(answer):
    return lambda code: answer


@examples(300)
@example(text="https://[", answer=None)  # urlsplit raises on a bad IPv6 host
@given(text=texts, answer=st.sampled_from([None, True, False]))
def test_every_text_has_one_of_the_known_meanings(text, answer):
    found = meaning(text, TRACK, PREFIX, item_codes(answer))
    assert found.kind in KINDS
    assert (found.value == "") == (found.kind == "unusable")
    assert not has_control(found.value) and len(found.value) <= MAX_TEXT
    line = found.describe()
    assert not has_control(line) and len(line) <= 80
    if found.kind == "citizen":  # its length and prefix alone
        assert line == f"citizen code ({len(found.value)} characters, masked)"
        assert masked(text, PREFIX) == f"{PREFIX}…({len(found.value)} characters, masked)"


@examples(200)
@given(text=texts, control=CONTROLS, at=st.integers(0, 200), answer=st.sampled_from([None, True, False]))
def test_a_control_character_inside_makes_any_code_unusable(text, control, at, answer):
    text = with_control(text.strip() or "GA20270101AB12CD34", control, at)
    if not text.strip() or not has_control(text.strip()):
        return  # the control sat at an end and was stripped, as the scanner's own CR LF is
    assert meaning(text, TRACK, PREFIX, item_codes(answer)).kind == "unusable"
    assert not has_control(masked(text, "")) and len(masked(text, "")) <= 200


@examples(300)
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=60).map(str.encode),
                      st.text(max_size=60).map(lambda t: t.encode("gb18030"))))
def test_payload_text_is_the_utf8_or_gb18030_reading_without_controls_or_nothing(data):
    text = payload_text(data)
    if text:
        assert text in (data.decode("utf-8", "replace"), data.decode("gb18030", "replace"))
        assert not has_control(text.replace("\t", "").replace("\r", "").replace("\n", ""))
    if data.isascii() and not has_control(data.decode().replace("\t", "").replace("\r", "").replace("\n", "")):
        assert text == data.decode()


def framed(framer: CodeFramer, pieces: list[tuple[bytes, bool]]) -> list:
    """Feed pieces at t = 0, 1, 2 …; ``idle`` after a piece: a silence longer than the gap."""
    out, now = [], 0.0
    for piece, idle in pieces:
        out += framer.feed(piece, now)
        assert len(framer._buf) <= framer.max_length + len(framer.prefix) + len(framer.suffix)
        if idle:
            now += framer.gap * 2
            out += framer.idle(now)
        now += 0.001
    return out


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in points)})
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def summary(events: list) -> list:
    return [(type(e).__name__, e.data if isinstance(e, CodeScanned) else e.code) for e in events]


framers = st.builds(
    lambda suffix, prefix, max_length: CodeFramer("scanner", suffix=suffix, prefix=prefix, gap=0.1,
                                                  max_length=max_length),
    st.sampled_from([b"\r", b"\r\n", b"\x03", b"\n", b""]), st.sampled_from([b"", b"\x02", b"]Q1"]),
    st.sampled_from([MAX_CODE_BYTES, 16, 1]))
scanner_bytes = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([b"\r", b"\n", b"\r\n", b"\x02", b"\x03"]),
                                   st.text(max_size=20).map(str.encode)), max_size=20).map(b"".join)


@examples(300)
@given(make=st.data(), stream=scanner_bytes, cuts=st.lists(st.integers(0, 1000), max_size=10),
       idles=st.lists(st.booleans(), max_size=10))
def test_the_framer_stays_bounded_and_the_pieces_do_not_matter(make, stream, cuts, idles):
    framer = make.draw(framers)
    twin = CodeFramer("scanner", suffix=framer.suffix, prefix=framer.prefix, gap=framer.gap,
                      max_length=framer.max_length)
    pieces = cut(stream, cuts)
    events = framed(framer, [(piece, False) for piece in pieces])
    whole = framed(twin, [(stream, False)])
    if framer.suffix:  # without a suffix only silence ends a code: pieces alone end nothing
        assert summary(events) == summary(whole)
    for event in events + framed(framer, [(p, i) for p, i in zip(pieces, idles + [False] * len(pieces),
                                                                  strict=False)]):
        assert isinstance(event, CodeScanned | ErrorEvent)
        if isinstance(event, CodeScanned):
            assert 0 < len(event.data) <= framer.max_length
            assert event.text == payload_text(event.data)
            assert not framer.suffix or framer.suffix not in event.data


# -- the shell's scan rules on a real kiosk -----------------------------------------------------------
@pytest.fixture(scope="module")
def kiosk(platform, tmp_path_factory):
    from tests.test_apply import Hall

    with ExitStack() as stack:
        hall = Hall(platform, tmp_path_factory.mktemp("codes"), stack)
        yield hall.kiosk(platform.url)


scanned = st.one_of(
    texts.map(str.encode),
    st.builds(lambda t, c, at: with_control(t, c, at).encode(), texts, CONTROLS, st.integers(0, 100)),
    st.binary(max_size=100),
    st.builds(lambda ttl: auth.make_citizen_code("51160219900101123X", "张三", ttl_s=ttl).encode(),
              st.integers(-60, 60)),
    st.builds(lambda body: (PREFIX + body).encode(), st.text(min_size=8, max_size=40)),
)


@examples(25)
@given(data=scanned)
def test_the_shell_answers_any_code_and_never_logs_a_citizen_code(kiosk, caplog, data):
    c = kiosk
    c.home()
    c.logout()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        c.on_device_event(CodeScanned(device="scanner", data=data, text=payload_text(data)))
        deadline = time.monotonic() + 5
        while c.notice is not None and c.notice.kind == "progress":  # the platform verifying a citizen code
            assert time.monotonic() < deadline, "still verifying"
            c.tick()
            time.sleep(0.01)
        c.tick()
    top = c.stack[-1].name
    assert top in ("home", "query", "guide") or c.notice is not None, (top, c.page)
    text = payload_text(data).strip()
    if text.startswith(PREFIX) and len(text) > len(PREFIX) + 4:
        assert text[len(PREFIX):] not in caplog.text
        assert text[len(PREFIX):] not in repr(c.page)


def test_an_lf_after_a_cr_suffix_is_taken_once_however_the_bytes_are_cut():
    """Found by fuzzing: with a CR suffix, a CR LF that arrived whole still marked the next read's
    first LF as the CR's, so a code beginning with LF lost it when the bytes came in two reads."""
    want = [b"A", b"\nB"]
    for pieces in ([b"A\r\n\nB\r"], [b"A\r\n", b"\nB\r"], [b"A\r", b"\n\nB\r"]):
        framer = CodeFramer("scanner", suffix=b"\r", gap=0.1)
        assert [e.data for e in framed(framer, [(p, False) for p in pieces])] == want, pieces
