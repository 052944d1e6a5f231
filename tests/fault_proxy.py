"""A small threaded HTTP/1.1 fault proxy on 127.0.0.1 for tests: one request per connection,
forwarded to the real server, with the answer damaged in one of several ways.

Modes: ``pass``; ``drop`` (close before forwarding); ``drop_after`` (forward, then close without
answering: the server did the work, the client never hears); ``delay`` (answer after ``delay_s``);
``error500`` (forward, then answer 500); ``malformed`` (forward, then send broken JSON with the
real status); ``cut`` (forward, then send half the body and close); ``page404`` (answer a
proxy's own HTML 404 page without forwarding, as a reverse proxy does during a deploy).
"""

from __future__ import annotations

import itertools
import socket
import threading
import time

MODES = ("pass", "drop", "drop_after", "delay", "error500", "malformed", "cut", "page404")
PAGE_404 = b"<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>"


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


class FaultProxy:
    def __init__(self, upstream: str, modes: list[str], delay_s: float = 1.0):
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self.upstream = (host, int(port))
        self._modes = itertools.cycle(modes)
        self._lock = threading.Lock()
        self.delay_s = delay_s
        self.seen: dict[str, int] = {m: 0 for m in MODES}
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set_modes(self, modes: list[str]) -> None:
        """From the next connection on, cycle through ``modes`` instead (the soak changes them)."""
        with self._lock:
            self._modes = itertools.cycle(modes)

    def close(self) -> None:
        self._stop = True
        self._sock.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                mode = next(self._modes)
                self.seen[mode] += 1
            threading.Thread(target=self._serve, args=(conn, mode), daemon=True).start()

    def _serve(self, conn: socket.socket, mode: str) -> None:
        with conn:
            try:
                request = _read_request(conn)
                if request is None or mode == "drop":
                    return
                if mode == "page404":
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: "
                                 + str(len(PAGE_404)).encode() + b"\r\n\r\n" + PAGE_404)
                    return
                with socket.create_connection(self.upstream, timeout=10) as up:
                    up.sendall(request)
                    answer = b""
                    while chunk := up.recv(65536):
                        answer += chunk
                head, _, body = answer.partition(b"\r\n\r\n")
                if mode == "drop_after":
                    return
                if mode == "delay":
                    time.sleep(self.delay_s)
                elif mode == "error500":
                    body = b'{"error": {"code": "internal", "message": "proxy says 500", "zh": ""}}'
                    head = (b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n"
                            b"content-length: " + str(len(body)).encode())
                elif mode == "malformed":
                    body = b'{"case_no": "GA1", "oops'
                    head = b"\r\n".join(ln for ln in head.split(b"\r\n")
                                        if not ln.lower().startswith(b"content-length"))
                    head += b"\r\ncontent-length: " + str(len(body)).encode()
                elif mode == "cut":
                    conn.sendall(head + b"\r\n\r\n" + body[:len(body) // 2])
                    return
                conn.sendall(head + b"\r\n\r\n" + body)
            except OSError:
                pass
