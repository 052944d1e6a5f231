"""Bytes and rendering time of every slip, in Chinese mode and as full raster, and its serial time.

Serial time is arithmetic: bytes × 10 bits / 115200 baud (8N1). Baseline, measured in the same run:
python-escpos 3.1 printing the same lines with ``text()`` and a native ``qr()`` into its Dummy
printer, i.e. what the stock library would send (it loses punctuation and the rare name, so it is
a yardstick for size and speed, not a correct slip). Targets: 80 mm receipt in Chinese mode
≤ 2 kB; every document rendered in ≤ 50 ms.

Run: .venv/bin/python bench/print_bench.py [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.printdoc import Cut, QRCode  # noqa: E402
from drivers.escpos.driver import EscposPrinter  # noqa: E402
from kiosk import print_cli  # noqa: E402
from kiosk.i18n import Translator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import RECEIPTS, Figures  # noqa: E402

BAUD = 115200
RUNS = 15


def timed(fn) -> tuple[float, float, bytes]:
    """(first call ms, median of the next RUNS calls ms, the bytes)."""
    t0 = time.perf_counter()
    data = fn()
    first = (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return first, statistics.median(times), data


def escpos_baseline(doc) -> bytes:
    from escpos.printer import Dummy

    p = Dummy()
    with contextlib.redirect_stdout(io.StringIO()):
        for line in doc.text_lines():
            p.text(line + "\n")
        for el in doc.elements:
            if isinstance(el, QRCode):
                p.qr(el.data, size=el.size, native=True)
            elif isinstance(el, Cut):
                p.cut()
    return p.output


def driver(width: int, chinese: bool) -> EscposPrinter:
    opts = EscposPrinter.Options(port="/dev/null", width=width, cjk_text=chinese, native_qr=chinese)
    return EscposPrinter("bench", opts, lambda _e: None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON (bench/run.py)")
    args = ap.parse_args()
    out = Figures("print_bench")
    tr = Translator("zh_CN")
    print(f"{'document':12} {'mm':>3} {'mode':8} {'bytes':>7} {'serial ms':>9} {'first ms':>8} "
          f"{'median ms':>9} {'bytes/base':>10} {'time/base':>9}")
    worst = 0.0
    for kind in print_cli.KINDS:
        doc = print_cli.sample_document(kind, tr)
        _bf, base_ms, base = timed(lambda doc=doc: escpos_baseline(doc))
        print(f"{kind:12} {'':>3} {'baseline':8} {len(base):7d} {len(base) * 10 / BAUD * 1000:9.1f} "
              f"{'':>8} {base_ms:9.2f} {1:10.2f} {1:9.2f}")
        sizes: dict[tuple[int, bool], tuple[int, float]] = {}
        for width in (80, 58):
            for chinese in (True, False):
                d = driver(width, chinese)
                first, med, data = timed(lambda d=d, doc=doc: d.job_bytes(doc))
                worst = max(worst, med)
                sizes[width, chinese] = len(data), med
                print(f"{kind:12} {width:3d} {'chinese' if chinese else 'raster':8} {len(data):7d} "
                      f"{len(data) * 10 / BAUD * 1000:9.1f} {first:8.1f} {med:9.2f} "
                      f"{len(data) / len(base):10.2f} {med / base_ms:9.2f}")
        for width in (80, 58):
            (zh, zh_ms), (raster, raster_ms) = sizes[width, True], sizes[width, False]
            receipt = kind == "receipt" and width == 80
            out.add(RECEIPTS, f"{kind}, {width} mm, Chinese mode: bytes", zh, "B", baseline="the same as raster",
                    baseline_value=raster, target="≤ 2048 B" if receipt else "",
                    met=zh <= 2048 if receipt else None)
            out.add(RECEIPTS, f"{kind}, {width} mm: render, the slower of Chinese mode and raster (median of {RUNS})",
                    max(zh_ms, raster_ms), "ms", baseline="python-escpos text() + qr() of the same lines",
                    baseline_value=base_ms, target="≤ 50 ms", met=max(zh_ms, raster_ms) <= 50)
    receipt = len(driver(80, True).job_bytes(print_cli.sample_document("receipt", tr)))
    print(f"\n80 mm receipt, Chinese mode: {receipt} bytes (target ≤ 2048: "
          f"{'met' if receipt <= 2048 else 'MISSED'})")
    print(f"slowest median render: {worst:.1f} ms (target ≤ 50: {'met' if worst <= 50 else 'MISSED'})")
    out.note(RECEIPTS, f"serial time is bytes × 10 / {BAUD} baud: 1 kB ≈ 89 ms on the wire. python-escpos' "
                       "stock output loses punctuation and rare names: a yardstick for speed, not a correct slip.")
    out.write(args.json)


if __name__ == "__main__":
    main()
