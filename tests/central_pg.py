"""A throwaway local PostgreSQL for the central server tests (imported by the test modules).

PostgreSQL refuses to run as root, so the cluster belongs to the ``postgres`` system user (or
``nobody``) and is driven through ``runuser``. It lives in a fresh directory under /tmp (pytest's
own tmp dirs are root-only 0700, which that user cannot enter), listens on 127.0.0.1 on a free
port with its socket in the same directory, runs with fsync off, and is stopped at exit. It is
started once per test process however many modules use it; each caller gets a new database.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

_BIN_DIRS = ["/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin"]
_state: dict[str, object] = {}


def _tool(name: str) -> str | None:
    for d in _BIN_DIRS:
        if os.access(Path(d) / name, os.X_OK):
            return str(Path(d) / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start() -> str:
    """The server's base URL (postgresql://postgres@127.0.0.1:PORT); raises RuntimeError with why."""
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("initdb/pg_ctl not found (looked in PATH and " + ", ".join(_BIN_DIRS) + ")")
    if not shutil.which("runuser") and os.geteuid() == 0:
        raise RuntimeError("running as root without runuser: cannot start PostgreSQL as another user")
    user = next((u for u in ("postgres", "nobody") if _has_user(u)), None) if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
    data, log = base / "data", base / "server.log"
    prefix: list[str] = []
    if user:
        pw = pwd.getpwnam(user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    run = {"capture_output": True, "text": True, "timeout": 60}
    r = subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-locale", "--no-sync"], **run)
    if r.returncode:
        raise RuntimeError(f"initdb failed: {r.stderr.strip()[-500:]}")
    port = _free_port()
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    r = subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "30", "start"],
                       **run)
    if r.returncode:
        tail = log.read_text(errors="replace")[-500:] if log.exists() else r.stderr
        raise RuntimeError(f"pg_ctl start failed: {tail.strip()}")

    def stop() -> None:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=30)
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}"


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def postgres_server() -> str:
    """Start the cluster on first use; skip (with the reason) if it cannot run here."""
    if "url" not in _state and "error" not in _state:
        try:
            _state["url"] = _start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _state["error"] = str(exc)
    if "error" in _state:
        pytest.skip(f"PostgreSQL not available: {_state['error']}")
    return str(_state["url"])


def new_database(name: str) -> str:
    """A fresh, empty database on the test cluster; its URL."""
    import psycopg

    base = postgres_server()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
