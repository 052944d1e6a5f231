"""A camera as a code scanner: frames from V4L2 (or a Y4M stream), codes read with
devices.imagecodes in the device worker's thread, never the UI's.

Every ``poll()`` (``fps`` times a second) takes the newest frame and decodes it. A code the camera
keeps seeing is reported once, and again only after ``repeat_s`` seconds: a citizen holds a phone
up for seconds, and one scan must be one event. A different code is reported at once.

What ONLINE means: frames are arriving. A camera sends frames without being asked, so a stalled
one (no frame for ``frame_timeout_ms``) is noticed: it leaves ONLINE (OFFLINE), and the internal
health check fails. A camera that opened but has never sent a frame is UNKNOWN.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from devices import imagecodes
from devices.codes import printable
from devices.contracts import (
    PRIORITY_KNOWN_ID,
    Candidate,
    Claim,
    CodeScanner,
    DeviceName,
    DriverOptions,
    HealthLevel,
    HealthReport,
)
from devices.errors import DeviceError, DeviceGone
from devices.events import CodeScanned, ErrorEvent, StatusChanged
from devices.status import DeviceState
from drivers.camera.frames import SourceError, SourceGone, open_source

log = logging.getLogger("kiosk.drivers.camera")


class CameraScanner(CodeScanner):
    class Options(DriverOptions):
        model_config = ConfigDict(strict=True)  # 1e23 or true for an int is an error (DriverOptions)
        device: DeviceName  # /dev/v4l/by-id/...-video-index0, or a Y4M FIFO/file with source = "y4m"
        source: Literal["v4l2", "y4m"] = "v4l2"
        width: int = Field(640, ge=160, le=3840)  # asked of a V4L2 camera; a Y4M stream says its own
        height: int = Field(480, ge=120, le=2160)
        fps: int = Field(10, ge=1, le=30)  # frames decoded per second (and asked of the camera)
        repeat_s: float = Field(3.0, ge=0.0, le=3600.0)  # the same code again only after this
        frame_timeout_ms: int = Field(2000, ge=100, le=60_000)  # no frame this long: not ONLINE
        formats: list[str] = Field(list(imagecodes.DEFAULT_FORMATS), min_length=1, max_length=32)
        # pyzbar costs ~7 ms (640x480) to 21 ms (1280x720) on every frame without a code, which is
        # most frames; it added one photo in 82 to zxing-cpp's reads (bench/README.md). Opt in.
        engines: list[Literal["zxing-cpp", "pyzbar"]] = Field(["zxing-cpp"], min_length=1, max_length=2)

        @field_validator("formats")
        @classmethod
        def _known_formats(cls, v: list[str]) -> list[str]:
            imagecodes.check_formats(v)
            return v

    @classmethod
    def supported(cls, candidate: Candidate) -> Claim | None:
        """A V4L2 node that can capture video (a webcam also shows a metadata node that cannot).
        Below a scanner's known id: a camera is a scanner only where the hall points it."""
        if candidate.bus != "video":
            return None
        try:
            from linuxpy.video.device import Capability, Device

            with Device(candidate.path) as dev:
                if not dev.info.device_capabilities & Capability.VIDEO_CAPTURE:
                    return None
        except Exception:  # not readable (the video group), gone, or not V4L2
            return None
        return Claim(PRIORITY_KNOWN_ID - 10, {"device": candidate.path}, "a V4L2 camera that captures video")

    def __init__(self, name: str, options: Options, emit):
        super().__init__(name, options, emit)
        self.options: CameraScanner.Options = options
        self.poll_interval = 1 / options.fps
        o = options
        self._source = open_source(o.source, o.device, o.width, o.height, o.fps)  # kept: it knows the stream
        self._opened = False
        self._state = DeviceState.UNKNOWN
        self._last_frame = 0.0
        self._size = (0, 0)
        self._reported: dict[bytes, float] = {}  # code → when it was last reported

    def open(self) -> None:
        self.close()
        o = self.options
        try:
            self._source.open()
            self._opened = True
            frame = self._source.read(o.frame_timeout_ms / 1000)
        except SourceGone as exc:
            raise DeviceGone(str(exc), zh="摄像头未连接") from exc
        except SourceError as exc:
            raise DeviceError(str(exc), code="unsupported", zh="摄像头无法使用") from exc
        if frame is not None:  # the camera delivers: ONLINE. Its codes wait for the first poll,
            self._saw_frame(frame)  # after the worker has announced ONLINE.
            self._report_garbage()

    def close(self) -> None:
        self._opened = False
        self._state = DeviceState.UNKNOWN
        self._reported.clear()
        self._source.close()

    def state(self) -> DeviceState:
        return self._state

    def poll(self) -> None:
        if not self._opened:
            raise DeviceGone("camera not open", zh="摄像头未连接")
        try:
            frame = self._source.read(0)
        except SourceGone as exc:
            self._state = DeviceState.NO_DEVICE
            raise DeviceGone(str(exc), zh="摄像头已断开") from exc
        except SourceError as exc:
            raise DeviceError(str(exc), code="unsupported", zh="摄像头无法使用") from exc
        now = time.monotonic()
        if frame is None:
            if self._state is DeviceState.ONLINE and now - self._last_frame > self.options.frame_timeout_ms / 1000:
                log.warning("%s: no frame for %.1f s", self.name, now - self._last_frame)
                self._state = DeviceState.OFFLINE
            return
        self._report_garbage()  # the stream is in step again: one report for the junk before it
        was_online = self._state is DeviceState.ONLINE
        self._saw_frame(frame)
        if not was_online:  # announce ONLINE before a code read from this frame (the worker would after)
            self.emit(StatusChanged(device=self.name, state=DeviceState.ONLINE))
        self._scan(frame, now)

    def _saw_frame(self, frame) -> None:
        self._last_frame = time.monotonic()
        self._state = DeviceState.ONLINE
        self._size = frame.size

    def _scan(self, frame, now: float) -> None:
        o = self.options
        self._reported = {d: t for d, t in self._reported.items() if now - t < o.repeat_s}
        for r in imagecodes.decode(frame, engines=o.engines, formats=o.formats):
            if r.data in self._reported:
                continue  # still held up: reported less than repeat_s ago
            self._reported[r.data] = now
            log.info("%s: %s code, %d bytes: %s", self.name, r.symbology, len(r.data), printable(r.text, 12))
            self.emit(CodeScanned(device=self.name, data=r.data, text=r.text, symbology=r.symbology))

    def _report_garbage(self) -> None:
        source = self._source
        if source.skipped:
            skipped, source.skipped = source.skipped, 0
            self.emit(ErrorEvent(device=self.name, code="garbled", will_retry=True,
                                 message=f"camera stream: {skipped} bytes that were no frame skipped",
                                 message_zh="摄像头画面数据异常"))

    def check_health(self, level: HealthLevel, args: dict[str, Any]) -> HealthReport:
        ok = self._state is DeviceState.ONLINE
        if ok:
            age = time.monotonic() - self._last_frame
            w, h = self._size
            text = f"code scanner {self.name}: camera online, {w}x{h} frames, last {age * 1000:.0f} ms ago"
        elif self._state is DeviceState.OFFLINE:
            text = f"code scanner {self.name}: camera sends no frames (none for over " \
                   f"{self.options.frame_timeout_ms} ms)"
        else:
            text = f"code scanner {self.name}: {self._state.value}, no frame seen"
        return HealthReport(level, ok, self._state, text)
