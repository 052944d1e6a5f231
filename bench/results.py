"""Machine-readable figures of a bench script, for `make bench` (bench/run.py) to collect.

Each script keeps printing its own tables; with ``--json OUT`` it also writes what it measured as
a list of figures, each beside the baseline measured in the same run (the ratio is what survives a
noisy machine), with its target and whether it is met.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

# The report's sections, in its order; the first eight are the figures issue #17 asks for.
STARTUP = "Start-up to the first frame"
TOUCH = "Touch → next screen drawn"
IDREAD = "ID card read"
CODES = "Codes read from pictures"
RECEIPTS = "Receipts and slips"
SEARCH = "Catalogue search"
QUALITY = "Search quality"
MEMORY = "Resident memory"
CATALOGUE_OTHER = "Guide sync and outbox"
SECTIONS = [STARTUP, TOUCH, IDREAD, CODES, RECEIPTS, SEARCH, QUALITY, MEMORY, CATALOGUE_OTHER]
REQUIRED = SECTIONS[:8]


class Figures:
    def __init__(self, script: str):
        self.script = script
        self.figures: list[dict] = []
        self.notes: list[dict] = []

    def add(self, section: str, name: str, value: float, unit: str, *, baseline: str = "",
            baseline_value: float | None = None, target: str = "", met: bool | None = None,
            faster: bool = False) -> dict:
        """``ratio`` is value / baseline_value, or with ``faster`` baseline_value / value (how many
        times faster than the baseline); ``met`` is None when the figure has no target."""
        ratio = None
        if baseline_value is not None and value is not None:
            num, den = (baseline_value, value) if faster else (value, baseline_value)
            ratio = num / den if den else None
        fig = {"section": section, "name": name, "value": _num(value), "unit": unit, "baseline": baseline,
               "baseline_value": _num(baseline_value), "ratio": _num(ratio), "faster": faster, "target": target,
               "met": met}
        self.figures.append(fig)
        return fig

    def note(self, section: str, text: str) -> None:
        self.notes.append({"section": section, "text": text})

    def write(self, path: str | Path | None) -> None:
        if path is None:
            return
        Path(path).write_text(json.dumps({"script": self.script, "figures": self.figures, "notes": self.notes},
                                         ensure_ascii=False, indent=1), "utf-8")


def _num(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


# Memory growth over 200 sessions. One sample after a session swings by ±10 MB with what its
# journeys left in caches that time out (bench/SOAK.md), against a 5 MB target: each end of the
# comparison is the median of the samples after WINDOW sessions in a row, each taken after the
# collection and trim the kiosk makes once a person has gone.
GROWTH_FROM, GROWTH_TO, WINDOW = 10, 200, 20


def window_median(samples: dict[int, float], first: int, width: int = WINDOW) -> float | None:
    """The median of the samples after sessions ``first`` … ``first + width - 1`` (those taken)."""
    xs = sorted(samples[n] for n in range(first, first + width) if n in samples)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def memory_growth(samples: dict[int, float], first: int = GROWTH_FROM, last: int = GROWTH_TO,
                  width: int = WINDOW) -> tuple[float, float] | None:
    """(median from session ``first``, median from session ``last``), or None if either is missing."""
    a, b = window_median(samples, first, width), window_median(samples, last, width)
    return None if a is None or b is None else (a, b)
