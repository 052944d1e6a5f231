"""Where the kiosk's log goes, and in what form.

- ``text`` (a person at a terminal) or ``json``: one JSON object per line, for the journal and
  whatever collects it (python-json-logger). The unit sets json (KIOSK_LOG_FORMAT in
  systemd/kiosk@.service); ``kiosk --log-format`` chooses too.
- To stderr (the journal under systemd), and with ``--log-file`` to a file as well, rotated by the
  kiosk itself (RotatingFileHandler: a terminal needs no logrotate set-up, and the log cannot
  fill the disk between two logrotate runs), created 0600.
- Whatever any library logs (Kivy's too: KIVY_LOG_MODE=PYTHON) passes ``PersonalDataFilter`` on its
  way out: the code masks what it logs already; this is the last line of defence for what slips
  through (an exception's message quoting a request, a driver's debug line): an 18-digit ID number
  keeps its first 6 and last 4 digits, a citizen code only its prefix and length.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys

from contract.auth import CITIZEN_CODE_PREFIX, mask_id

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BYTES, BACKUPS = 10 << 20, 5  # at most 60 MB of log on the terminal's disk

# Not inside a longer run of letters and digits (a 24-digit case number is not an ID number), nor a
# part of a hyphen-joined code (a national item code holds an 18-digit
# organisation code: 511A0074300005-511602000000-000-115113016823646795-1-00).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?<!\d-)\d{17}[\dXx](?![0-9A-Za-z])(?!-\d)")
_CITIZEN_CODE = re.compile(r"(?<![0-9A-Za-z])" + re.escape(CITIZEN_CODE_PREFIX) + r"\.[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]+)?")


def mask_text(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: mask_id(m[0]), text)
    return _CITIZEN_CODE.sub(lambda m: f"{CITIZEN_CODE_PREFIX}…({len(m[0])} characters, masked)", text)


class PersonalDataFilter(logging.Filter):
    """Masks ID numbers and citizen codes in a record's message and traceback, for every handler
    that formats it after (the record is shared: mask once, on the first handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it itself, later
            return True
        record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_info, record.exc_text = None, mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Each file, the first and every one after a rotation, created 0600 whatever the umask."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                             rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                             json_ensure_ascii=False)  # Chinese as itself, readable in journalctl
    return logging.Formatter(TEXT)


def setup(verbose: bool = False, fmt: str = "text", file: str | None = None) -> None:
    """Replace the root logger's handlers (a second call, as in tests, does not duplicate them)."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if file:
        # Opened now: a path that cannot be written to fails at start, with its reason.
        handlers.append(_PrivateRotatingFile(file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"))
    for handler in handlers:
        handler.addFilter(PersonalDataFilter())
        handler.setFormatter(_formatter(fmt))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
