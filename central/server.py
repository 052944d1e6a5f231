"""Running the reference central platform: in the foreground (``serve``) or in a thread
(``BackgroundServer``, for the embedded demo and the tests).

Both bind the listening socket themselves before uvicorn starts, so port 0 gives a free port
with no race between "find a free port" and "listen on it", and the URL is known up front.
uvicorn is given ``log_config=None`` so starting it never reconfigures the host process's logging.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from central.app import create_app
from central.db import GuideStore
from central.seed import SeedReport, seed_if_empty
from contract import auth

log = logging.getLogger("central.server")

STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
# The /fleet staff login of `serve` comes from the environment (never from the command line,
# where other users of the machine could read it in the process list).
ENV_STAFF_USER = "CENTRAL_STAFF_USER"
ENV_STAFF_PASSWORD = "CENTRAL_STAFF_PASSWORD"


def redact_url(db: str | Path) -> str:
    """A database URL without its password, for logs."""
    text = str(db)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return text


class H11NoDelay(H11Protocol):
    """uvicorn's h11 protocol with Nagle's algorithm off on every connection.

    asyncio turns it off by itself only on sockets whose ``proto`` is IPPROTO_TCP; the one bound
    here (``_listen``) and the one uvicorn's ``--workers`` supervisor binds have proto 0, so the
    second write of a response waited for the client's delayed ACK: 40 ms on every request after
    the first of a keep-alive connection, which is how a kiosk's client talks (bench/FLEET.md).
    Several workers: ``uvicorn --http central.server:H11NoDelay --workers N ...``.
    """

    def connection_made(self, transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _db(db: str | Path) -> str | Path:
    """A URL stays a string; anything else is a SQLite file path."""
    return db if "://" in str(db) else Path(db)


def _prepare(db_path: str | Path) -> tuple[GuideStore, SeedReport | None]:
    store = GuideStore(db_path)
    report = seed_if_empty(store)
    if report is not None:
        log.info("seeded %s: %d guides in %.2f s", db_path, report.total, report.seconds)
    return store, report


def _config(db_path: str | Path, app_options: dict | None = None, **kw) -> uvicorn.Config:
    return uvicorn.Config(create_app(db_path, **(app_options or {})), http=H11NoDelay, ws="none", lifespan="off", log_config=None,
                          access_log=False, server_header=False, timeout_graceful_shutdown=2, **kw)


def staff_login_from_env() -> tuple[str, str] | None:
    """(user, password) of the /fleet page from $CENTRAL_STAFF_USER (default "staff") and
    $CENTRAL_STAFF_PASSWORD; None when no password is set (the documented demo login applies)."""
    password = os.environ.get(ENV_STAFF_PASSWORD, "")
    if not password:
        return None
    return os.environ.get(ENV_STAFF_USER, "") or auth.DEMO_STAFF_USER, password


def serve(host: str = "127.0.0.1", port: int = 0, db_path: str | Path = "var/central.db") -> None:
    """Run the platform until interrupted (Ctrl-C / SIGTERM). For ``kiosk central serve``."""
    _prepare(db_path)
    staff = staff_login_from_env()
    sock = _listen(host, port)
    url = _url(sock)
    shown = redact_url(db_path)
    log.info("central platform at %s (database %s)", url, shown)
    print(f"central platform at {url} (database {shown}); Ctrl-C stops it", flush=True)
    if staff:
        print(f"fleet page {url}/fleet: staff login {staff[0]!r}, password from ${ENV_STAFF_PASSWORD}", flush=True)
    else:
        print(f"fleet page {url}/fleet: demo staff login {auth.DEMO_STAFF_USER} / {auth.DEMO_STAFF_PASSWORD} "
              f"(set ${ENV_STAFF_PASSWORD} for a hall)", flush=True)
    try:
        uvicorn.Server(_config(db_path, {"staff_login": staff} if staff else None)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled; stopping is the point
        pass
    finally:
        sock.close()
    log.info("central platform at %s stopped", url)


class BackgroundServer:
    """The platform on a free port in a daemon thread, for ``with`` blocks.

    ``__enter__`` creates and seeds the database if it is empty, starts uvicorn, and returns only
    once GET /health answers 200 (or raises RuntimeError within STARTUP_TIMEOUT_S). ``__exit__``
    stops the server and waits for the thread. ``url``, ``seed_report`` and ``startup_seconds``
    are set while running. ``clock``, ``step_seconds`` and ``staff_login`` (the /fleet login,
    default the demo one) go to create_app.
    """

    def __init__(self, db_path: str | Path, host: str = "127.0.0.1", port: int = 0, *,
                 clock: Callable[[], float] | None = None, step_seconds: float | None = None,
                 staff_login: tuple[str, str] | None = None):
        self.db_path = _db(db_path)  # a SQLite path, or a database URL
        self.app_options = {k: v for k, v in (("clock", clock), ("step_seconds", step_seconds),
                                              ("staff_login", staff_login)) if v is not None}
        self.host, self.port = host, port
        self.url = ""
        self.seed_report: SeedReport | None = None
        self.startup_seconds = 0.0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._crash: BaseException | None = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("server already started")
        started = time.perf_counter()
        _, self.seed_report = _prepare(self.db_path)
        self._sock = _listen(self.host, self.port)
        self.url = _url(self._sock)
        self._server = uvicorn.Server(_config(self.db_path, self.app_options, loop="asyncio"))
        self._thread = threading.Thread(target=self._run, name="central-server", daemon=True)
        self._thread.start()
        try:
            self._wait_healthy(started + STARTUP_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - started
        log.info("central platform at %s (database %s, ready in %.2f s)", self.url, redact_url(self.db_path),
                 self.startup_seconds)

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # uvicorn exits with SystemExit on startup failure
            self._crash = exc

    def _wait_healthy(self, deadline: float) -> None:
        """Poll /health with http.client (no proxies, no retries of its own) until it answers."""
        host, port = self._sock.getsockname()[:2]
        last = "no answer"
        while time.perf_counter() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError(f"central server stopped during startup: {self._crash!r}")
            conn = http.client.HTTPConnection(host, port, timeout=1.0)
            try:
                conn.request("GET", "/health")
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
            except OSError as exc:
                last = repr(exc)
            finally:
                conn.close()
            time.sleep(0.02)
        raise RuntimeError(f"central server at {self.url} not healthy within {STARTUP_TIMEOUT_S} s: {last}")

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():  # open keep-alive connections or a stuck request
                server.force_exit = True
                thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():
                log.error("central server thread did not stop within %s s", 2 * STOP_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None
        log.info("central platform at %s stopped", self.url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m central.server",
                                     description="Run the reference central platform.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--db", default="var/central.db",
                        help="SQLite file, sqlite:///FILE or postgresql://... (seeded when empty)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(args.host, args.port, _db(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
