"""A virtual 社保卡 (social security card) that plugs into pcscd through the vpcd reader driver.

pcscd loads libifdvpcd (Debian package vsmartcard-vpcd), which listens on 127.0.0.1:35963 (the
reader "Virtual PCD 00 00"; 35964 is "… 00 01") for one virtual card. Connecting is inserting
the card, closing the socket is removing it. Each vpcd message is a 2-byte big-endian length and a
payload: one byte is a control code (00 power off, 01 power on, 02 reset, 04 get ATR), anything
longer is a command APDU answered with the response APDU. The driver under test talks to pcscd
through pyscard exactly as it would to a real reader.

The card answers like a T=0 card issued without a PSAM for the kiosk: SELECT of the SSSE DF by
name gives 61xx (so GET RESPONSE is exercised), READ RECORD with the wrong Le gives 6Cxx, EF05
records 1/3/7 are readable (spec §8–§9 vectors), EF06 needs authentication (6982). ``commands``
records every APDU, so tests can check that no VERIFY (PIN) was ever sent.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

VPCD_PORT = 0x8C7B  # 35963: the first virtual reader of /etc/reader.conf.d/vpcd
SSSE_NAME = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # "sx1.sh." + GBK 社会保障
# TS=3B, T0=6C (TB1, TC1, 12 historical bytes), no TD1: T=0 only.
DEFAULT_ATR = bytes.fromhex("3B6C0000") + b"SSCARD-TEST3"
EF05_RECORDS = {
    1: bytes.fromhex("330300D15600000599110145FFFFFFFF"),  # card identifier: area 330300 + RID
    3: b"3.00",  # spec version
    4: bytes.fromhex("33030000000001"),  # initializing institution
    5: bytes.fromhex("20200315"),  # issue date
    6: bytes.fromhex("20300315"),  # expiry date
    7: b"A12345678",  # card number
}
OK = b"\x90\x00"


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


class VirtualSocialSecurityCard:
    """One card for one vpcd slot. ``insert()`` connects it, ``remove()`` takes it out."""

    def __init__(self, port: int = VPCD_PORT, *, atr: bytes = DEFAULT_ATR, t0: bool = True,
                 ef05: dict[int, bytes] | None = None, locked_ef05: frozenset[int] = frozenset(),
                 host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self.atr = atr
        self.t0 = t0  # T=0 style: answer SELECT with 61xx and leave the data to GET RESPONSE
        self.ef05 = dict(EF05_RECORDS if ef05 is None else ef05)
        self.locked_ef05 = locked_ef05  # records that answer 6982, as on some 3rd-generation cards
        self.commands: list[bytes] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self._df_selected = False
        self._ef: int | None = None
        self._pending = b""  # data waiting for GET RESPONSE

    # ------------------------------------------------------------ the hands

    def insert(self, timeout: float = 5.0) -> None:
        """Connect to vpcd (retrying while pcscd starts up); pcscd then sees a card in the slot."""
        if self._sock is not None:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        sock.settimeout(0.2)
        self._reset_state()
        self._sock = sock
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True,
                                        name=f"vpcd-card-{self.port}")
        self._thread.start()

    def remove(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._thread = None

    close = remove

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def __enter__(self) -> VirtualSocialSecurityCard:
        self.insert()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    # ------------------------------------------------------------ the wire

    def _run(self, sock: socket.socket) -> None:
        buf = b""
        while self._sock is sock:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                size = struct.unpack(">H", buf[:2])[0]
                payload, buf = buf[2:2 + size], buf[2 + size:]
                reply = self._answer(payload)
                if reply is not None:
                    with contextlib.suppress(OSError):
                        sock.sendall(struct.pack(">H", len(reply)) + reply)

    def _answer(self, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            code = payload[0]
            if code == 0x04:
                return self.atr
            if code in (0x00, 0x01, 0x02):
                self._reset_state()
            return None
        self.commands.append(payload)
        return self.apdu(payload)

    # ------------------------------------------------------------ the card

    def apdu(self, apdu: bytes) -> bytes:
        """The response APDU (data + SW1 SW2) to one command APDU."""
        if len(apdu) < 4:
            return _sw(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if cla != 0x00:
            return _sw(0x6E00)
        if ins == 0xA4:
            return self._select(p1, body)
        if ins == 0xC0:
            data, self._pending = self._pending, b""
            if not data:
                return _sw(0x6985)
            le = body[0] if body else 0
            return data[:le or 256] + OK
        if ins == 0xB2:
            return self._read_record(p1, p2, body[0] if len(body) == 1 else 0)
        if ins == 0x20:
            return _sw(0x63C3)  # a PIN try counted down: the driver must never get here
        return _sw(0x6D00)

    def _select(self, p1: int, body: bytes) -> bytes:
        if not body or len(body) < 1 + body[0]:
            return _sw(0x6700)
        target = body[1:1 + body[0]]
        if p1 == 0x04:
            if target != SSSE_NAME:
                return _sw(0x6A82)
            self._df_selected, self._ef = True, None
            fci = b"\x6f" + bytes([len(SSSE_NAME) + 2]) + b"\x84" + bytes([len(SSSE_NAME)]) + SSSE_NAME
            if self.t0:
                self._pending = fci
                return bytes([0x61, len(fci)])
            return fci + OK
        if p1 in (0x00, 0x02) and self._df_selected and target in (b"\xef\x05", b"\xef\x06"):
            self._ef = target[1]
            return OK
        return _sw(0x6A82)

    def _read_record(self, number: int, p2: int, le: int) -> bytes:
        if not self._df_selected:
            return _sw(0x6982)
        sfi = p2 >> 3 if p2 & 0x07 == 0x04 and p2 >> 3 else self._ef
        if p2 & 0x07 != 0x04 or sfi is None:
            return _sw(0x6A86)
        if sfi == 0x06:
            return _sw(0x6982)  # personal data: external authentication with a PSAM first
        if sfi != 0x05:
            return _sw(0x6A82)
        if number in self.locked_ef05:
            return _sw(0x6982)
        value = self.ef05.get(number)
        if value is None:
            return _sw(0x6A83)
        record = bytes([number, len(value)]) + value
        if le != len(record):
            return bytes([0x6C, len(record)])
        return record + OK


def main(argv: list[str] | None = None) -> int:
    """``python -m drivers.pcsc.virtual_card [--port N]``: insert a card until Ctrl-C."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m drivers.pcsc.virtual_card",
                                 description="virtual social security card for pcscd + vpcd")
    ap.add_argument("--port", type=int, default=VPCD_PORT, help="vpcd port (35963 = Virtual PCD 00 00)")
    args = ap.parse_args(argv)
    card = VirtualSocialSecurityCard(args.port)
    card.insert(timeout=10.0)
    print(f"card inserted into vpcd on port {args.port}; Ctrl-C removes it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
