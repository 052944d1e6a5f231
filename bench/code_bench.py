"""Codes read from pictures: hits, wrong payloads and time per image for zxing-cpp, pyzbar and the
kiosk's pipeline (devices.imagecodes.decode), on zxing-cpp's public QR sample images; and the decode
time of generated camera frames (640x480, 1280x720) with one code and with none.

The samples (README beside them: zxing-cpp's test/samples/qrcode-1..3, Apache-2.0) have the expected
payload in ``<stem>.txt``, compared as is and after stripping one trailing newline (qrcode-3's
payloads end in CR LF themselves). A result is a hit when its bytes are the payload, or decode to it in the code's own character set (UTF-8, Shift_JIS, GB18030,
ISO-8859-1: pyzbar re-encodes to UTF-8, zxing-cpp keeps the code's bytes). A result that matches
nothing expected is a wrong payload. "text ok" counts hits whose ``payload_text`` (what the kiosk
shows) is the expected text: Shift_JIS codes have none (payload_text knows UTF-8 and GB18030 only).

Rows: zxing-cpp alone (the pipeline's formats); pyzbar alone, in process, as the library answers;
pyzbar as the pipeline uses it (child process, ASCII results only); the pipeline (zxing-cpp, then
pyzbar when zxing-cpp finds nothing). Targets: pipeline hits ≥ zxing-cpp's, no wrong payload;
median ≤ 5 ms for a 1280x720 frame with one code.

Run: .venv/bin/python bench/code_bench.py [SAMPLES_FOLDER]   (default ../shared/data/qr-zxing)
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qrcode  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import Image  # noqa: E402
from pyzbar import pyzbar  # noqa: E402

from devices import imagecodes  # noqa: E402
from devices.codes import payload_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = ROOT.parent / "shared" / "data" / "qr-zxing"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
FRAME_RUNS = 30
PAYLOAD = b"https://zwfw.example.gov.cn/q?c=6f3a9b21d04e&t=20261130"


def samples(folder: Path) -> list[tuple[Path, bytes]]:
    out = []
    for img in sorted(folder.rglob("*")):
        if img.suffix.lower() in IMAGE_SUFFIXES and img.with_suffix(".txt").exists():
            out.append((img, img.with_suffix(".txt").read_bytes()))
    return out


def matches(data: bytes, expected: bytes) -> bool:
    candidates = {expected, expected[:-1] if expected.endswith(b"\n") else expected}
    if data in candidates:
        return True
    texts = {c.decode("utf-8", errors="replace") for c in candidates}
    for charset in ("utf-8", "shift_jis", "gb18030", "iso-8859-1"):
        try:
            if data.decode(charset) in texts:
                return True
        except UnicodeDecodeError:
            pass
    return False


def pyzbar_raw(grey: Image.Image) -> list[bytes]:
    try:
        return [d.data for d in pyzbar.decode(grey, symbols=[pyzbar.ZBarSymbol.QRCODE])]
    except ValueError:  # pyzbar 0.1.9 on a structured-append code
        return []


def pyzbar_guarded(grey: Image.Image) -> list[bytes]:
    try:
        return [r.data for r in imagecodes.read_pyzbar(grey)]
    except imagecodes.EngineError:
        return []


ENGINES: dict[str, Callable[[Image.Image], list[bytes]]] = {
    "zxing-cpp": lambda g: [r.data for r in imagecodes.read_zxing(g)],
    "pyzbar (library)": pyzbar_raw,
    "pyzbar (pipeline's use)": pyzbar_guarded,
    "pipeline": lambda g: [r.data for r in imagecodes.decode(g)],
}


def sample_table(folder: Path) -> None:
    items = [(img, expected, imagecodes.to_grey(img)) for img, expected in samples(folder)]
    print(f"{len(items)} sample images with expected payloads in {folder}\n")
    print("| engine | hits | wrong payloads | text ok | no result | median ms/image |")
    print("|---|---|---|---|---|---|")
    for name, read in ENGINES.items():
        hits = wrong = text_ok = none = 0
        times = []
        wrong_files = []
        for img, expected, grey in items:
            t0 = time.perf_counter()
            found = read(grey)
            times.append((time.perf_counter() - t0) * 1000)
            good = [d for d in found if matches(d, expected)]
            hits += bool(good)
            text_ok += any(matches(payload_text(d).encode(), expected) for d in good)
            none += not found
            if len(good) < len(found):
                wrong += 1
                wrong_files.append(str(img.relative_to(folder)))
        print(f"| {name} | {hits} | {wrong} | {text_ok} | {none} | {statistics.median(times):.1f} |")
        if wrong_files:
            print(f"|  wrong: {', '.join(wrong_files)} |||||")
    print()


def frame(size: tuple[int, int], with_code: bool, noisy: bool = False) -> Image.Image:
    """A camera-like grey frame: a lit wall (a gradient from 60 to 180) with sensor noise (sigma 6),
    or with ``noisy`` pixel noise of sigma 24 everywhere (a dim room at high gain: the worst case for
    a binarizer); a code held at about a third of the frame's height when ``with_code``."""
    if noisy:
        img = Image.effect_noise(size, 24).point(lambda v: v * 0.6 + 50)
    else:
        wall = Image.linear_gradient("L").resize(size).point(lambda v: 60 + v * 120 // 255)
        img = Image.blend(wall, Image.effect_noise(size, 6).point(lambda v: v - 128 + 120), 0.5)
    if with_code:
        qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(PAYLOAD)
        code = qr.make_image().get_image().convert("L")
        side = size[1] // 3
        code = code.resize((side, side), Image.NEAREST)
        img.paste(code, (size[0] // 2 - side // 3, size[1] // 3))
    return img


def median_ms(fn: Callable[[], object]) -> float:
    fn()
    times = []
    for _ in range(FRAME_RUNS):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def frame_table() -> None:
    qr_only = ("QRCode",)
    everything = tuple(f.name for f in zxingcpp.barcode_formats_list(zxingcpp.AllReadable))
    rows = {
        f"zxing-cpp, {', '.join(imagecodes.DEFAULT_FORMATS)} (pipeline)": lambda g: imagecodes.read_zxing(g),
        "zxing-cpp, QR only": lambda g: imagecodes.read_zxing(g, qr_only),
        "zxing-cpp, all formats": lambda g: imagecodes.read_zxing(g, everything),
        "pyzbar (library), QR only": pyzbar_raw,
        "pyzbar (pipeline's use, child process)": pyzbar_guarded,
        "pipeline (decode)": lambda g: imagecodes.decode(g),
    }
    for noisy in (False, True):
        frames = {(w, h, c): frame((w, h), c, noisy) for w, h in ((640, 480), (1280, 720)) for c in (True, False)}
        for (w, h, code), img in frames.items():
            if code:
                found = imagecodes.decode(img)
                assert [r.data for r in found] == [PAYLOAD], f"generated {w}x{h} frame not read: {found}"
        scene = "noisy room (sigma 24)" if noisy else "lit wall (sigma 6)"
        print(f"{scene}: median of {FRAME_RUNS} decodes of a generated grey frame, ms:\n")
        print("| engine | 640x480 one code | 640x480 none | 1280x720 one code | 1280x720 none |")
        print("|---|---|---|---|---|")
        for name, read in rows.items():
            cells = [f"{median_ms(lambda read=read, img=frames[(w, h, c)]: read(img)):.1f}"
                     for w, h in ((640, 480), (1280, 720)) for c in (True, False)]
            print(f"| {name} | {' | '.join(cells)} |")
        print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", nargs="?", type=Path, default=DEFAULT_SAMPLES)
    args = parser.parse_args()
    if not args.samples.is_dir():
        print(f"no sample folder at {args.samples}", file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, Python {platform.python_version()}, "
          f"zxing-cpp {getattr(zxingcpp, '__version__', '3.1.1')}, pyzbar 0.1.9\n")
    sample_table(args.samples)
    frame_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
