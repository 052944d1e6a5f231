"""SAM_V reading speed: frame parsing, and find → select → read on the emulator against wire time.

Wire time is arithmetic: the bytes of the three requests and three replies × 10 bits (8N1) / baud.
The emulator paces its replies at that rate (a pty hands the requests over at once), so the ratio
measured / wire time is what the driver and the OS add on top of the serial line. Target: ≤ 1.2×
at 115200 baud.

Run: .venv/bin/python bench/samv_bench.py [--json OUT]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.samv import protocol as p  # noqa: E402
from drivers.samv.cardtext import encode_base_info, parse_base_info  # noqa: E402
from drivers.samv.driver import SamSerialReader  # noqa: E402
from drivers.samv.emulator import FAKE_PHOTO, SAMPLE_CARDS, SamEmulator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import IDREAD, Figures  # noqa: E402

RUNS = 20


def median_ms(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def parse_bench(out: Figures) -> None:
    card = SAMPLE_CARDS["li_xiaomei"]
    frame = p.build_reply(p.SW_OK, encode_base_info(card, FAKE_PHOTO))

    def whole():
        [reply] = p.FrameReader().feed(frame)
        parse_base_info(reply.data)

    def chunked():  # as the serial port hands it over: ~10 ms slices at 115200 = 115 bytes
        reader = p.FrameReader()
        for i in range(0, len(frame), 115):
            reader.feed(frame[i:i + 115])

    parse, frames = median_ms(whole, 200), median_ms(chunked, 200)
    print(f"frame parse ({len(frame)} B 30 01 reply): frame+text {parse:.3f} ms, "
          f"frames only in 115-byte chunks {frames:.3f} ms")
    wire = len(frame) * 10 / 115200 * 1000
    out.add(IDREAD, f"parse a {len(frame)} B identity reply (frame + text)", parse, "ms",
            baseline="its wire time at 115200 baud", baseline_value=wire)


def read_bench(out: Figures, baud: int, newest_address: bool) -> None:
    card = SAMPLE_CARDS["li_xiaomei"]
    with SamEmulator(baud=baud, card=card) as emu:
        drv = SamSerialReader("bench", SamSerialReader.Options(port=emu.port, baud=baud,
                                                               newest_address=newest_address), lambda _e: None)
        drv.open()
        try:
            drv.read_identity()  # warm up
            measured = median_ms(drv.read_identity, RUNS if baud >= 57600 else 3)
        finally:
            drv.close()
    commands = [p.FIND_CARD, p.SELECT_CARD, p.READ_BASE] + ([p.READ_NEWEST_ADDRESS] if newest_address else [])
    replies = [p.build_reply(p.SW_FOUND, bytes(4)), p.build_reply(p.SW_OK, bytes(8)),
               p.build_reply(p.SW_OK, encode_base_info(card, FAKE_PHOTO))]
    if newest_address:
        replies.append(p.build_reply(p.SW_NO_CONTENT))
    wire_bytes = sum(len(p.build_request(c)) for c in commands) + sum(map(len, replies))
    wire = wire_bytes * 10 / baud * 1000
    # A pty delivers the host's requests at once; only the replies are paced. So also the ratio
    # against the replies' wire time alone, the stricter figure.
    reply_wire = sum(map(len, replies)) * 10 / baud * 1000
    what = "find→select→read" + (" + newest address" if newest_address else "")
    print(f"{what:38} at {baud:6} baud: {measured:7.1f} ms, wire {wire:7.1f} ms "
          f"({wire_bytes} B), ratio {measured / wire:.2f}× (replies only: {measured / reply_wire:.2f}×)")
    target = baud == 115200
    out.add(IDREAD, f"{what} at {baud} baud, median of {RUNS if baud >= 57600 else 3}", measured, "ms",
            baseline=f"wire time of its {wire_bytes} B", baseline_value=wire,
            target="≤ 1.2× wire time" if target else "", met=measured / wire <= 1.2 if target else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON (bench/run.py)")
    args = ap.parse_args()
    out = Figures("samv_bench")
    parse_bench(out)
    read_bench(out, 115200, newest_address=False)
    read_bench(out, 115200, newest_address=True)
    read_bench(out, 9600, newest_address=False)
    out.write(args.json)


if __name__ == "__main__":
    main()
