"""A SAM_V reader on a pty, so the real driver and pyserial run unchanged in demos and tests.

The emulator answers like the readers in the spec's captures, at the wire speed of the configured
baud rate, so timeouts and partial reads in the driver are exercised as on hardware. A client whose
line speed differs from the emulator's gets noise, as from a real UART, so baud detection is real.

By hand (see docs/devices.md)::

    python -m drivers.samv.emulator [--baud N] [--card KEY]

prints the pty path and serves until Ctrl-C, reading commands on stdin: ``place KEY``, ``remove``,
``fault NAME`` / ``fault off``, ``noise NOISE CORRUPT [SEED]`` / ``noise off``, ``cards``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import random
import select
import sys
import termios
import threading
import time
import tty
from collections import deque

from devices.errors import ProtocolError
from devices.identity import CardType, Identity, check_digit
from drivers.samv import protocol as p
from drivers.samv.cardtext import encode_base_info

FAKE_PHOTO = (b"WLT-FAKE-PHOTO-" * 69)[:1024]  # the real format is a vendor secret; size is what counts
FAKE_FINGERPRINT = (b"FP-TEMPLATE-" * 43)[:512]  # one template; its format is undocumented too
DEFAULT_SAM_ID = bytes.fromhex("0500") + bytes.fromhex("0100") + (20230101).to_bytes(4, "little") \
    + (12345678).to_bytes(4, "little") + (87654321).to_bytes(4, "little")


def _number(area: str, birth: str, sequence: str) -> str:
    return area + birth + sequence + check_digit(area + birth + sequence)


def _resident(name, gender, nation, birth, address, sequence, area, issuer, valid_from, valid_to,
              card_type=CardType.RESIDENT, **extra):
    born = dt.date.fromisoformat(birth)
    return Identity(
        card_type=card_type, name=name, gender=gender, nation=nation, birth_date=born,
        address=address, id_number=_number(area, born.strftime("%Y%m%d"), sequence), issuer=issuer,
        valid_from=dt.date.fromisoformat(valid_from),
        valid_to=dt.date.fromisoformat(valid_to) if valid_to else None, long_term=valid_to is None,
        extra=extra,
    )


def _foreigner(card_type, number, name_zh, name_en, gender, birth, valid_from, valid_to, **extra):
    return Identity(
        card_type=card_type, name=name_zh or name_en, id_number=number, gender=gender,
        birth_date=dt.date.fromisoformat(birth), valid_from=dt.date.fromisoformat(valid_from),
        valid_to=dt.date.fromisoformat(valid_to), extra={"name_en": name_en, "name_zh": name_zh, **extra},
    )


# Invented people. Sequence digits follow the rule: 17th digit odd for men, even for women.
# The demo panel shows the first four (resident cards); the other card types follow them.
SAMPLE_CARDS: dict[str, Identity] = {
    "li_xiaomei": _resident("李晓梅", "女", "汉", "1985-03-12", "北京市朝阳区安贞街道安华里二区5号楼3单元602号",
                            "024", "110105", "北京市公安局朝阳分局", "2016-05-20", "2036-05-20"),
    "wang_kun": _resident("王堃", "男", "彝", "1962-08-09", "四川省成都市锦江区红星路三段16号附2号",
                          "013", "510102", "成都市公安局锦江分局", "2012-04-18", None),
    "deng_yuxi": _resident("邓雨汐", "女", "土家", "2001-11-30", "四川省广安市广安区北辰街道思源大道88号",
                           "046", "511602", "广安市公安局广安区分局", "2019-07-01", "2029-07-01",
                           newest_address="四川省成都市武侯区人民南路四段9号"),
    "ayguli": _resident("阿依古丽·买买提", "女", "维吾尔", "1990-01-05", "新疆乌鲁木齐市天山区解放南路120号",
                        "028", "650102", "乌鲁木齐市公安局天山区分局", "2010-09-15", "2030-09-15"),
    "chen_jiahao": _resident("陈家豪", "男", "", "1988-06-21", "广东省深圳市福田区福华一路1号", "003", "810000",
                             "深圳市公安局福田分局", "2021-03-01", "2026-03-01", CardType.HMT_RESIDENT,
                             permit_number="H12345678", issue_count="01"),
    "mark_smith": _foreigner(CardType.FOREIGNER_2017, "CAN110081030001", "马克", "SMITH, MARK JOHN", "男",
                             "1981-08-03", "2017-05-02", "2027-05-02", nationality="CAN",
                             card_version="05", authority_code="1100"),
    "alghamdi": _foreigner(CardType.FOREIGNER_2023, "932682198501010017", "",
                           "ALGHAMDI, ABDULRAHMAN MOHAMMED SAEED BIN FAHAD", "男", "1985-01-01",
                           "2023-12-01", "2033-12-01", renewals="00", nationality="SAU",
                           previous_link="SAU"),
}

# Fault names for ``SamEmulator.fault``, each what a misbehaving reader does on the wire.
FAULTS = ("silence", "garbage", "bad_checksum", "truncated", "removed_mid_read",
          "sw3_41", "sw3_60", "sw3_66", "sw3_80", "sw3_81")
_LINE_SPEEDS = {9600: termios.B9600, 19200: termios.B19200, 38400: termios.B38400,
                57600: termios.B57600, 115200: termios.B115200}
_NOISE = b"\x00\xff\x55\xaa\x00\xaa\xaa\x96"  # a cut-off preamble, as in [I]'s capture


class NoisyLine:
    """The wire between host and reader, as noisy as asked, drawn from a seeded generator so a
    test run can be repeated.

    ``noise``: the fraction of replies with a burst of noise on the line before them (random
    bytes, a cut-off preamble, or the head of a frame whose rest never comes). ``corrupt``: the
    fraction of frames damaged on the wire, in either direction (``hit`` for a request, which
    the reader then answers SW3=10 as a reader does); a reply gets one byte between SW1 and CHK
    changed, so its length holds but its checksum fails.
    """

    def __init__(self, noise: float = 0.0, corrupt: float = 0.0, seed: int | None = None):
        if not (0 <= noise <= 1 and 0 <= corrupt <= 1):
            raise ValueError("noise and corrupt are fractions between 0 and 1")
        self.noise, self.corrupt = noise, corrupt
        self.damaged = 0
        self._rng = random.Random(seed)

    def hit(self) -> bool:
        """Whether the next frame on the line is damaged (counted in ``damaged``)."""
        hit = self.corrupt > 0 and self._rng.random() < self.corrupt
        self.damaged += hit
        return hit

    def carry(self, data: bytes) -> bytes:
        """What reaches the host of a reply sent on this line."""
        rng = self._rng
        if len(data) > p.HEADER_LEN and self.hit():
            at = rng.randrange(p.HEADER_LEN, len(data))
            data = data[:at] + bytes([data[at] ^ rng.randrange(1, 256)]) + data[at + 1:]
        if self.noise > 0 and rng.random() < self.noise:
            kind = rng.randrange(3)
            if kind == 0:
                burst = rng.randbytes(rng.randrange(1, 24))
            elif kind == 1:
                burst = _NOISE
            else:
                burst = p.PREAMBLE + rng.randrange(p.MIN_REPLY_LEN, 0x600).to_bytes(2, "big") \
                    + rng.randbytes(rng.randrange(0, 9))
            data = burst + data
        return data


class SamEmulator:
    """A SAM_V reader behind a pty; ``port`` is the slave path a pyserial client opens.

    ``fault`` is the hook for fault injection (see FAULTS): None answers normally;
    ``"silence"`` answers nothing (a hung reader: requests are still received and recorded);
    ``"garbage"`` puts noise before each reply's preamble; ``"bad_checksum"`` corrupts each
    reply's CHK; ``"truncated"`` sends half of each reply; ``"removed_mid_read"`` sends part of a
    read reply, then the card is gone; ``"sw3_XX"`` answers with that status where a reader would
    (60/66 to everything, 80 to find, 81 to select, anything else to the read). Every reply goes
    out through ``_outgoing`` so a fault has one place to act. ``send_garbage`` puts unsolicited
    bytes on the line, as electrical noise or a confused reader would. ``line_noise`` makes the
    line noisy on top of any fault: random, seeded, so a test run can be repeated.
    """

    def __init__(self, baud: int = 115200, card: Identity | None = None, sam_id: bytes = DEFAULT_SAM_ID):
        self.baud = baud
        self.sam_id = sam_id
        self.card = card
        self.fault: str | None = None
        self.requests: deque[p.Request] = deque(maxlen=64)  # what the host sent lately, for tests
        self.line = NoisyLine()  # clean until line_noise()
        self._master, self._slave = os.openpty()
        # Raw before any client opens it: no echo, no CR/LF translation of binary frames.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._closed = False
        self._write_lock = threading.Lock()  # garbage never lands inside a reply frame
        self._thread = threading.Thread(target=self._run, name=f"sam-emulator-{self.port}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ test/demo API

    def place_card(self, card: Identity) -> None:
        self.card = card

    def remove_card(self) -> None:
        self.card = None

    def line_noise(self, noise: float = 0.0, corrupt: float = 0.0, seed: int | None = None) -> None:
        """A noisy line from now on (see NoisyLine); ``line_noise()`` makes it clean again."""
        self.line = NoisyLine(noise, corrupt, seed)

    @property
    def damaged(self) -> int:
        """Frames the noisy line has damaged so far, in both directions."""
        return self.line.damaged

    def send_garbage(self, data: bytes) -> None:
        """Unsolicited bytes to the host, at wire speed, between reply frames."""
        self._send(data)

    def close(self) -> None:
        """Stop answering and close the master: to the client the port vanishes (EIO, then ENOENT)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(2.0)
        for fd in (self._slave, self._master):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> SamEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ the reader

    def answer(self, request: p.Request) -> bytes:
        """The reply frame a reader gives to one well-formed request."""
        card = self.card
        command = request.command
        forced = self._forced_sw3(command)
        if forced is not None:
            return p.build_reply(forced)
        if command in (p.RESET_SAM, p.SAM_STATUS):
            return p.build_reply(p.SW_OK)
        if command == p.SAM_ID:
            return p.build_reply(p.SW_OK, self.sam_id)
        if command == p.FIND_CARD:
            return p.build_reply(p.SW_FOUND, bytes(4)) if card else p.build_reply(p.SW_NO_CARD)
        if command == p.SELECT_CARD:
            return p.build_reply(p.SW_OK, bytes(8)) if card else p.build_reply(p.SW_SELECT_FAILED)
        if command in (p.READ_BASE, p.READ_BASE_FP):
            if not card:
                return p.build_reply(p.SW_READ_FAILED)
            photo = card.photo if len(card.photo) == 1024 else FAKE_PHOTO
            fingerprint = FAKE_FINGERPRINT if command == p.READ_BASE_FP else None
            return p.build_reply(p.SW_OK, encode_base_info(card, photo, fingerprint))
        if command == p.READ_NEWEST_ADDRESS:
            if not card:
                return p.build_reply(p.SW_READ_FAILED)
            address = card.extra.get("newest_address", "")
            if not address:
                return p.build_reply(p.SW_NO_CONTENT)
            return p.build_reply(p.SW_OK, address.ljust(35).encode("utf-16-le")[:70])
        return p.build_reply(p.SW_BAD_COMMAND)

    def _forced_sw3(self, command: p.Command) -> int | None:
        fault = self.fault or ""
        if not fault.startswith("sw3_"):
            return None
        sw3 = int(fault[4:], 16)
        if sw3 in (p.SW_SELF_TEST_FAILED, p.SW_NOT_AUTHORIZED):
            return sw3
        target = {p.SW_NO_CARD: (p.FIND_CARD,), p.SW_SELECT_FAILED: (p.SELECT_CARD,)}.get(
            sw3, (p.READ_BASE, p.READ_BASE_FP))
        return sw3 if command in target else None

    def _outgoing(self, frame: bytes, request: p.Request | None = None) -> bytes:
        """Fault injection point: mangle, delay or drop ``frame`` per ``self.fault``."""
        fault = self.fault
        if fault == "silence":
            return b""
        if fault == "garbage":
            return _NOISE + frame
        if fault == "bad_checksum":
            return frame[:-1] + bytes([frame[-1] ^ 0xFF])
        if fault == "truncated":
            return frame[:len(frame) // 2]
        if fault == "removed_mid_read" and request is not None and request.cmd == 0x30 and len(frame) > 100:
            self.card = None  # taken away while the reply was on the wire: the rest never comes
            return frame[:len(frame) // 3]
        return frame

    def _line_speed_ok(self) -> bool:
        """False when the client's port is set to another known baud rate than ours."""
        try:
            speed = termios.tcgetattr(self._master)[5]
        except termios.error:
            return True
        return speed == _LINE_SPEEDS.get(self.baud, speed)

    def _run(self) -> None:
        frames = p.RequestReader()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._master, 4096)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    continue
                return  # master closed under us
            if not self._line_speed_ok():
                # At a mismatched baud rate the UART sees framing errors, and so does the host.
                self._send(b"\xf0\x00\xfe" * max(1, len(chunk) // 3))
                frames.reset()
                continue
            for item in frames.feed(chunk):
                request = item if isinstance(item, p.Request) else None
                if request is not None and self.line.hit():  # heard damaged: answered as such
                    request, item = None, ProtocolError("damaged on the line", code="bad_checksum")
                if request is not None:
                    self.requests.append(request)
                    reply = self.answer(request)
                elif item.code == "bad_checksum":
                    reply = p.build_reply(p.SW_BAD_CHECKSUM)
                else:
                    reply = p.build_reply(p.SW_BAD_LENGTH)
                self._send(self.line.carry(self._outgoing(reply, request)))

    def _send(self, data: bytes) -> None:
        """Write at wire speed (10 bits a byte), in ~10 ms chunks so timing holds without a syscall a byte."""
        with self._write_lock:
            self._send_locked(data)

    def _send_locked(self, data: bytes) -> None:
        rate = self.baud / 10
        chunk = max(1, int(rate / 100))
        start = time.monotonic()
        sent = 0
        while sent < len(data) and not self._stop.is_set():
            piece = data[sent:sent + chunk]
            # A chunk is available to the host only once its last byte has crossed the wire.
            delay = start + (sent + len(piece)) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                _, writable, _ = select.select([], [self._master], [], 0.05)
                if writable:
                    sent += os.write(self._master, piece)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EINTR):
                    return


def _serve(argv: list[str] | None = None) -> int:
    """Run one emulator until Ctrl-C (or end of stdin when it is not a terminal), taking commands."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m drivers.samv.emulator",
                                 description="SAM_V ID-card reader emulator on a pty")
    ap.add_argument("--baud", type=int, default=115200, choices=sorted(_LINE_SPEEDS))
    ap.add_argument("--card", choices=list(SAMPLE_CARDS), help="sample card on the reader at start")
    args = ap.parse_args(argv)
    with SamEmulator(baud=args.baud, card=SAMPLE_CARDS.get(args.card or "")) as emu:
        print(emu.port, flush=True)
        print(f"SAM_V reader at {args.baud} baud on {emu.port}; commands: place KEY | remove | "
              f"fault NAME|off | noise NOISE CORRUPT [SEED]|off | cards | quit", file=sys.stderr, flush=True)
        try:
            for line in sys.stdin:
                if not _command(emu, line.split()):
                    break
            else:
                if not sys.stdin.isatty():  # stdin closed (e.g. run in the background): keep serving
                    threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _command(emu: SamEmulator, words: list[str]) -> bool:
    if not words:
        return True
    verb, rest = words[0], words[1:]
    if verb == "quit":
        return False
    if verb == "place" and rest and rest[0] in SAMPLE_CARDS:
        emu.place_card(SAMPLE_CARDS[rest[0]])
    elif verb == "remove":
        emu.remove_card()
    elif verb == "fault" and rest and (rest[0] in FAULTS or rest[0] == "off"):
        emu.fault = None if rest[0] == "off" else rest[0]
    elif verb == "noise" and rest == ["off"]:
        emu.line_noise()
    elif verb == "noise" and 2 <= len(rest) <= 3 and _noise_args(rest):
        emu.line_noise(*_noise_args(rest))
    elif verb == "cards":
        for key, card in SAMPLE_CARDS.items():
            print(f"{key:14} {card.card_type.value:15} {card!r}", file=sys.stderr)
    else:
        print(f"? place {'|'.join(SAMPLE_CARDS)} | remove | fault {'|'.join(FAULTS)}|off | "
              f"noise NOISE CORRUPT [SEED]|off | cards | quit", file=sys.stderr)
        return True
    print("ok", file=sys.stderr, flush=True)
    return True


def _noise_args(words: list[str]) -> tuple[float, float, int | None] | None:
    """``noise 0.4 0.15 7``: fractions of noisy replies and of damaged frames, and a seed."""
    try:
        noise, corrupt = float(words[0]), float(words[1])
        seed = int(words[2]) if len(words) > 2 else None
    except ValueError:
        return None
    return (noise, corrupt, seed) if 0 <= noise <= 1 and 0 <= corrupt <= 1 else None


if __name__ == "__main__":
    raise SystemExit(_serve())
