"""The demo harness: emulated hardware for the kiosk, and the hands that act on it.

This is the one place in the application that names emulators. The demo panel and the
headless tour act through DemoHardware exactly as a person would on real hardware: placing a
card on the reader, opening the printer cover. They never call into the app.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from devices.identity import mask_name
from kiosk.config import KioskConfig

log = logging.getLogger("kiosk.demo")

# Keys 1-9 place the sample cards, F5 removes, F6 paper, F7 cover (SDL key codes).
_CARD_KEYS = {ord(str(n)): n - 1 for n in range(1, 10)}
_KEY_REMOVE, _KEY_PAPER, _KEY_COVER = 286, 287, 288
PRODUCT_BARCODE = "6901234567892"  # a shop's EAN-13: a code that means nothing at a kiosk


class DemoHardware:
    def __init__(self, config: KioskConfig, slips_dir: Path):
        self.config = config
        self.slips_dir = slips_dir
        self._stack = ExitStack()
        self.reader = None
        self.printer = None
        self.scanner = None
        self.shown = ""  # what the last code held to the scanner was, for the panel
        self.last_code = ""  # the last citizen code shown (the soak's privacy audit looks for it afterwards)
        self.ss_reader = None  # the virtual PC/SC reader for the 社保卡 (social security card)
        self.card_index: int | None = None

    def __enter__(self) -> DemoHardware:
        from drivers.escpos.emulator import VirtualPrinter
        from drivers.pcsc.emulator import VirtualReader
        from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator

        self._cards = list(SAMPLE_CARDS.values())
        try:
            for name in self.config.demo.emulate:
                driver = self.config.devices[name].get("driver")
                if driver == "sam-serial":
                    baud = self.config.devices[name].get("baud", 115200)
                    self.reader = self._stack.enter_context(SamEmulator(baud=baud))
                    self._reader_device = name
                elif driver == "escpos":
                    self.printer = self._stack.enter_context(VirtualPrinter())
                    self._printer_device = name
                elif driver == "serial-scanner":
                    from drivers.serialscan.emulator import SerialScannerEmulator

                    self.scanner = self._stack.enter_context(SerialScannerEmulator())
                    self._scanner_device = name
                elif driver == "pcsc":
                    # pcscd and its vpcd reader, as the tests run them (pcscd started if not running).
                    self.ss_reader = VirtualReader()
                    self._stack.callback(self.ss_reader.stop)
                    self.ss_reader.start()
                    self._ss_device = name
                else:
                    raise ValueError(f"demo.emulate: no emulator for driver {driver!r} (device {name})")
        except BaseException:
            self._stack.close()  # what started before the failure stops again
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.printer is not None:
            self.save_slips()
        self._stack.close()

    def device_overrides(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if self.reader is not None:
            out[self._reader_device] = {"port": self.reader.port}
        if self.printer is not None:
            out[self._printer_device] = {"connection": "serial", "port": self.printer.port}
        if self.scanner is not None:
            out[self._scanner_device] = {"port": self.scanner.port}
        if self.ss_reader is not None:
            out[self._ss_device] = {"readers": [self.ss_reader.name]}
        return out

    # -- the hands --------------------------------------------------------------------
    def card_labels(self) -> list[tuple[str, str]]:
        """(masked name, card type) of each sample card, short enough for a panel button."""
        return [(mask_name(c.name)[:3], c.card_type.value) for c in self._cards]

    def place_card(self, index: int) -> None:
        if self.reader is None:
            return
        self.reader.place_card(self._cards[index])
        self.card_index = index

    def remove_card(self) -> None:
        if self.reader is not None:
            self.reader.remove_card()
        self.card_index = None

    def insert_ss_card(self) -> None:
        """Put the sample 社保卡 in the virtual reader (the one in it comes out first)."""
        if self.ss_reader is not None:
            self.ss_reader.insert()

    def remove_ss_card(self) -> None:
        if self.ss_reader is not None:
            self.ss_reader.remove()

    def toggle_ss_card(self) -> None:
        if self.ss_reader is not None:
            self.remove_ss_card() if self.ss_reader.has_card else self.insert_ss_card()

    def toggle_paper(self) -> None:
        if self.printer is not None:
            self.printer.set_paper("full" if self.printer.paper == "out" else "out")

    def toggle_cover(self) -> None:
        if self.printer is not None:
            self.printer.set_cover(not self.printer.cover_open)

    # -- codes held to the scanner -------------------------------------------------------
    def code_labels(self) -> list[tuple[str, str]]:
        """(what, label) of the codes a visitor can hold up; empty without an emulated scanner."""
        if self.scanner is None:
            return []
        return [("citizen", mask_name(self._cards[0].name)), ("receipt", ""), ("guide", ""), ("other", "")]

    def show_code(self, what: str) -> bool:
        """Hold a code to the scanner: the first sample person's citizen code from the province
        app, or the QR of the last receipt or guide slip the printer gave out (read off the printed
        picture, as a phone camera would). False when there is no such code yet."""
        payload = (self._citizen_code() if what == "citizen" else PRODUCT_BARCODE if what == "other"
                   else self._printed_code(what))
        if self.scanner is None or not payload:
            self.shown = f"{what}: —"
            return False
        self.scanner.scan(payload.encode("utf-8"))
        self.shown = what
        if what == "citizen":  # (a receipt's or a slip's own code is on its paper by design)
            self.last_code = payload
        return True

    def _citizen_code(self) -> str:
        from contract import auth

        card = self._cards[0]
        return auth.make_citizen_code(card.id_number, card.name)

    def _printed_code(self, what: str) -> str:
        from devices.imagecodes import decode
        from kiosk import scanned

        if self.printer is None:
            return ""
        wanted = {"receipt": "case", "guide": "guide"}[what]
        for slip in reversed(self.printer.slips):
            for code in decode(slip.image):
                if scanned.meaning(code.text, self._track_url(code.text), "", lambda c: None).kind == wanted:
                    return code.text
        return ""

    def _track_url(self, text: str) -> str:
        """The receipts' track URL: configured, or the embedded platform's (its port changes each run)."""
        if self.config.central.track_url:
            return self.config.central.track_url
        head, found, _ = text.partition("/track/")
        return f"{head}/track/{{number}}" if found else ""

    def on_key(self, key: int) -> bool:
        if key in _CARD_KEYS and _CARD_KEYS[key] < len(self._cards):
            self.place_card(_CARD_KEYS[key])
        elif key == _KEY_REMOVE:
            self.remove_card()
        elif key == _KEY_PAPER:
            self.toggle_paper()
        elif key == _KEY_COVER:
            self.toggle_cover()
        else:
            return False
        return True

    def describe(self) -> str:
        lines = []
        if self.reader is not None:
            card = "—" if self.card_index is None else self.card_labels()[self.card_index][0]
            lines.append(f"ID: {card}")
        if self.ss_reader is not None:
            lines.append(f"社保卡: {'in' if self.ss_reader.has_card else '—'}")
        if self.printer is not None:
            lines.append(f"paper: {self.printer.paper}")
            lines.append(f"cover: {'open' if self.printer.cover_open else 'closed'}")
            lines.append(f"slips: {len(self.printer.slips)}")
        if self.scanner is not None:
            lines.append(f"code: {self.shown or '—'}")
        return "\n".join(lines)

    def take_slip_texts(self, keep: int = 2) -> list[str]:
        """The text of each slip printed since the last call; the printer keeps the pictures of
        only the last ``keep``, which a citizen may still hold to the scanner."""
        if self.printer is None:
            return []
        return ["\n".join(slip.text_lines) for slip in self.printer.take_slips(keep)]

    def save_slips(self) -> list[Path]:
        if self.printer is None or not self.printer.slips:
            return []
        self.slips_dir.mkdir(parents=True, exist_ok=True)
        return self.printer.save_pngs(self.slips_dir)
