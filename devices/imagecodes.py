"""Codes read from pictures: camera frames, image files, arrays (spec §E).

zxing-cpp reads first: its ``.bytes`` are the code's exact bytes (its ``.text`` is not used: it
guesses only ISO-8859-1, UTF-8 and Shift_JIS, so a GBK code without ECI becomes Latin-1 mojibake);
the text is ``devices.codes.payload_text`` as for every scanner. pyzbar is a fallback engine, asked
only when zxing-cpp finds nothing, and distrusted twice over:

- zbar guesses a character set and hands back its UTF-8 re-encoding, so any byte >= 0x80 may not be
  the code's. A pyzbar result is accepted only when all its bytes are ASCII: every character set
  zbar may assume maps a byte >= 0x80 (and Shift_JIS's 0x5C, read as ¥) to a character outside
  ASCII, so ASCII out means the bytes round-trip unchanged. Anything else is refused, never guessed
  back.
- zbar's C code has asserts that abort the whole process on some codes (pyzbar #143, #158, zbar
  #315); pyzbar 0.1.9 itself raises ValueError on a structured-append code (an orientation of
  0xFFFFFFFF it cannot name; measured with libzbar 0.23.92). A kiosk must not die because someone
  holds up a crafted code, so pyzbar runs in a child process of its own (``python -m
  devices.imagecodes --zbar-worker``), restarted after it dies or hangs.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from devices.codes import MAX_CODE_BYTES, payload_text

log = logging.getLogger("kiosk.devices.imagecodes")

ENGINES = ("zxing-cpp", "pyzbar")
# What a hall is shown: QR codes (phones, e-licences, appointment slips). Each format costs time on
# every frame: all of zxing-cpp's formats take 12-15x the time of these two (bench/README.md).
DEFAULT_FORMATS = ("QRCode", "MicroQRCode")
MAX_PIXELS = 40_000_000  # an 8K photo is 33 Mpx; more is a decompression bomb, not a picture
ZBAR_TIMEOUT = 5.0  # s for the pyzbar child to answer one image before it is killed

# zbar's symbol names → zxing-cpp's format names, so ``symbology`` is one vocabulary.
_ZBAR_NAMES = {"QRCODE": "QRCode", "CODE128": "Code128", "EAN13": "EAN13", "EAN8": "EAN8",
               "UPCA": "UPCA", "UPCE": "UPCE", "CODE39": "Code39", "CODE93": "Code93", "I25": "ITF",
               "CODABAR": "Codabar", "DATABAR": "DataBar", "DATABAR_EXP": "DataBarExp",
               "PDF417": "PDF417"}


class ImageError(ValueError):
    """The input is not a picture that can be read (one line, for staff)."""


class EngineError(RuntimeError):
    """A decoding engine failed on this picture (crashed, hung, raised)."""


@dataclass(frozen=True)
class CodeResult:
    data: bytes  # the code's exact bytes
    text: str  # payload_text(data): "" for binary
    symbology: str  # zxing-cpp's format name: "QRCode", "MicroQRCode", "Code128"...
    engine: str  # which engine read it


def decode(image: Any, engines: Sequence[str] = ENGINES,
           formats: Iterable[str] = DEFAULT_FORMATS) -> list[CodeResult]:
    """Every code in ``image``: a PIL image, a numpy-style array (grey HxW, RGB/RGBA HxWx3/4,
    uint8), the bytes of an image file, or a path. The first engine that finds something answers;
    the next is asked only when it found nothing. Raises ImageError for input that is no picture."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise ValueError(f"unknown engine {unknown[0]!r} (known: {', '.join(ENGINES)})")
    formats = check_formats(formats)
    grey = to_grey(image)
    for engine in engines:
        try:
            found = read_zxing(grey, formats) if engine == "zxing-cpp" else read_pyzbar(grey, formats)
        except EngineError as exc:
            log.warning("%s failed on a %dx%d picture: %s", engine, *grey.size, exc)
            continue
        if found:
            return found
    return []


def to_grey(image: Any) -> Image.Image:
    """``image`` as an 8-bit grey PIL image; ImageError when it is not a readable picture."""
    if isinstance(image, str | os.PathLike):
        try:
            with open(image, "rb") as f:
                image = f.read()
        except OSError as exc:
            raise ImageError(f"cannot read {os.fspath(image)}: {exc.strerror or exc}") from exc
    if isinstance(image, bytes | bytearray | memoryview):
        image = _open_encoded(bytes(image))
    elif hasattr(image, "__array_interface__") and not isinstance(image, Image.Image):
        if image.__array_interface__.get("typestr") != "|u1":  # floats 0..1 would turn black
            raise ImageError(f"not an image array (need uint8 HxW, HxWx3 or HxWx4): "
                             f"{image.__array_interface__.get('typestr')}")
        try:
            image = Image.fromarray(image)
        except (TypeError, ValueError) as exc:
            raise ImageError(f"not an image array (need uint8 HxW, HxWx3 or HxWx4): {exc}") from exc
    if not isinstance(image, Image.Image):
        raise ImageError(f"not an image: {type(image).__name__}")
    if image.width * image.height > MAX_PIXELS:
        raise ImageError(f"image too large: {image.width}x{image.height}")
    if image.mode == "L":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # A transparent background is paper, not black: a QR PNG often has one.
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image.convert("L")


