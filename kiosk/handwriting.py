"""Handwritten Chinese character recognition for the touchscreen pad (issue #15).

What: the pad hands us the strokes a person drew (lists of (x, y) points in pad coordinates, y
down); ``Recognizer.recognize`` returns the likeliest characters with their scores, best first,
for the same candidate bar the pinyin input fills.

Why Zinnia: it is a small C library (online recognition from stroke order and direction, an SVM
per character), packaged in Debian with a ready Simplified Chinese model, runs in a few
milliseconds on the kiosk's CPU with no GPU, network or Python dependency. We bind its C API with
ctypes (Debian ships no Python binding for it).

Where the parts come from (Debian packages, installed by ``make setup``):
- ``libzinnia0``: the library (BSD-3-Clause, Taku Kudo).
- ``tegaki-zinnia-simplified-chinese``: the model, ``/usr/share/tegaki/models/zinnia/
  handwriting-zh_CN.model``, trained by the Tegaki project on real handwriting; LGPL-2.1+
  (Mathieu Blondel; /usr/share/doc/tegaki-zinnia-simplified-chinese/copyright). We only read it.

Threads: one ``Recognizer`` may be shared; an internal lock serialises ``recognize`` and
``close`` (a classification takes milliseconds, and closing under a running one would free the
model it reads). The model (26 MB) is memory-mapped, so a second recognizer costs little.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import threading
from collections.abc import Sequence
from pathlib import Path

LIBRARY_PACKAGE = "libzinnia0"
MODEL_PACKAGE = "tegaki-zinnia-simplified-chinese"
DEFAULT_MODEL = Path("/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model")

# Bounds on what a pad can hand us. The most complex characters in use have about 30 strokes;
# anything beyond these is a stuck finger or a bug, and is cut rather than refused.
MAX_STROKES = 64
MAX_POINTS = 2000  # per stroke, before simplification
MAX_SIDE = 4096  # pad width/height in pixels; a kiosk pad is far smaller, so larger is clamped
MAX_CANDIDATES = 100

# Zinnia describes a stroke by splitting it recursively at the point farthest from the chord
# while that point's squared distance (in coordinates normalised to the pad) exceeds 0.001, and
# uses only the first 51 segments (five levels) as features. It stores segment i's children at
# 2i+1 and 2i+2 in a vector it resizes to fit, so a long wiggly stroke that splits deeply makes it
# allocate 2**depth entries: a scribble of a few hundred points can exhaust memory. We therefore
# do those five levels here, with the same rule, and hand Zinnia only the points they chose: the
# features come out the same and its recursion stops one level further down.
_SPLIT_ERROR = 0.001
_SPLIT_LEVELS = 5


class HandwritingUnavailable(RuntimeError):
    """The Zinnia library or its model is missing or unreadable; the message names the package."""


def _load_library() -> ctypes.CDLL:
    name = ctypes.util.find_library("zinnia") or "libzinnia.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise HandwritingUnavailable(
            f"handwriting recognition needs the Zinnia library: install the Debian package "
            f"{LIBRARY_PACKAGE} ({exc})"
        ) from None
    p, size, cstr = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p
    for fname, restype, argtypes in (
        ("zinnia_recognizer_new", p, []),
        ("zinnia_recognizer_destroy", None, [p]),
        ("zinnia_recognizer_open", ctypes.c_int, [p, cstr]),
        ("zinnia_recognizer_strerror", cstr, [p]),
        ("zinnia_recognizer_classify", p, [p, p, size]),
        ("zinnia_character_new", p, []),
        ("zinnia_character_destroy", None, [p]),
        ("zinnia_character_set_width", None, [p, size]),
        ("zinnia_character_set_height", None, [p, size]),
        ("zinnia_character_add", ctypes.c_int, [p, size, ctypes.c_int, ctypes.c_int]),
        ("zinnia_result_value", cstr, [p, size]),
        ("zinnia_result_score", ctypes.c_float, [p, size]),
        ("zinnia_result_size", size, [p]),
        ("zinnia_result_destroy", None, [p]),
    ):
        fn = getattr(lib, fname)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _library() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            _lib = _load_library()
        return _lib


class Recognizer:
    """A loaded Zinnia model. Use as a context manager or call ``close``; ``recognize`` is
    thread-safe (see the module docstring)."""

    def __init__(self, model_path: str | Path | None = None):
        path = Path(model_path) if model_path is not None else DEFAULT_MODEL
        if not path.is_file():
            hint = (
                f"install the Debian package {MODEL_PACKAGE}"
                if model_path is None
                else (f"the default model comes with the Debian package {MODEL_PACKAGE}")
            )
            raise HandwritingUnavailable(f"no handwriting model at {path}: {hint}")
        self._lib = _library()
        self._lock = threading.Lock()
        self._handle = self._lib.zinnia_recognizer_new()
        if not self._handle:
            raise MemoryError("zinnia_recognizer_new failed")
        if not self._lib.zinnia_recognizer_open(self._handle, str(path).encode()):
            why = (self._lib.zinnia_recognizer_strerror(self._handle) or b"").decode("utf-8", "replace")
            why = why.rpartition("] ")[2]  # drop Zinnia's "file.cpp(line) [condition]" prefix
            self._lib.zinnia_recognizer_destroy(self._handle)
            self._handle = None
            raise HandwritingUnavailable(
                f"cannot read the handwriting model {path}: {why}; reinstall the Debian "
                f"package {MODEL_PACKAGE}"
            )
        self.model_path = path

    def recognize(
        self,
        strokes: Sequence[Sequence[Sequence[float]]],
        width: float,
        height: float,
        n: int = 10,
    ) -> list[tuple[str, float]]:
        """The ``n`` likeliest characters for ``strokes`` drawn on a ``width`` x ``height`` pad,
        best first, as (character, score); higher scores are likelier, and are comparable only
        within one call. No (usable) strokes give an empty list."""
        w = _side(width)
        h = _side(height)
        n = max(0, min(int(n), MAX_CANDIDATES))
        cleaned = [s for s in (_clean(stroke, w, h) for stroke in strokes[:MAX_STROKES]) if s]
        if not cleaned or n == 0:
            return []
        lib = self._lib
        char = lib.zinnia_character_new()
        if not char:
            raise MemoryError("zinnia_character_new failed")
        try:
            lib.zinnia_character_set_width(char, w)
            lib.zinnia_character_set_height(char, h)
            for sid, points in enumerate(cleaned):
                for x, y in points:
                    lib.zinnia_character_add(char, sid, x, y)
            with self._lock:
                if self._handle is None:
                    raise RuntimeError("recognizer is closed")
                result = lib.zinnia_recognizer_classify(self._handle, char, n)
                if not result:
                    return []
                try:
                    return [
                        (
                            lib.zinnia_result_value(result, i).decode("utf-8"),
                            float(lib.zinnia_result_score(result, i)),
                        )
                        for i in range(lib.zinnia_result_size(result))
                    ]
                finally:
                    lib.zinnia_result_destroy(result)
        finally:
            lib.zinnia_character_destroy(char)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._lib.zinnia_recognizer_destroy(self._handle)
                self._handle = None

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.close()


def _side(value: float) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"pad size must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"pad size must be finite, got {value!r}")
    return max(1, min(int(v), MAX_SIDE))


def _clean(stroke: Sequence[Sequence[float]], w: int, h: int) -> list[tuple[int, int]]:
    """The stroke's points as integers inside the pad (non-finite ones dropped), at most
    MAX_POINTS evenly picked, then reduced to the ones Zinnia's features use."""
    points = []
    for point in stroke:
        try:
            x, y = float(point[0]), float(point[1])
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"a stroke point must be (x, y) numbers, got {point!r}") from None
        if math.isfinite(x) and math.isfinite(y):
            points.append((min(max(round(x), 0), w), min(max(round(y), 0), h)))
    if len(points) > MAX_POINTS:
        step = (len(points) - 1) / (MAX_POINTS - 1)
        points = [points[round(i * step)] for i in range(MAX_POINTS)]
    return _simplify(points, w, h)


def _simplify(points: list[tuple[int, int]], w: int, h: int) -> list[tuple[int, int]]:
    if len(points) <= 2:
        return points
    keep = {0, len(points) - 1}

    def split(first: int, last: int, level: int) -> None:
        if level >= _SPLIT_LEVELS or last - first < 2:
            return
        fx, fy = points[first][0] / w, points[first][1] / h
        lx, ly = points[last][0] / w, points[last][1] / h
        a, b, c = lx - fx, ly - fy, ly * fx - lx * fy
        best, far = first, -1.0
        for i in range(first + 1, last):
            d = abs(a * points[i][1] / h - b * points[i][0] / w + c)
            if d > far:
                best, far = i, d
        # A stroke ending where it began has chord 0 and every distance 0: no split, as in Zinnia.
        if far > 0 and far * far / (a * a + b * b) > _SPLIT_ERROR:
            keep.add(best)
            split(first, best, level + 1)
            split(best, last, level + 1)

    split(0, len(points) - 1, 0)
    return [points[i] for i in sorted(keep)]
