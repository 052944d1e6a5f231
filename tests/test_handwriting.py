"""Handwriting recognition (kiosk.handwriting): Zinnia with Debian's Simplified Chinese model."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kiosk.handwriting import MODEL_PACKAGE, HandwritingUnavailable, Recognizer

MEDIANS = json.loads((Path(__file__).parent / "fixtures" / "handwriting" / "medians.json").read_text())

# Hand-drawn on a 300 x 300 pad (y down), in stroke order and direction, as a finger would.
HAND = {
    "一": [[(40, 150), (150, 146), (260, 150)]],
    "十": [[(40, 140), (150, 137), (260, 140)], [(150, 30), (152, 160), (150, 280)]],
    # written small, as people do: filling the pad it reads as the enclosure 囗
    "口": [
        [(100, 100), (102, 150), (104, 200)],
        [(100, 100), (150, 98), (200, 100), (198, 150), (196, 200)],
        [(104, 196), (150, 197), (196, 196)],
    ],
    "日": [
        [(80, 40), (82, 150), (84, 270)],
        [(80, 40), (150, 38), (220, 40), (218, 150), (216, 270)],
        [(84, 152), (150, 150), (218, 152)],
        [(84, 265), (150, 265), (216, 265)],
    ],
    "大": [
        [(40, 110), (150, 105), (260, 110)],
        [(150, 30), (148, 130), (120, 200), (50, 275)],
        [(155, 140), (200, 210), (265, 270)],
    ],
}


@pytest.fixture(scope="module")
def recognizer():
    with Recognizer() as r:
        yield r


def top(recognizer, strokes, width, height, k=3):
    return [c for c, _ in recognizer.recognize(strokes, width, height, n=k)]


@pytest.mark.parametrize("char", ["结", "婚"])
def test_the_issue_example_is_recognised_first(recognizer, char):
    strokes = [[(x, 900 - y) for x, y in median] for median in MEDIANS[char]]
    result = recognizer.recognize(strokes, 1024, 1024, n=10)
    assert result[0][0] == char
    assert len(result) == 10
    assert [s for _, s in result] == sorted((s for _, s in result), reverse=True)


@pytest.mark.parametrize("char", list(HAND))
def test_hand_drawn_simple_characters_are_in_the_top_three(recognizer, char):
    assert char in top(recognizer, HAND[char], 300, 300)


def test_the_pad_size_does_not_matter(recognizer):
    scaled = [[(x * 2.5, y * 2.5) for x, y in s] for s in HAND["大"]]
    assert top(recognizer, scaled, 750, 750) == top(recognizer, HAND["大"], 300, 300)


def test_nothing_drawn_gives_no_candidates(recognizer):
    assert recognizer.recognize([], 300, 300) == []
    assert recognizer.recognize([[], []], 300, 300) == []
    assert recognizer.recognize(HAND["一"], 300, 300, n=0) == []


def test_garbage_coordinates_are_clamped_not_fatal(recognizer):
    garbage = [
        [(-1e12, 5), (1e300, -1e300), (float("nan"), 3), (float("inf"), 0), (7, 7)],
        [(150, 150)],
        [(2**40, 2**40), (0, 0)],
    ]
    result = recognizer.recognize(garbage, 300, 300)
    assert result and all(isinstance(c, str) and len(c) == 1 for c, _ in result)
    # an absurd pad size is bounded too, and a stroke that all lies off the pad still counts
    assert recognizer.recognize(garbage, 1e9, 0.0001)
    assert recognizer.recognize([[(-5, -5), (-9, -9)]], 300, 300)


def test_too_many_strokes_are_cut(recognizer):
    many = [[(i % 300, 10), (i % 300, 290)] for i in range(1000)]
    assert recognizer.recognize(many, 300, 300)


# Zinnia's own stroke splitting allocates 2**depth entries: before kiosk.handwriting simplified
# strokes itself, a 400-point spiral or a long scribble made it abort the whole process with
# bad_alloc. Run in a child under a 2 GiB address-space cap so a regression fails here instead of
# eating the machine or killing the test worker.
_WIGGLY = """
import math, resource
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from kiosk.handwriting import Recognizer
r = Recognizer()
spiral = [(500 + 480 * (1 - t / 400) * math.cos(t / 2), 500 + 480 * (1 - t / 400) * math.sin(t / 2))
          for t in range(400)]
scribble = [(i % 300, (i * 7) % 300) for i in range(100_000)]
print(len(r.recognize([spiral], 1000, 1000, 3)), len(r.recognize([scribble], 300, 300, 3)))
"""


def test_long_wiggly_strokes_do_not_exhaust_memory():
    run = subprocess.run([sys.executable, "-c", _WIGGLY], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-500:]
    assert run.stdout.split() == ["3", "3"]


def test_malformed_points_get_a_clear_error(recognizer):
    with pytest.raises(ValueError, match=r"\(x, y\)"):
        recognizer.recognize([[(1,)]], 300, 300)
    with pytest.raises(ValueError, match="pad size"):
        recognizer.recognize(HAND["一"], float("nan"), 300)


def test_a_missing_model_names_the_debian_package(tmp_path):
    with pytest.raises(HandwritingUnavailable, match=MODEL_PACKAGE):
        Recognizer(tmp_path / "absent.model")
    broken = tmp_path / "broken.model"
    broken.write_bytes(b"\0" * 64)
    with pytest.raises(HandwritingUnavailable, match=f"model file is broken; reinstall .*{MODEL_PACKAGE}"):
        Recognizer(broken)


def test_a_missing_library_names_the_debian_package():
    code = (
        "import ctypes.util, kiosk.handwriting as hw\n"
        "ctypes.util.find_library = lambda name: None\n"
        "hw.ctypes.CDLL = lambda name: (_ for _ in ()).throw(OSError(name + ': not found'))\n"
        "try:\n    hw.Recognizer()\nexcept hw.HandwritingUnavailable as e:\n    print(e)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "libzinnia0" in run.stdout, run.stderr[-500:]


def test_one_recognizer_serves_threads_and_closes_cleanly():
    r = Recognizer()
    results, errors = [], []

    def work(char):
        try:
            for _ in range(20):
                results.append((char, top(r, HAND[char], 300, 300, k=1)[0]))
        except Exception as exc:  # noqa: BLE001 - any failure in a thread must reach the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in ("日", "口", "大", "一")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    first = {c: top(r, HAND[c], 300, 300, k=1)[0] for c in ("日", "口", "大", "一")}
    assert all(got == first[c] for c, got in results)
    r.close()
    r.close()  # twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        r.recognize(HAND["一"], 300, 300)


def test_scores_are_finite(recognizer):
    assert all(math.isfinite(s) for _, s in recognizer.recognize(HAND["口"], 300, 300, n=100))
