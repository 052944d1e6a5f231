"""CameraEmulator: a camera that films what it is shown, as a Y4M stream into a FIFO.

What is emulated, and why: this machine (and CI) has no camera and no v4l2loopback module, so no
/dev/video* node can be made. The emulator therefore stands behind the driver's other real
interface, a Y4M stream in a FIFO (the format ffmpeg writes for an IP camera): the driver reads it
with the same code that serves a hall whose camera comes through ffmpeg. The V4L2 path (linuxpy)
is not exercised by these tests.

The camera films a light grey scene at ``fps``. ``show(image)`` holds a picture (a code on a phone)
in front of it until ``show(None)``; ``show(image, seconds=0.5)`` takes it away by itself;
``play(paths)`` shows pictures one after another. ``silent`` stops the frames with the stream
left open (a hung camera); ``send_garbage`` writes bytes between frames; ``close()`` ends the
stream (an unplugged camera: the driver reads end-of-stream).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import qrcode
from PIL import Image

from devices.imagecodes import to_grey

BACKGROUND = 200  # a light wall


def code_picture(data: bytes | str, box: int = 4) -> Image.Image:
    """A QR code as a phone shows it (black on white, quiet zone); bytes stay bytes (no ECI)."""
    qr = qrcode.QRCode(box_size=box, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data.encode() if isinstance(data, str) else data)
    return qr.make_image().get_image().convert("L")


class CameraEmulator:
    def __init__(self, size: tuple[int, int] = (320, 240), fps: int = 10, colour: str = "mono"):
        self.size, self.fps, self.colour = size, fps, colour
        self._dir = tempfile.mkdtemp(prefix="camera-")
        self.port = os.path.join(self._dir, "camera.y4m")
        os.mkfifo(self.port, 0o600)
        self.silent = False
        self._lock = threading.Lock()
        self._scene: Image.Image | None = None
        self._until = 0.0  # when a shown picture goes away by itself (0: held)
        self._playlist: list[tuple[Image.Image, float]] = []
        self._garbage = bytearray()
        self.frames_sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera-emulator", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ what the camera sees

    def show(self, image, seconds: float | None = None) -> None:
        """Hold ``image`` (PIL image, array, file bytes or path) in front of the camera, until
        ``show(None)`` or for ``seconds``."""
        picture = None if image is None else self._fit(to_grey(image))
        with self._lock:
            self._playlist.clear()
            self._scene = picture
            self._until = time.monotonic() + seconds if seconds else 0.0

    def play(self, paths: Iterable, seconds_each: float = 0.5) -> None:
        """Show each picture in turn for ``seconds_each``, then the empty scene."""
        pictures = [(self._fit(to_grey(p)), seconds_each) for p in paths]
        with self._lock:
            self._scene, self._until = None, 0.0
            self._playlist = pictures

    def send_garbage(self, data: bytes) -> None:
        with self._lock:
            self._garbage += data

    def _fit(self, picture: Image.Image) -> Image.Image:
        w, h = self.size
        if picture.width > w or picture.height > h:
            picture = picture.copy()
            picture.thumbnail((w, h), Image.NEAREST)
        return picture

    def _frame(self) -> bytes:
        now = time.monotonic()
        with self._lock:
            if self._until and now >= self._until:
                self._scene, self._until = None, 0.0
            if self._scene is None and self._playlist:
                picture, seconds = self._playlist.pop(0)
                self._scene, self._until = picture, now + seconds
            scene = self._scene
        img = Image.new("L", self.size, BACKGROUND)
        if scene is not None:
            img.paste(scene, ((self.size[0] - scene.width) // 2, (self.size[1] - scene.height) // 2))
        w, h = self.size
        chroma = 0 if self.colour == "mono" else 2 * ((w + 1) // 2) * ((h + 1) // 2)
        return b"FRAME\n" + img.tobytes() + b"\x80" * chroma

    # ------------------------------------------------------------ the stream

    def _run(self) -> None:
        while not self._stop.is_set():
            fd = self._connect()
            if fd is None:
                return
            try:
                w, h = self.size
                self._write(fd, f"YUV4MPEG2 W{w} H{h} F{self.fps}:1 Ip A1:1 C{self.colour}\n".encode())
                next_at = time.monotonic()
                while not self._stop.is_set():
                    with self._lock:
                        junk, self._garbage = bytes(self._garbage), bytearray()
                    if junk:
                        self._write(fd, junk)
                    if not self.silent:
                        self._write(fd, self._frame())
                        self.frames_sent += 1
                    next_at += 1 / self.fps
                    self._stop.wait(max(0.0, next_at - time.monotonic()))
            except (BrokenPipeError, TimeoutError):
                pass  # the driver closed its end: wait for it to open again, as a camera would
            finally:
                os.close(fd)

    def _connect(self) -> int | None:
        """Open the FIFO for writing once a reader has it open (ENXIO until then)."""
        while not self._stop.is_set():
            try:
                return os.open(self.port, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno not in (errno.ENXIO, errno.ENOENT):
                    raise
            self._stop.wait(0.02)
        return None

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._stop.is_set():
                raise TimeoutError
            if select.select([], [fd], [], 0.1)[1]:
                try:
                    view = view[os.write(fd, view):]
                except BlockingIOError:
                    continue

    def close(self) -> None:
        """End the stream and remove the FIFO: the camera is unplugged."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2)
        with contextlib.suppress(OSError):
            shutil.rmtree(self._dir)

    def __enter__(self) -> CameraEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def picture_files(folder: Path, codes: Iterable[bytes | str]) -> list[Path]:
    """PNG files of the given codes, for ``play`` (as files a hall's staff would have)."""
    paths = []
    for i, data in enumerate(codes):
        path = Path(folder) / f"code-{i}.png"
        code_picture(data).save(path)
        paths.append(path)
    return paths
