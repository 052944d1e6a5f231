"""The terminal's own small SQLite files (outbox, print queue, command book), opened one way.

Each is written before the kiosk tells anyone that something happened, so every commit is fsync'd
(WAL, synchronous=FULL) and survives a power cut. Each may hold personal or staff data, so the file
is created 0600 before SQLite opens it (SQLite gives -wal and -shm the same mode). Their tables
are small and read by index, so each connection's page cache is capped well below SQLite's 2 MB
default: the kiosk runs for months, and a cache that fills as rows come and go is resident memory
that never comes back.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

PAGE_CACHE_KIB = 256


def open_durable(path: str | Path, *, secure_delete: bool = False, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection in autocommit mode, usable from any thread (callers hold their own lock).

    ``secure_delete`` overwrites deleted rows on disk, for files whose rows carry personal data.
    ``timeout`` is how long a write waits for another process (the CLI) holding the file."""

    if str(path) != ":memory:":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)  # a file left by an older version may have been wider
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    if secure_delete:
        conn.execute("PRAGMA secure_delete=ON")  # whatever the system SQLite's default
    if str(path) != ":memory:":
        for side in ("-wal", "-shm"):
            p = Path(f"{path}{side}")
            if p.exists():
                os.chmod(p, 0o600)
    return conn
