"""Where a camera scanner's frames come from: a V4L2 camera (through linuxpy), or a Y4M stream.

Both give the newest grey frame (8-bit luma, a PIL "L" image) or None when none arrived in time;
older frames are dropped, because a code is read from what the camera sees now. Both raise
``SourceGone`` when the source vanished (camera unplugged, stream ended).

Y4M (YUV4MPEG2) is the plain uncompressed stream format of ffmpeg, mpv and GStreamer: a header
line ``YUV4MPEG2 W640 H480 F10:1 Cmono``, then ``FRAME\\n`` + the planes, luma first. It comes
from a FIFO or a file: an IP camera or a test pattern piped through ffmpeg
(``ffmpeg -i rtsp://... -pix_fmt gray -f yuv4mpegpipe /run/kiosk/camera.y4m``), a recording, or
the emulator (drivers/camera/emulator.py). Only the luma plane is read.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import select
import stat
import time

from PIL import Image

MAGIC = b"YUV4MPEG2 "
FRAME = b"FRAME"
MAX_SIDE = 8192
MAX_HEADER = 1024  # a header or FRAME line longer than this is not Y4M
# Chroma bytes per frame for each 8-bit colour space, from width and height (4:2:0 rounds up).
_CHROMA = {
    "mono": lambda w, h: 0,
    "420": lambda w, h: 2 * ((w + 1) // 2) * ((h + 1) // 2),
    "422": lambda w, h: 2 * ((w + 1) // 2) * h,
    "444": lambda w, h: 2 * w * h,
}


class SourceGone(Exception):
    """The frames' source is not there (unplugged, no such path, stream ended)."""


class SourceError(Exception):
    """The source is there but its frames cannot be read (unsupported format)."""


