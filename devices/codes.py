"""What every code scanner shares: reading a payload's bytes as text, and the limits on them.

A scanned code is untrusted input from whoever holds it up. Scanners hand over bytes; the text is
UTF-8 when the bytes are UTF-8 (the QR norm and what phones show), else GB18030 (older Chinese
systems print GBK codes without an ECI), else none: the bytes stay, the text is "" and nothing
downstream guesses.
"""

from __future__ import annotations

import re

MAX_CODE_BYTES = 4096  # a QR code holds at most 2,953 bytes (version 40-L); longer is noise
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def payload_text(data: bytes) -> str:
    """The payload as text: UTF-8, then GB18030, else "" (binary: the bytes are all there is)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # GB18030 decodes almost any byte string; a NUL or other control inside is binary, not text
        # (a tab or line break is text: vCard and Wi-Fi codes carry them).
        if not _CONTROL.search(text.replace("\t", "").replace("\r", "").replace("\n", "")):
            return text
    return ""


def has_control(text: str) -> bool:
    """A control character or a direction mark: nothing a code to act on may hold."""
    return bool(_CONTROL.search(text))


def printable(text: str, limit: int = 80) -> str:
    """``text`` safe for one line of a screen or a log: controls and direction marks shown as
    '\\xNN' escapes (a code cannot move the cursor or reorder a log line), cut to ``limit``."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)
    return out if len(out) <= limit else out[:limit - 1] + "…"
