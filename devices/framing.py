"""Cutting a serial code scanner's byte stream into codes.

A scanner in serial or USB CDC ("virtual COM") mode sends each code as ``[prefix] payload suffix``,
the prefix and suffix programmed on the scanner (CR by default; STX ... ETX on some). Without a
suffix, a code is a burst of bytes and the silence after it ends it. Either way a port delivers
the bytes in pieces of any size, so a code may arrive over several reads and two codes in one.

``CodeFramer`` turns those pieces into events: ``CodeScanned`` with the exact payload bytes (the
prefix stripped when present) and ``ErrorEvent`` for what cannot be a code. It does no I/O and
reads no clock: the driver passes each read's bytes and the time, and calls ``idle()`` when a
read brought nothing, which is when a silence of ``gap`` seconds can be seen.
"""

from __future__ import annotations

from devices.codes import MAX_CODE_BYTES, payload_text
from devices.events import CodeScanned, ErrorEvent, Event

CR, LF = b"\r", b"\n"
TOO_LONG_ZH = "码的内容太长，无法读取，请换一个码或联系工作人员"
INCOMPLETE_ZH = "扫码数据不完整，请重新扫码"


class CodeFramer:
    """Codes out of a scanner's bytes; see the module doc.

    ``suffix`` ends a code; b"" means a gap of ``gap`` seconds does. A CR suffix also takes an LF
    right after it, so a scanner sending CR LF works when set up as CR. With a suffix, bytes left
    waiting for it longer than ``gap`` are a cut-off code or line noise: dropped (``garbled``),
    so they never glue onto the next code. A code longer than ``max_length`` bytes is dropped as
    soon as it is (``code_too_long``), and so is the rest of it, up to its suffix or gap.
    """

    def __init__(self, device: str, *, suffix: bytes, prefix: bytes = b"", gap: float,
                 max_length: int = MAX_CODE_BYTES):
        self.device, self.suffix, self.prefix = device, suffix, prefix
        self.gap, self.max_length = gap, max_length
        self._buf = bytearray()
        self._last = 0.0  # when bytes last arrived
        self._skipping = False  # inside a code already dropped as too long
        self._after_cr = False  # the last byte ended a code with CR: an LF next belongs to it

    def reset(self) -> None:
        """Forget everything pending (the port closed)."""
        self._buf.clear()
        self._skipping = self._after_cr = False

    def feed(self, chunk: bytes, now: float) -> list[Event]:
        """Bytes read at ``now``; the codes and errors they complete."""
        out: list[Event] = []
        if not chunk:
            return out
        self._last = now
        if self._after_cr and chunk[:1] == LF:
            chunk = chunk[1:]
        self._after_cr = False
        self._buf += chunk
        if self.suffix:
            while (end := self._buf.find(self.suffix)) >= 0:
                frame = bytes(self._buf[:end])
                del self._buf[:end + len(self.suffix)]
                if self.suffix == CR and self._buf[:1] == LF:
                    del self._buf[:1]  # this CR's LF: a later LF is the next code's
                    self._after_cr = False
                else:
                    self._after_cr = self.suffix == CR and not self._buf
                if self._skipping:  # the end of a code already reported as too long
                    self._skipping = False
                else:
                    self._code(frame, out)
        # Keep what may still be the start of the suffix; bounded however long the code is.
        limit = self.max_length + len(self.prefix) + max(len(self.suffix) - 1, 0)
        if self._skipping or len(self._buf) > limit:
            if not self._skipping:
                out.append(self._too_long())
                self._skipping = True
            del self._buf[:len(self._buf) - max(len(self.suffix) - 1, 0)]
        return out

    def idle(self, now: float) -> list[Event]:
        """A read at ``now`` brought nothing: after ``gap`` seconds of silence a code without a
        suffix is complete, and one that still waits for its suffix is dropped."""
        out: list[Event] = []
        if now - self._last < self.gap:
            return out
        if self._buf and not self._skipping:
            if self.suffix:
                out.append(self._error("garbled", INCOMPLETE_ZH,
                                       f"{len(self._buf)} bytes dropped: no suffix {self.suffix.hex(' ')} "
                                       f"within {self.gap * 1000:.0f} ms (last byte "
                                       f"{self._buf[-1]:02x}): a cut-off code, line noise, or the "
                                       "scanner sends another suffix than the one configured"))
            else:
                self._code(bytes(self._buf), out)
        self.reset()
        return out

    def _code(self, frame: bytes, out: list[Event]) -> None:
        if self.prefix and frame.startswith(self.prefix):
            frame = frame[len(self.prefix):]
        if len(frame) > self.max_length:
            out.append(self._too_long())
        elif frame:  # a bare suffix is no code
            out.append(CodeScanned(device=self.device, data=frame, text=payload_text(frame)))

    def _too_long(self) -> ErrorEvent:
        return self._error("code_too_long", TOO_LONG_ZH,
                           f"a code longer than max_length {self.max_length} bytes was dropped "
                           "(the next code is read normally)")

    def _error(self, code: str, zh: str, message: str) -> ErrorEvent:
        return ErrorEvent(device=self.device, code=code, message=message, message_zh=zh, will_retry=True)