class Y4MSource:
    """Frames from a Y4M stream in a FIFO (or a file, read at one frame per ``read``)."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None
        self._buf = bytearray()
        self._is_file = False
        self.size: tuple[int, int] | None = None
        self._frame_len = 0  # luma + chroma bytes after a FRAME line
        self.skipped = 0  # bytes that were not Y4M, since the last look (for a "garbled" report)
        self._synced = False  # a header or frame was found since open()

    def open(self) -> None:
        self.close()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO with no writer yet: no wait
        except OSError as exc:
            raise SourceGone(f"cannot open {self.path}: {exc.strerror}") from exc
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            os.close(fd)
            raise SourceError(f"{self.path} is not a FIFO or a file")
        self._fd, self._is_file = fd, stat.S_ISREG(mode)

    def close(self) -> None:
        # The stream's size is kept: a writer that did not notice us reopening goes on mid-stream,
        # without a new header (ffmpeg into a FIFO does).
        fd, self._fd = self._fd, None
        self._buf.clear()
        self._synced = False
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def read(self, timeout: float) -> Image.Image | None:
        if self._fd is None:
            raise SourceGone("stream not open")
        deadline = time.monotonic() + timeout
        newest = None
        while True:
            frame = self._parse()
            while frame is not None:
                newest = frame
                frame = None if self._is_file else self._parse()
            if newest is not None and (self._is_file or not self._waiting(0)):
                return newest
            if newest is None and not self._waiting(max(0.0, deadline - time.monotonic())):
                return None
            try:
                chunk = os.read(self._fd, max(65536, 2 * self._frame_len))
            except BlockingIOError:
                continue
            except OSError as exc:
                raise SourceGone(f"{self.path}: {exc.strerror}") from exc
            if not chunk:
                raise SourceGone(f"{self.path}: the stream ended")
            self._buf += chunk

    def _waiting(self, timeout: float) -> bool:
        return bool(select.select([self._fd], [], [], timeout)[0])

    def _parse(self) -> Image.Image | None:
        """The next whole frame in the buffer, or None; junk before a header or FRAME is skipped."""
        header = self._buf.find(MAGIC)
        if self.size is None or 0 <= header < max(0, self._buf.find(FRAME)):
            line = self._line(MAGIC)
            if line is None:
                return None
            self._header(line)
            self._synced = True
        line = self._line(FRAME)
        if line is None:
            return None
        if len(self._buf) < self._frame_len:
            self._buf[:0] = line + b"\n"  # not all there yet: put the FRAME line back
            return None
        self._synced = True
        w, h = self.size
        luma = bytes(self._buf[:w * h])
        del self._buf[:self._frame_len]
        return Image.frombuffer("L", (w, h), luma, "raw", "L", 0, 1)

    def _line(self, tag: bytes) -> bytes | None:
        """Take one line starting with ``tag`` off the buffer; skip whatever comes before it."""
        start = self._buf.find(tag)
        if start < 0:
            keep = len(tag) - 1  # the tag may be cut at the end of the buffer
            self._skip(max(0, len(self._buf) - keep))
            return None
        self._skip(start)
        end = self._buf.find(b"\n", 0, MAX_HEADER)
        if end < 0:
            if len(self._buf) >= MAX_HEADER:
                self._skip(len(tag))  # no line end: not a real tag, look further on
            return None
        line = bytes(self._buf[:end])
        del self._buf[:end + 1]
        return line

    def _skip(self, n: int) -> None:
        if n:
            if self._synced:  # the rest of a frame before the first sync after open is no junk
                self.skipped += n
            del self._buf[:n]

    def _header(self, line: bytes) -> None:
        fields = {p[:1]: p[1:] for p in line.split()[1:]}
        try:
            w, h = int(fields[b"W"]), int(fields[b"H"])
        except (KeyError, ValueError) as exc:
            raise SourceError(f"{self.path}: a Y4M header without width and height") from exc
        colour = fields.get(b"C", b"420").decode("ascii", "replace")
        space = next((k for k in _CHROMA if colour == k or colour.startswith(k) and
                      colour[len(k):] in ("jpeg", "paldv", "mpeg2", "")), None)
        if space is None or not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
            raise SourceError(f"{self.path}: unsupported Y4M stream {w}x{h} C{colour} "
                              "(8-bit mono, 420, 422 or 444)")
        self.size = (w, h)
        self._frame_len = w * h + _CHROMA[space](w, h)


class V4L2Source:
    """Frames from a V4L2 camera through linuxpy: GREY, YUYV (luma is every other byte) or MJPEG
    (decoded with Pillow, which draft-decodes the luma only)."""

    PREFERRED = ("GREY", "YUYV", "MJPEG")

    def __init__(self, path: str, width: int, height: int, fps: int):
        self.path, self.width, self.height, self.fps = path, width, height, fps
        self._device = None
        self._capture = None
        self._format = ""
        self.skipped = 0

    def open(self) -> None:
        from linuxpy.video.device import Device, PixelFormat, VideoCapture

        self.close()
        if not os.path.exists(self.path):
            raise SourceGone(f"no camera at {self.path}")
        try:
            device = Device(self.path)
            device.open()
        except OSError as exc:
            raise SourceGone(f"cannot open {self.path}: {exc.strerror or exc}") from exc
        self._device = device
        try:
            offered = {PixelFormat(f.pixel_format).name for f in device.info.formats}
            self._format = next((f for f in self.PREFERRED if f in offered), "")
            if not self._format:
                raise SourceError(f"{self.path} offers none of {', '.join(self.PREFERRED)} "
                                  f"(it offers {', '.join(sorted(offered)) or 'nothing'})")
            capture = VideoCapture(device)
            capture.set_format(self.width, self.height, self._format)
            capture.set_fps(self.fps)
            capture.open()
            self._capture = capture
        except OSError as exc:
            self.close()
            if exc.errno == errno.ENOTTY:  # it answers no V4L2 ioctl: a wrong path, not a gone camera
                raise SourceError(f"{self.path} is not a V4L2 camera") from exc
            raise SourceGone(f"{self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        capture, device, self._capture, self._device = self._capture, self._device, None, None
        for closing in (capture, device):
            if closing is not None:
                with contextlib.suppress(Exception):  # an unplugged camera fails every ioctl
                    closing.close()

    def read(self, timeout: float) -> Image.Image | None:
        if self._capture is None:
            raise SourceGone("camera not open")
        newest = None
        try:
            while select.select([self._device], [], [], 0 if newest else timeout)[0]:
                newest = self._capture.buffer.raw_read()
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.EIO, errno.ENXIO, errno.EBADF):
                raise SourceGone(f"{self.path}: {exc.strerror}") from exc
            raise
        return None if newest is None else self._grey(newest)

    def _grey(self, frame) -> Image.Image | None:
        w, h, data = frame.width, frame.height, bytes(frame.data)
        if self._format == "GREY":
            return Image.frombuffer("L", (w, h), data[:w * h], "raw", "L", 0, 1)
        if self._format == "YUYV":
            return Image.frombuffer("L", (w, h), data[0:2 * w * h:2], "raw", "L", 0, 1)
        try:
            img = Image.open(io.BytesIO(data))
            img.draft("L", (w, h))
            return img.convert("L")
        except Exception:  # a torn MJPEG frame (USB hiccup): drop it, the next one comes
            self.skipped += len(data)
            return None


def open_source(kind: str, path: str, width: int, height: int, fps: int):
    return Y4MSource(path) if kind == "y4m" else V4L2Source(path, width, height, fps)
