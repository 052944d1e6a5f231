"""Codes read from pictures (devices.imagecodes): public sample photos and generated codes, the
pyzbar fallback's guard against wrong payloads, and its isolation in a child process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import segno
from PIL import Image, ImageOps

from devices import imagecodes
from devices.imagecodes import CodeResult, ImageError, decode
from tests.conftest import KIOSK

FIXTURES = Path(__file__).parent / "fixtures" / "qr-zxing"


def code_image(qr: segno.QRCode, scale: int = 6) -> Image.Image:
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=4)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def qr(content, **kw) -> Image.Image:
    if isinstance(content, str):
        kw.setdefault("encoding", "utf-8")  # segno would pick Kanji (Shift_JIS) mode for Chinese
    return code_image(segno.make(content, micro=False, **kw))


def frame(*codes: Image.Image, size=(640, 480)) -> Image.Image:
    """A light-grey scene with the codes side by side."""
    img = Image.new("L", size, 200)
    x = 20
    for code in codes:
        img.paste(code, (x, 40))
        x += code.width + 20
    return img


@pytest.mark.parametrize("name", ["30.png", "128.png", "28.webp"])
def test_public_sample_photos_give_their_exact_payloads(name):
    expected = (FIXTURES / name).with_suffix(".txt").read_bytes()
    found = decode((FIXTURES / name).read_bytes())
    assert [r.data for r in found] == [expected]
    assert found[0].text == expected.decode() and found[0].symbology == "QRCode"


def test_pyzbar_is_asked_only_when_zxing_finds_nothing():
    # 28.webp: zxing-cpp 3.1.1 reads nothing in this photo, pyzbar reads it (ASCII: trusted).
    assert decode(FIXTURES / "28.webp")[0].engine == "pyzbar"
    assert decode(FIXTURES / "28.webp", engines=("zxing-cpp",)) == []
    assert decode(FIXTURES / "30.png")[0].engine == "zxing-cpp"


def test_utf8_chinese():
    [r] = decode(qr("广安区政务服务中心 预约号 A017"))
    assert r.data == "广安区政务服务中心 预约号 A017".encode() and r.text == "广安区政务服务中心 预约号 A017"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_chinese_without_eci_keeps_its_bytes_and_reads_as_chinese(encoding):
    text = "社会保障卡补领 王小明"
    [r] = decode(qr(text, encoding=encoding, eci=False))
    assert r.data == text.encode(encoding)  # not zxing-cpp's Latin-1 reading of them
    assert r.text == text


def test_binary_payload_is_exact_and_has_no_text():
    payload = bytes(range(256))
    [r] = decode(qr(payload))
    assert r.data == payload and r.text == ""


def test_inverted_code():
    [r] = decode(ImageOps.invert(qr("light on dark")))
    assert r.data == b"light on dark"


def test_micro_qr():
    [r] = decode(code_image(segno.make_micro("KIOSK42")))
    assert (r.data, r.symbology) == (b"KIOSK42", "MicroQRCode")


def test_two_codes_in_one_frame():
    found = decode(frame(qr("first"), qr("第二个")))
    assert sorted(r.data for r in found) == sorted([b"first", "第二个".encode()])


def test_empty_frame_gives_nothing():
    assert decode(frame()) == []
    assert decode(Image.effect_noise((640, 480), 30)) == []


def test_arrays_and_colour_images():
    code = qr("array")
    grey = np.asarray(code)
    rgb = np.stack([grey] * 3, axis=-1)
    for image in (grey, rgb, code.convert("RGB"), code.convert("P")):
        assert [r.data for r in decode(image)] == [b"array"], type(image)


def test_transparent_background_is_paper():
    # A QR PNG drawn on a transparent background: its "white" pixels are transparent black.
    code = qr("transparent")
    rgba = Image.new("RGBA", code.size, (0, 0, 0, 0))
    rgba.putalpha(ImageOps.invert(code))
    assert [r.data for r in decode(rgba)] == [b"transparent"]


@pytest.mark.parametrize("bad, words", [
    (b"\x89PNG\r\n\x1a\n not really", "not a readable image"),
    (b"", "not a readable image"),
    (os.urandom(3000), "not a readable image"),
    (np.zeros((4, 4), dtype=np.float64), "not an image array"),
    ({"an": "image"}, "not an image: dict"),
])
def test_garbage_is_a_clear_error(bad, words):
    with pytest.raises(ImageError, match=words):
        decode(bad)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ImageError, match=r"cannot read .*nope\.png: No such file"):
        decode(tmp_path / "nope.png")


def test_unknown_engine_and_format_are_refused():
    with pytest.raises(ValueError, match="unknown engine 'zbar'"):
        decode(qr("x"), engines=("zbar",))
    with pytest.raises(ValueError, match="unknown code format"):
        decode(qr("x"), formats=("QRCode", "Nonsense"))


# ---------------------------------------------------------------- pyzbar: never a wrong payload


def pyzbar_only(image) -> list[CodeResult]:
    return decode(image, engines=("pyzbar",))


def test_pyzbar_reads_ascii():
    assert pyzbar_only(qr("HELLO-KIOSK 123")) == [CodeResult(b"HELLO-KIOSK 123", "HELLO-KIOSK 123", "QRCode", "pyzbar")]


@pytest.mark.parametrize("payload", [
    "社会保障卡".encode("gbk"),  # zbar returns different UTF-8 that cannot give the original back
    bytes(range(0x80, 0x100)),  # zbar expands every byte >= 0x80
    "办事大厅".encode(),  # UTF-8: right here, but zbar guesses (the samples have UTF-8 it got wrong)
])
def test_pyzbar_results_beyond_ascii_are_refused_not_guessed(payload):
    from pyzbar import pyzbar

    image = qr(payload)
    library = [d.data for d in pyzbar.decode(image)]
    assert library, "pyzbar itself reads this code"
    assert pyzbar_only(image) == []  # refused: no result rather than a possibly wrong one
    assert [r.data for r in decode(image)] == [payload]  # zxing-cpp reads it exactly


def test_pyzbar_structured_append_crash_is_survived():
    sentence = b"One sentence spread over two QR symbols, to be read in order"
    parts = segno.make_sequence(sentence.decode(), symbol_count=2)
    image = code_image(parts[0])
    with pytest.raises(imagecodes.EngineError, match="ValueError: 4294967295 is not a valid ZBarOrientation"):
        imagecodes.read_pyzbar(image)
    assert pyzbar_only(image) == []
    [first] = decode(image)  # zxing-cpp reads the first part
    assert first.engine == "zxing-cpp" and sentence.startswith(first.data) and len(first.data) > 20
    assert pyzbar_only(qr("still working")) != []


def _stopped_child() -> int:
    assert pyzbar_only(qr("warm up")) != []
    pid = imagecodes._ZBAR.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    return pid


def test_pyzbar_child_killed_mid_decode_is_restarted():
    # zbar's C asserts abort the process (pyzbar #143, #158): here the child dies of SIGABRT
    # while it holds a picture, and the caller gets an error, not a dead kiosk.
    pid = _stopped_child()

    def abort_soon():
        time.sleep(0.3)
        os.kill(pid, signal.SIGABRT)
        os.kill(pid, signal.SIGCONT)

    threading.Thread(target=abort_soon).start()
    with pytest.raises(imagecodes.EngineError, match="died of SIGABRT"):
        imagecodes.read_pyzbar(qr("during the crash"))
    assert pyzbar_only(qr("after the crash"))[0].data == b"after the crash"
    assert imagecodes._ZBAR.pid != pid


def test_pyzbar_child_that_hangs_is_killed(monkeypatch):
    monkeypatch.setattr(imagecodes, "ZBAR_TIMEOUT", 0.5)
    pid = _stopped_child()
    started = time.monotonic()
    # A big picture: the write itself blocks on the stopped child's full pipe.
    with pytest.raises(imagecodes.EngineError, match=r"no answer within 0\.5 s"):
        imagecodes.read_pyzbar(frame(qr("hung"), size=(1280, 720)))
    assert time.monotonic() - started < 2
    assert decode(qr("next"), engines=("pyzbar",))[0].data == b"next"
    assert imagecodes._ZBAR.pid != pid


# ---------------------------------------------------------------- kiosk devices scan-image


def scan(*args) -> subprocess.CompletedProcess:
    return subprocess.run([KIOSK, "devices", "scan-image", *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def test_scan_image_prints_each_files_payloads(tmp_path):
    binary = tmp_path / "binary.png"
    qr(b"\x00\x01\xfe\xff").save(binary)
    empty = tmp_path / "empty.png"
    frame().save(empty)
    two = tmp_path / "two.jpg"
    frame(qr("first"), qr("第二个")).save(two, quality=90)
    r = scan(FIXTURES / "30.png", binary, empty, two)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{FIXTURES / '30.png'}: QRCode MECARD:N:測試;;"
    assert lines[1] == f"{binary}: QRCode hex:0001feff"
    assert lines[2] == f"{empty}: none"
    assert sorted(lines[3:]) == [f"{two}: QRCode first", f"{two}: QRCode 第二个"]


def test_scan_image_reports_an_unreadable_file_and_goes_on(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    r = scan(junk, tmp_path / "missing.png", FIXTURES / "128.png")
    assert r.returncode == 1
    assert r.stdout == f"{FIXTURES / '128.png'}: QRCode M$K0YGV0G\n"
    errors = r.stderr.splitlines()
    assert len(errors) == 2 and "Traceback" not in r.stderr
    assert errors[0].startswith(f"{junk}: error: not a readable image")
    assert errors[1] == f"{tmp_path / 'missing.png'}: error: cannot read {tmp_path / 'missing.png'}: No such file or directory"


def test_scan_image_json(tmp_path):
    r = scan(FIXTURES / "128.png", tmp_path / "missing.png", "--json")
    assert r.returncode == 1
    rows = json.loads(r.stdout)
    assert rows[0]["codes"] == [{"symbology": "QRCode", "engine": "zxing-cpp", "text": "M$K0YGV0G",
                                 "hex": b"M$K0YGV0G".hex()}]
    assert "No such file" in rows[1]["error"]
