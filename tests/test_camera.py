"""The camera code scanner against CameraEmulator.

What is emulated: the camera. This machine and CI have no camera and no v4l2loopback module, so
no /dev/video* node can exist; the emulator writes a Y4M stream into a FIFO, the driver's second
real source (the one a hall uses for an IP camera piped through ffmpeg), and the driver reads it
with its production code. Frames, decoding in the device worker, the repeat window, unplug (end
of stream), a hung camera (no frames) and junk in the stream are real; the V4L2 capture through
linuxpy is not exercised here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devices.events import CodeScanned, ErrorEvent, StatusChanged
from devices.manager import DeviceConfigError, DeviceManager, build_driver
from devices.status import DeviceState
from devices.testing import DriverConformance
from drivers.camera.emulator import CameraEmulator, code_picture, picture_files
from drivers.camera.harness import CameraHarness


class TestCameraScanner(DriverConformance):
    driver = "camera-scanner"

    def make_harness(self, link_path):
        return CameraHarness(link_path)


class Scene:
    """A camera emulator and a manager running the driver on it, with the events seen."""

    def __init__(self, camera: CameraEmulator, **options):
        self.camera = camera
        self.manager = DeviceManager({"cam": {"driver": "camera-scanner", "device": camera.port,
                                              "source": "y4m", "fps": 10, **options}})
        self.events: list = []

    def __enter__(self):
        self.manager.start()
        self.wait(lambda e: isinstance(e, StatusChanged) and e.state is DeviceState.ONLINE, 5)
        return self

    def __exit__(self, *exc):
        self.manager.stop()

    def pump(self, seconds: float = 0.0) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self.events += self.manager.drain()
            if time.monotonic() >= deadline:
                return
            time.sleep(0.02)

    def wait(self, match, within: float):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self.pump()
            found = [e for e in self.events if match(e)]
            if found:
                return found[0]
            time.sleep(0.02)
        pytest.fail(f"not seen within {within} s: {self.events}")

    @property
    def codes(self) -> list[bytes]:
        return [e.data for e in self.events if isinstance(e, CodeScanned)]


@pytest.fixture
def camera():
    with CameraEmulator(size=(320, 240), fps=10) as cam:
        yield cam


def test_a_code_held_up_is_reported_once_then_again_after_the_window(camera):
    with Scene(camera, repeat_s=2.5) as scene:
        started = time.monotonic()
        camera.show(code_picture("预约号 A017"))
        scene.wait(lambda e: isinstance(e, CodeScanned), 3)
        scene.pump(2.0 - (time.monotonic() - started))  # held for 2 s: still one event
        assert scene.codes == ["预约号 A017".encode()]
        scene.pump(1.3)  # past 2.5 s: the code is still there, so it is reported again
        assert scene.codes == ["预约号 A017".encode()] * 2
        event = next(e for e in scene.events if isinstance(e, CodeScanned))
        assert event.text == "预约号 A017" and event.symbology == "QRCode" and event.device == "cam"


def test_two_codes_in_a_row_are_both_reported(camera, tmp_path):
    with Scene(camera) as scene:
        camera.play(picture_files(tmp_path, [b"first", "第二".encode("gbk")]), seconds_each=0.4)
        scene.wait(lambda e: isinstance(e, CodeScanned) and e.data == "第二".encode("gbk"), 3)
        assert scene.codes == [b"first", "第二".encode("gbk")]  # GBK without ECI: exact bytes
        assert [e.text for e in scene.events if isinstance(e, CodeScanned)] == ["first", "第二"]


def test_an_empty_scene_reports_nothing(camera):
    with Scene(camera) as scene:
        frames = camera.frames_sent
        scene.pump(1.5)
        assert camera.frames_sent - frames >= 10, "the camera kept filming"
        assert [e for e in scene.events if not isinstance(e, StatusChanged)] == []


def test_the_same_code_shown_again_after_taking_it_away_waits_for_the_window(camera):
    with Scene(camera, repeat_s=30) as scene:
        camera.show(code_picture("again"), seconds=0.4)
        scene.wait(lambda e: isinstance(e, CodeScanned), 3)
        scene.pump(0.6)
        camera.show(code_picture("again"), seconds=0.4)  # a second scan within 30 s: a double
        scene.pump(1.0)
        assert scene.codes == [b"again"]


def test_a_colour_stream_from_a_file(tmp_path):
    """A recorded 4:2:0 Y4M file (what ffmpeg writes by default) is read luma only."""
    cam = CameraEmulator(size=(320, 240), fps=10, colour="420jpeg")
    cam.show(code_picture("from a recording"))
    recording = tmp_path / "rec.y4m"
    with open(cam.port, "rb") as fifo, open(recording, "wb") as out:
        out.write(fifo.readline())  # header
        frame = len(b"FRAME\n") + 320 * 240 * 3 // 2
        out.write(fifo.read(frame) * 3)
    cam.close()
    events = []
    drv = build_driver("cam", {"driver": "camera-scanner", "device": str(recording), "source": "y4m"},
                       events.append)
    drv.open()
    try:
        assert drv.state() is DeviceState.ONLINE
        drv.poll()
        assert [e.data for e in events if isinstance(e, CodeScanned)] == [b"from a recording"]
    finally:
        drv.close()


def test_junk_in_the_stream_is_skipped_and_said_once(camera):
    with Scene(camera) as scene:
        camera.send_garbage(b"\x00\xffFRAM\x10" * 50)
        scene.pump(0.5)
        camera.show(code_picture("after junk"))
        scene.wait(lambda e: isinstance(e, CodeScanned), 3)
        garbled = [e for e in scene.events if isinstance(e, ErrorEvent)]
        assert len(garbled) == 1 and garbled[0].code == "garbled" and "bytes that were no frame" in garbled[0].message


def test_a_stream_that_is_not_y4m_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.y4m"
    bad.write_bytes(b"YUV4MPEG2 W320 H240 C420p10\nFRAME\n")
    drv = build_driver("cam", {"driver": "camera-scanner", "device": str(bad), "source": "y4m"}, [].append)
    with pytest.raises(Exception, match="unsupported Y4M stream 320x240 C420p10"):
        drv.open()
    drv.close()


@pytest.mark.parametrize("bad, words", [
    ({"formats": ["QRCode", "Nope"]}, "formats: Value error, unknown code format"),
    ({"engines": ["zbar"]}, "engines.0"),
    ({"fps": 0}, "fps"),
    ({"repeat_s": float("nan")}, "repeat_s"),
])
def test_options_are_checked(bad, words):
    with pytest.raises(DeviceConfigError, match=words):
        build_driver("cam", {"driver": "camera-scanner", "device": "/dev/video0", **bad}, [].append)


def test_no_camera_at_the_path(tmp_path: Path):
    drv = build_driver("cam", {"driver": "camera-scanner", "device": str(tmp_path / "video9")}, [].append)
    from devices.errors import DeviceGone

    with pytest.raises(DeviceGone, match="no camera at"):
        drv.open()
    drv.close()


def test_a_path_that_is_no_camera_is_a_clear_error():
    drv = build_driver("cam", {"driver": "camera-scanner", "device": "/dev/null"}, [].append)
    from devices.errors import DeviceError

    with pytest.raises(DeviceError, match="/dev/null is not a V4L2 camera") as err:
        drv.open()
    assert err.value.code == "unsupported"
    drv.close()