def _open_encoded(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ImageError(f"image too large: {img.width}x{img.height}")
        img.load()
    except ImageError:
        raise
    except Exception as exc:  # Pillow raises many kinds for broken files; all mean "not a picture"
        what = "not a recognised image format" if isinstance(exc, Image.UnidentifiedImageError) else \
            f"{type(exc).__name__}: {exc}"
        raise ImageError(f"not a readable image ({len(data)} bytes): {what}") from exc
    return img


# ---------------------------------------------------------------- zxing-cpp


def read_zxing(grey: Image.Image, formats: Iterable[str] = DEFAULT_FORMATS) -> list[CodeResult]:
    import zxingcpp

    wanted = _zxing_formats(tuple(formats))
    out = []
    for r in zxingcpp.read_barcodes(grey, formats=wanted):
        if r.valid:
            _add(out, r.bytes, r.format.name, "zxing-cpp")
    return out


def _zxing_formats(formats: tuple[str, ...]):
    import zxingcpp

    try:
        return zxingcpp.barcode_formats_from_str(",".join(formats))
    except ValueError as exc:
        raise ValueError(f"unknown code format in {', '.join(formats)}: {exc}") from exc


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """``formats`` if zxing-cpp knows every name (for option schemas); else ValueError."""
    formats = tuple(formats)
    if formats:
        _zxing_formats(formats)
    return formats


def _add(out: list[CodeResult], data: bytes, symbology: str, engine: str) -> None:
    if not data or len(data) > MAX_CODE_BYTES:
        return  # nothing, or noise longer than any QR code holds
    out.append(CodeResult(data=data, text=payload_text(data), symbology=symbology, engine=engine))


# ---------------------------------------------------------------- pyzbar, in a child process


def read_pyzbar(grey: Image.Image, formats: Iterable[str] = DEFAULT_FORMATS) -> list[CodeResult]:
    """pyzbar's results that are certainly the code's bytes (ASCII only, see the module doc).
    EngineError when the child crashed, hung or raised."""
    symbols = [z for z, name in _ZBAR_NAMES.items() if name in set(formats)]
    if not symbols:
        return []
    out: list[CodeResult] = []
    for data, kind in _ZBAR.decode(grey, symbols):
        if max(data, default=0) >= 0x80:
            log.info("pyzbar result refused: %d bytes with non-ASCII (zbar re-encodes them)", len(data))
            continue
        _add(out, data, _ZBAR_NAMES.get(kind, kind), "pyzbar")
    return out


class _ZbarChild:
    """One long-lived ``--zbar-worker`` process; one image at a time; restarted when it dies.

    Request: 4-byte length + JSON header {w, h, symbols}, then w*h grey bytes. Answer: one JSON
    line, {"codes": [[hex, type], ...]} or {"error": "..."}.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def decode(self, grey: Image.Image, symbols: list[str]) -> list[tuple[bytes, str]]:
        header = json.dumps({"w": grey.width, "h": grey.height, "symbols": symbols}).encode()
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            deadline = time.monotonic() + ZBAR_TIMEOUT
            line, ended = b"", False
            try:
                _write_all(proc.stdin.fileno(), struct.pack("<I", len(header)) + header + grey.tobytes(),
                           deadline)
                ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
                if ready:
                    line = proc.stdout.readline()
                    ended = not line
            except TimeoutError:  # hung mid-read
                pass
            except OSError:  # gone (EPIPE)
                ended = True
            if ended:  # its pipe closes while it exits, a moment before its exit status is there
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=1.0)
            if not line:
                why = f"no answer within {ZBAR_TIMEOUT:.1f} s" if proc.poll() is None else _died(proc)
                self.stop()
                raise EngineError(f"pyzbar worker: {why}; a new one starts for the next picture")
        answer = json.loads(line)
        if "error" in answer:
            raise EngineError(f"pyzbar: {answer['error']}")
        return [(bytes.fromhex(h), kind) for h, kind in answer["codes"]]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "devices.imagecodes", "--zbar-worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            os.set_blocking(self._proc.stdin.fileno(), False)
        return self._proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write everything to a non-blocking pipe by ``deadline`` (a stopped child must not hang us)."""
    view = memoryview(data)
    while view:
        _, ready, _ = select.select([], [fd], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError
        view = view[os.write(fd, view):]


def _died(proc: subprocess.Popen) -> str:
    code = proc.wait()
    if code < 0:
        import signal

        return f"died of {signal.Signals(-code).name}"
    return f"exited with {code}"


_ZBAR = _ZbarChild()
atexit.register(_ZBAR.stop)


def _zbar_worker() -> None:
    """The child's loop: read an image, answer one line; any Python error is answered, not fatal."""
    from pyzbar import pyzbar

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        size = stdin.read(4)
        if len(size) < 4:
            return
        header = json.loads(stdin.read(struct.unpack("<I", size)[0]))
        w, h = header["w"], header["h"]
        pixels = stdin.read(w * h)
        try:
            symbols = [pyzbar.ZBarSymbol[s] for s in header["symbols"]]
            found = pyzbar.decode((pixels, w, h), symbols=symbols)
            answer: dict[str, Any] = {"codes": [[d.data.hex(), d.type] for d in found]}
        except Exception as exc:  # pyzbar 0.1.9 raises ValueError on structured-append codes
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(answer).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__" and sys.argv[1:] == ["--zbar-worker"]:
    _zbar_worker()
