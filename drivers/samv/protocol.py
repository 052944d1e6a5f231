"""SAM_V frames (二代身份证 SAM serial protocol): building, scanning and status words. No I/O.

Kept free of ports and clocks so the same parser serves the serial driver, a USB/HID transport
and the emulator, and can be tested byte for byte against the published vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import xor
from typing import NamedTuple

from devices.errors import DeviceError, ProtocolError

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2  # preamble + LEN_H LEN_L
MIN_REPLY_LEN = 4  # SW1 SW2 SW3 CHK
MIN_REQUEST_LEN = 3  # CMD PARA CHK
MAX_LEN = 0x1000  # a 30 10 reply with two fingerprints is 2314; anything above is line noise


class Command(NamedTuple):
    cmd: int
    para: int


RESET_SAM = Command(0x10, 0xFF)
SAM_STATUS = Command(0x11, 0xFF)
SAM_ID = Command(0x12, 0xFF)
FIND_CARD = Command(0x20, 0x01)
SELECT_CARD = Command(0x20, 0x02)
READ_BASE = Command(0x30, 0x01)
READ_BASE_FP = Command(0x30, 0x10)
READ_NEWEST_ADDRESS = Command(0x30, 0x03)

# SW3 values the driver branches on.
SW_OK = 0x90
SW_FOUND = 0x9F
SW_NO_CONTENT = 0x91
SW_BAD_CHECKSUM = 0x10
SW_BAD_LENGTH = 0x11
SW_BAD_COMMAND = 0x21
SW_READ_FAILED = 0x41
SW_SELF_TEST_FAILED = 0x60
SW_NOT_AUTHORIZED = 0x66
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81

SW3_MESSAGES: dict[int, tuple[str, str]] = {
    0x90: ("操作成功", "success"),
    0x9F: ("寻找证/卡成功", "card found"),
    0x10: ("接收业务终端数据的校验和错", "checksum of the host frame is wrong"),
    0x11: ("接收业务终端数据的长度错", "length of the host frame is wrong"),
    0x21: ("接收业务终端命令错误", "bad command/parameter/data combination"),
    0x23: ("越权操作", "unauthorized operation"),
    0x24: ("无法识别的错误", "unknown error"),
    0x31: ("证/卡认证SAM失败", "card failed to authenticate the SAM"),
    0x32: ("SAM认证证/卡失败", "SAM failed to authenticate the card"),
    0x33: ("信息验证错误", "data verification error"),
    0x40: ("无法识别的卡类型", "unrecognized card type"),
    0x41: ("读证/卡操作失败", "read failed (card moved?)"),
    0x47: ("取随机数失败", "get-challenge failed"),
    0x60: ("SAM自检失败，不能接收命令", "SAM self-test failed"),
    0x66: ("SAM未经授权，无法使用", "SAM not authorized"),
    0x80: ("寻找证/卡失败", "no card found"),
    0x81: ("选取证/卡失败", "select failed"),
    0x91: ("证/卡中此项无内容", "item has no content"),
}


def sw3_text(sw3: int) -> tuple[str, str]:
    """(中文, English) for a status byte; unknown codes still get a message naming the byte."""
    return SW3_MESSAGES.get(sw3, (f"未知状态码 {sw3:02X}", f"unknown status 0x{sw3:02X}"))


class SamStatusError(DeviceError):
    """The reader answered a well-formed frame whose SW3 says the operation failed.

    Build one with ``sam_error`` to get the subclass that says who has to act.
    """

    def __init__(self, sw3: int, command: Command | None = None):
        zh, en = sw3_text(sw3)
        what = f"{command.cmd:02X} {command.para:02X}: " if command else ""
        super().__init__(f"SAM {what}SW3={sw3:02X} {en}", code=f"sam_{sw3:02x}", zh=zh)
        self.sw3 = sw3


class CardStatusError(SamStatusError):
    """The card could not be found, selected or read: the citizen places it again."""


class SamFaultError(SamStatusError):
    """The SAM module itself is broken or unlicensed: staff must act; retrying will not help."""


class HostFrameError(SamStatusError):
    """The reader rejected our frame (checksum, length, command): a line or driver problem."""


_SW3_CLASSES: dict[int, type[SamStatusError]] = {
    0x10: HostFrameError, 0x11: HostFrameError, 0x21: HostFrameError, 0x23: HostFrameError,
    0x60: SamFaultError, 0x66: SamFaultError,
    0x24: CardStatusError, 0x31: CardStatusError, 0x32: CardStatusError, 0x33: CardStatusError, 0x40: CardStatusError,
    0x41: CardStatusError, 0x47: CardStatusError, 0x80: CardStatusError, 0x81: CardStatusError,
    0x91: CardStatusError,
}


def sam_error(sw3: int, command: Command | None = None) -> SamStatusError:
    """The typed error for a failing SW3; codes outside the table are plain SamStatusError."""
    return _SW3_CLASSES.get(sw3, SamStatusError)(sw3, command)


# LEN of a reply that carries data, per command: the short answers (status, ids, find/select,
# address) and the long read replies. A status-only reply (LEN 4) answers any command. Ranges,
# not the exact sizes of the spec, so a reader that pads differently is still understood.
_SHORT_REPLY = (MIN_REPLY_LEN, 0xFF)
_READ_REPLY = (0x100, MAX_LEN)
_REPLY_LEN: dict[Command, tuple[int, int]] = {
    RESET_SAM: _SHORT_REPLY, SAM_STATUS: _SHORT_REPLY, SAM_ID: _SHORT_REPLY, FIND_CARD: _SHORT_REPLY,
    SELECT_CARD: _SHORT_REPLY, READ_NEWEST_ADDRESS: _SHORT_REPLY,
    READ_BASE: _READ_REPLY, READ_BASE_FP: _READ_REPLY,
}


def fits_reply(command: Command, length: int) -> bool:
    """Whether a frame with this LEN can be the reply to ``command``.

    A frame that cannot is not this command's answer (a late reply to an earlier one, or noise
    that happened to pass its checksum): the driver waits on instead of using it.
    """
    if length == MIN_REPLY_LEN:
        return True
    lo, hi = _REPLY_LEN.get(command, (MIN_REPLY_LEN, MAX_LEN))
    return lo <= length <= hi


def checksum(body: bytes) -> int:
    """XOR of LEN_H … the byte before CHK (the preamble is excluded)."""
    return reduce(xor, body, 0)


def _frame(payload: bytes) -> bytes:
    length = len(payload) + 1
    if length > MAX_LEN:
        raise ValueError(f"frame payload too long: {len(payload)} bytes")
    body = length.to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


def build_request(command: Command, data: bytes = b"") -> bytes:
    return _frame(bytes(command) + data)


def build_reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    return _frame(bytes((sw1, sw2, sw3)) + data)


class FrameError(ProtocolError):
    """A frame the reader rejected: its LEN out of bounds or its checksum wrong. ``length`` is the
    LEN it claimed, so a caller can tell a damaged reply from noise that looked like a frame."""

    def __init__(self, message: str, *, code: str, length: int):
        super().__init__(message, code=code, zh="读卡器通信数据错误")
        self.length = length


@dataclass(frozen=True, repr=False)
class Reply:
    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    def __repr__(self) -> str:
        # The data of a read reply is a citizen's identity: never print it.
        return f"Reply(sw3={self.sw3:02X}, {len(self.data)} data bytes)"


@dataclass(frozen=True)
class Request:
    cmd: int
    para: int
    data: bytes = b""

    @property
    def command(self) -> Command:
        return Command(self.cmd, self.para)


class FrameReader:
    """Turns a byte stream into replies, resynchronising on the preamble after noise.

    ``feed`` returns the complete items found so far: a Reply per good frame, a FrameError
    per frame that was rejected (bad length or checksum). Errors are returned, not raised, so a
    good frame that arrived in the same chunk is not lost. Bytes before a preamble are counted in
    ``discarded``; the buffer never holds more than one maximal frame. A frame whose rest is not
    coming (the line went quiet inside it) is given up with ``skip_partial``.
    """

    min_len = MIN_REPLY_LEN

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def pending_length(self) -> int | None:
        """LEN of the frame begun in the buffer (0 while its header is incomplete); None when none is."""
        if not self._buf.startswith(PREAMBLE):
            return None
        return int.from_bytes(self._buf[5:7], "big") if len(self._buf) >= HEADER_LEN else 0

    def reset(self) -> None:
        self._buf.clear()

    def skip_partial(self) -> list:
        """Give up the frame begun in the buffer and look for frames inside its bytes: a cut-off
        frame followed by a whole one yields the whole one."""
        if self.pending_length is None:
            return []
        self._drop(1)
        return self.feed(b"")

    def feed(self, data: bytes) -> list:
        self._buf += data
        out: list = []
        while True:
            start = self._buf.find(PREAMBLE)
            if start < 0:
                # Keep a tail that may be the start of a preamble split across reads.
                drop = max(len(self._buf) - (len(PREAMBLE) - 1), 0)
                self._drop(drop)
                return out
            self._drop(start)
            if len(self._buf) < HEADER_LEN:
                return out
            length = int.from_bytes(self._buf[5:7], "big")
            if not self.min_len <= length <= MAX_LEN:
                out.append(FrameError(f"frame length {length} out of bounds", code="bad_length",
                                      length=length))
                self._drop(1)
                continue
            total = HEADER_LEN + length
            if len(self._buf) < total:
                return out
            frame = bytes(self._buf[:total])
            if checksum(frame[5:-1]) != frame[-1]:
                out.append(FrameError(f"frame checksum mismatch ({length}-byte frame)",
                                      code="bad_checksum", length=length))
                # Resync inside the rejected bytes: a real frame may start there.
                self._drop(1)
                continue
            del self._buf[:total]
            out.append(self._make(frame[HEADER_LEN:-1]))

    def _drop(self, n: int) -> None:
        if n:
            self.discarded += n
            del self._buf[:n]

    def _make(self, payload: bytes):
        return Reply(payload[0], payload[1], payload[2], payload[3:])


class RequestReader(FrameReader):
    """The reader's side of the wire (for the emulator): host frames carry CMD PARA DATA."""

    min_len = MIN_REQUEST_LEN

    def _make(self, payload: bytes) -> Request:
        return Request(payload[0], payload[1], payload[2:])
