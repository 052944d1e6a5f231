"""The audit trail of staff actions: one JSON line per action in ``VAR/audit.log``.

Every step leaves a trace (the reform the product serves): who did what to which record, when.
Lines carry references and masked values only; the file is created 0600 and only ever appended
to, each line flushed and fsync'd before the action is reported done.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("kiosk.audit")


def path(var_dir: str | Path) -> Path:
    return Path(var_dir) / "audit.log"


def _who() -> str:
    # sudo keeps the person behind the root shell; a terminal has several staff accounts.
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (as {user})" if sudo and sudo != user else user


def record(var_dir: str | Path, action: str, **fields: Any) -> dict[str, Any]:
    """Append one action to the trail; returns the line written."""
    entry = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "who": _who(), "action": action, **fields}
    target = path(var_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("audit: %s %s", action, fields)
    return entry


def read(var_dir: str | Path) -> list[dict[str, Any]]:
    try:
        text = path(var_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]
