"""A SAM_V reader on a pty, so the real driver and pyserial run unchanged in demos and tests.

The emulator answers like the readers in the spec's captures, at the wire speed of the configured
baud rate, so timeouts and partial reads in the driver are exercised as on hardware.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import select
import threading
import time
import tty
from collections import deque

from devices.identity import CardType, Identity, check_digit
from drivers.samv import protocol as p
from drivers.samv.cardtext import encode_base_info

FAKE_PHOTO = (b"WLT-FAKE-PHOTO-" * 69)[:1024]  # the real format is a vendor secret; size is what counts
DEFAULT_SAM_ID = bytes.fromhex("0501") + bytes.fromhex("0000") + (20230101).to_bytes(4, "little") \
    + (12345678).to_bytes(4, "little") + (87654321).to_bytes(4, "little")


def _number(area: str, birth: str, sequence: str) -> str:
    return area + birth + sequence + check_digit(area + birth + sequence)


def _resident(name, gender, nation, birth, address, sequence, area, issuer, valid_from, valid_to):
    born = dt.date.fromisoformat(birth)
    return Identity(
        card_type=CardType.RESIDENT, name=name, gender=gender, nation=nation, birth_date=born,
        address=address, id_number=_number(area, born.strftime("%Y%m%d"), sequence), issuer=issuer,
        valid_from=dt.date.fromisoformat(valid_from),
        valid_to=dt.date.fromisoformat(valid_to) if valid_to else None, long_term=valid_to is None,
    )


# Invented people. Sequence digits follow the rule: 17th digit odd for men, even for women.
SAMPLE_CARDS: dict[str, Identity] = {
    "li_xiaomei": _resident("李晓梅", "女", "汉", "1985-03-12", "北京市朝阳区安贞街道安华里二区5号楼3单元602号",
                            "024", "110105", "北京市公安局朝阳分局", "2016-05-20", "2036-05-20"),
    "wang_kun": _resident("王堃", "男", "彝", "1962-08-09", "四川省成都市锦江区红星路三段16号附2号",
                          "013", "510102", "成都市公安局锦江分局", "2012-04-18", None),
    "deng_yuxi": _resident("邓雨汐", "女", "土家", "2001-11-30", "四川省广安市广安区北辰街道思源大道88号",
                           "046", "511602", "广安市公安局广安区分局", "2019-07-01", "2029-07-01"),
    "ayguli": _resident("阿依古丽·买买提", "女", "维吾尔", "1990-01-05", "新疆乌鲁木齐市天山区解放南路120号",
                        "028", "650102", "乌鲁木齐市公安局天山区分局", "2010-09-15", "2030-09-15"),
}


class SamEmulator:
    """A SAM_V reader behind a pty; ``port`` is the slave path a pyserial client opens.

    ``fault`` is the hook for fault injection: None answers normally, ``"silence"`` answers
    nothing (a hung reader: requests are still received and recorded). Every reply goes out
    through ``_outgoing`` so a fault has one place to act. ``send_garbage`` puts unsolicited
    bytes on the line, as electrical noise or a confused reader would.
    """

    def __init__(self, baud: int = 115200, card: Identity | None = None, sam_id: bytes = DEFAULT_SAM_ID):
        self.baud = baud
        self.sam_id = sam_id
        self.card = card
        self.fault: str | None = None
        self.requests: deque[p.Request] = deque(maxlen=64)  # what the host sent lately, for tests
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
            fingerprint = b"" if command == p.READ_BASE_FP else None
            return p.build_reply(p.SW_OK, encode_base_info(card, photo, fingerprint))
        if command == p.READ_NEWEST_ADDRESS:
            return p.build_reply(p.SW_NO_CONTENT) if card else p.build_reply(p.SW_READ_FAILED)
        return p.build_reply(p.SW_BAD_COMMAND)

    def _outgoing(self, frame: bytes) -> bytes:
        """Fault injection point: mangle, delay or drop ``frame`` per ``self.fault``."""
        if self.fault == "silence":
            return b""
        return frame

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
            for item in frames.feed(chunk):
                if isinstance(item, p.Request):
                    self.requests.append(item)
                    reply = self.answer(item)
                elif item.code == "bad_checksum":
                    reply = p.build_reply(p.SW_BAD_CHECKSUM)
                else:
                    reply = p.build_reply(p.SW_BAD_LENGTH)
                self._send(self._outgoing(reply))

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
