"""PC/SC smart-card slots (pyscard → pcscd): insert/remove over several readers, and the 社保卡
(social security card) application read as far as it goes without a PSAM (spec §8).

Polled from the device worker with SCardGetStatusChange at timeout 0, not with pyscard's own
monitoring threads, so the worker model holds. On insertion the driver reads the ATR, selects the
SSSE DF by name and reads EF05 records 1 (card identifier), 3 (spec version) and 7 (card number);
it only probes EF06 (personal data) to learn whether it needs authentication, and keeps nothing
from it. ``announce`` reports the cards in the slots again on request; closing reports every
remembered card as removed. It handles 61xx and 6Cxx itself (T=0 cards) and never sends VERIFY: a wrong PIN counts
down to a blocked card.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydantic import ConfigDict, Field
from smartcard import scard

from devices.contracts import PRIORITY_ANSWERED, Candidate, CardReader, Claim, DeviceName, DriverOptions
from devices.errors import DeviceError, DeviceGone
from devices.events import CardInserted, CardRemoved, ErrorEvent
from devices.status import DeviceState

log = logging.getLogger("kiosk.drivers.pcsc")

SSSE_SELECT = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
EF05_SFI_P2 = (0x05 << 3) | 0x04  # READ RECORD by short file id 5
EF06_SFI_P2 = (0x06 << 3) | 0x04
SW_OK = 0x9000
SW_NEEDS_AUTH = 0x6982
_NO_SERVICE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE}
_CARD_GONE = {scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_RESET_CARD,
              scard.SCARD_W_UNPOWERED_CARD, scard.SCARD_E_READER_UNAVAILABLE,
              scard.SCARD_W_UNRESPONSIVE_CARD}
_MAX_CHAINED = 16  # 61xx rounds before we call the card broken


class CardGone(Exception):
    """The card left the slot during a read: the next poll reports the removal."""


class PcscCardReader(CardReader):
    class Options(DriverOptions):
        model_config = ConfigDict(strict=True)  # 1e23 or true for an int is an error (DriverOptions)
        readers: list[DeviceName] = Field([], max_length=16)  # substrings of PC/SC reader names; empty = all
        poll_interval_ms: int = Field(500, ge=50, le=60_000)

    capabilities = frozenset({"atr", "social_security"})

    @classmethod
    def supported(cls, candidate: Candidate) -> Claim | None:
        """A reader pcscd lists: pcscd found it and its driver answered."""
        if candidate.bus != "pcsc":
            return None
        return Claim(PRIORITY_ANSWERED, {"readers": [candidate.name]}, "a PC/SC reader pcscd lists")

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        self.options: PcscCardReader.Options = options
        self.poll_interval = options.poll_interval_ms / 1000
        self._ctx: int | None = None
        self._state = DeviceState.UNKNOWN
        # reader → (ATR, pcscd's count of card events there) of the card reported in it. Cards of
        # one issuer share their ATR: only the count tells a card swapped between two polls.
        self._present: dict[str, tuple[bytes, int]] = {}
        self._lock = threading.Lock()  # one exchange with pcscd at a time

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        self.close()
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise DeviceGone(f"pcscd not available: {scard.SCardGetErrorMessage(hr)}",
                             zh="读卡器服务未运行")
        self._ctx = ctx
        if not self._readers():
            self.close()
            raise DeviceGone(self._no_reader_text(), zh="社保卡读卡器未连接")
        self._state = DeviceState.ONLINE

    def close(self) -> None:
        ctx, self._ctx = self._ctx, None
        self._state = DeviceState.UNKNOWN
        self._forget(set(self._present))  # a card we can no longer see counts as taken
        if ctx is not None:
            scard.SCardReleaseContext(ctx)

    def state(self) -> DeviceState:
        return self._state

    # ------------------------------------------------------------ polling

    def poll(self) -> None:
        self._scan(again=False)

    def read_card(self) -> dict[str, str] | None:
        with self._lock:
            readers = self._readers()
            if not readers:
                raise DeviceGone(self._no_reader_text(), zh="社保卡读卡器未连接")
            for reader, (atr, _) in self._status(readers).items():
                if atr:
                    try:
                        return {"reader": reader, "atr": atr.hex().upper(), **self._read_info(reader)}
                    except CardGone:
                        continue
            return None

    def announce(self) -> int:
        """Report every card in a slot now, again if reported before; forget the ones gone."""
        return self._scan(again=True)

    def _scan(self, again: bool) -> int:
        """Cards put in since the last look are reported, cards gone are forgotten (reported as
        removed); with ``again`` every card in a slot is reported anew. Returns how many there are."""
        with self._lock:
            readers = self._readers()
            if not readers:
                self._forget(set(self._present))
                raise DeviceGone(self._no_reader_text(), zh="社保卡读卡器已断开")
            states = self._status(readers)
            # Taken out, reader unplugged, or swapped for another card since the last look.
            self._forget({r for r, seen in self._present.items() if states.get(r) != seen})
            for reader, (atr, count) in states.items():
                if not atr or (not again and reader in self._present):
                    continue
                was = self._present.pop(reader, None) if again else None
                self._insert(reader, atr, count)
                if was is not None and reader not in self._present:  # pulled out as we read it
                    self.emit(CardRemoved(device=self.name, reader=reader))
            return len(self._present)

    def handle(self, action: str, args: dict[str, Any]) -> Any:
        if action == "read":
            return self.read_card()
        if action == "announce":
            return self.announce()
        return super().handle(action, args)

    # ------------------------------------------------------------ internals

    def _insert(self, reader: str, atr: bytes, count: int) -> None:
        try:
            info = self._read_info(reader)
        except CardGone:
            return  # pulled out while we read: nothing to announce, the next poll sees it absent
        except DeviceError as exc:
            if not self._status([reader])[reader][0]:
                return  # the failure was the card leaving (pcscd words that several ways)
            self.emit(ErrorEvent(device=self.name, code=exc.code, message=str(exc), message_zh=exc.zh,
                                 will_retry=False))
            info = {"application": "unreadable"}
        self._present[reader] = atr, count
        log.info("%s: card in %s, ATR %s, %s", self.name, reader, atr.hex(), info.get("application"))
        self.emit(CardInserted(device=self.name, reader=reader, atr=atr.hex().upper(), info=info))

    def _forget(self, readers: set[str]) -> None:
        for reader in sorted(readers):
            del self._present[reader]
            self.emit(CardRemoved(device=self.name, reader=reader))

    def _readers(self) -> list[str]:
        if self._ctx is None:
            raise DeviceGone("PC/SC context is closed", zh="读卡器服务未运行")
        hr, names = scard.SCardListReaders(self._ctx, [])
        if hr in _NO_SERVICE:
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(f"pcscd went away: {scard.SCardGetErrorMessage(hr)}", zh="读卡器服务未运行")
        if hr != scard.SCARD_S_SUCCESS:  # SCARD_E_NO_READERS_AVAILABLE and friends
            names = []
        wanted = self.options.readers
        return [n for n in names if not wanted or any(w in n for w in wanted)]

    def _no_reader_text(self) -> str:
        want = f" matching {self.options.readers}" if self.options.readers else ""
        return f"no PC/SC reader{want}"

    def _status(self, readers: list[str]) -> dict[str, tuple[bytes, int]]:
        """reader → (ATR of the card in it, b"" when empty or mute; how many insertions and
        removals pcscd has counted there, the high word of the event state)."""
        hr, states = scard.SCardGetStatusChange(self._ctx, 0,
                                                [(r, scard.SCARD_STATE_UNAWARE) for r in readers])
        if hr in _NO_SERVICE:
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(f"pcscd went away: {scard.SCardGetErrorMessage(hr)}", zh="读卡器服务未运行")
        if hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            return dict.fromkeys(readers, (b"", 0))
        out = {}
        for reader, event, atr in states:
            usable = event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE
            out[reader] = (bytes(atr) if usable else b""), event >> 16
        return out

    def _read_info(self, reader: str) -> dict[str, str]:
        hr, card, protocol = scard.SCardConnect(self._ctx, reader, scard.SCARD_SHARE_SHARED,
                                                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hr in _CARD_GONE:
            raise CardGone(reader)
        if hr != scard.SCARD_S_SUCCESS:
            raise DeviceError(f"{reader}: connect failed: {scard.SCardGetErrorMessage(hr)}",
                              code="card_unreadable", zh="无法读取此卡，请重新插卡")
        try:
            return _social_security_info(_Channel(card, protocol, reader))
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)


class _Channel:
    """APDU exchange with 61xx (GET RESPONSE) and 6Cxx (resend with Le) done here, as T=0 needs."""

    def __init__(self, card: int, protocol: int, reader: str):
        self.card, self.protocol, self.reader = card, protocol, reader

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        if apdu[1] == 0x20:
            raise AssertionError("VERIFY must never be sent")  # a wrong PIN counts down to lock-out
        hr, resp = scard.SCardTransmit(self.card, self.protocol, list(apdu))
        if hr in _CARD_GONE:
            raise CardGone(self.reader)
        if hr != scard.SCARD_S_SUCCESS or len(resp) < 2:
            raise DeviceError(f"{self.reader}: transmit failed: {scard.SCardGetErrorMessage(hr)}",
                              code="card_unreadable", zh="无法读取此卡，请重新插卡")
        return bytes(resp[:-2]), resp[-2] << 8 | resp[-1]

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.send(apdu)
        if sw >> 8 == 0x6C:  # wrong Le: the card says how many bytes it has; ask again with that Le
            body = apdu[:4] if len(apdu) <= 5 else apdu[:-1]
            data, sw = self.send(body + bytes([sw & 0xFF]))
        out = data
        for _ in range(_MAX_CHAINED):
            if sw >> 8 != 0x61:
                return out, sw
            data, sw = self.send(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
            out += data
        raise DeviceError(f"{self.reader}: endless 61xx chain", code="card_unreadable",
                          zh="无法读取此卡，请重新插卡")

    def record(self, number: int, p2: int) -> tuple[bytes, int]:
        """READ RECORD with Le=0 (the card corrects us with 6Cxx); the TLV value when it is there."""
        data, sw = self.transmit(bytes([0x00, 0xB2, number, p2, 0x00]))
        if sw == SW_OK and len(data) >= 2 and data[0] == number and len(data) >= 2 + data[1]:
            return data[2:2 + data[1]], sw
        return b"", sw


def _social_security_info(ch: _Channel) -> dict[str, str]:
    _, sw = ch.transmit(SSSE_SELECT)
    if sw != SW_OK:
        return {"application": "none", "select_sw": f"{sw:04X}"}
    info = {"application": "social_security"}
    needs_auth = False
    for number, key in ((1, "card_identifier"), (3, "spec_version"), (7, "card_number")):
        value, sw = ch.record(number, EF05_SFI_P2)
        if sw == SW_NEEDS_AUTH:
            needs_auth = True
        elif value:
            info[key] = value.hex().upper() if number == 1 else value.decode("ascii", "replace").strip()
            if number == 1:
                info["area_code"] = value[:3].hex()  # BCD, e.g. 330300
    # EF06 holds the person (社会保障号码, name): only learn whether it is locked, keep nothing.
    # One exchange without the 6Cxx/61xx follow-up, so a readable record is never fetched.
    _, sw = ch.send(bytes([0x00, 0xB2, 0x01, EF06_SFI_P2, 0x00]))
    needs_auth = needs_auth or sw == SW_NEEDS_AUTH
    info["needs_auth"] = "true" if needs_auth else "false"
    return info
