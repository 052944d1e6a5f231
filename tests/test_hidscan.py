"""The HID keyboard-wedge scanner (drivers/hidscan): the conformance kit, and what a hall notices.

What is emulated, and why: this machine and CI have no /dev/uinput (the kernel answers ENODEV
when its node, char 10:223, is opened) and no /dev/input, so no test can make a real input
device here. ``WedgeEmulator`` stands in for the kernel's side only: it writes the kernel's own
``struct input_event`` records into a FIFO, and the driver reads that FIFO with the same code
that reads an event node. Finding the scanner by USB id and grabbing it need a real node:
``test_real_kernel_uinput`` does both through uinput, and skips, saying why, where uinput cannot
be opened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import evdev
import pytest
from evdev import ecodes

from devices.codes import MAX_CODE_BYTES
from devices.errors import DeviceGone
from devices.events import CodeScanned, ErrorEvent, StatusChanged
from devices.manager import DeviceConfigError, DeviceManager, build_driver
from devices.status import DeviceState
from devices.testing import GARBAGE, DriverConformance
from drivers.hidscan import driver as hid
from drivers.hidscan import keys
from drivers.hidscan.emulator import SYN_REPORT, WedgeEmulator, key_reports
from drivers.hidscan.harness import HidHarness

pytestmark = pytest.mark.timeout(60)
SCANNER_ID = (0x0C2E, 0x0B61)  # a Honeywell scanner's USB id, as lsusb shows 0c2e:0b61
GAP_MS = 60


def _records(*events: tuple[int, int, int]) -> bytes:
    return b"".join(keys.EVENT.pack(0, 0, *e) for e in events)


class TestHidScanner(DriverConformance):
    driver = "hid-scanner"
    # The kit's noise (arriving as whole records: a node never splits one), then what a confused
    # wedge sends: a key no keyboard has, a bad key value, a scan code, an LED, a lost-events
    # marker, and half a code with no suffix.
    garbage_bytes = (GARBAGE + bytes(-len(GARBAGE) % keys.EVENT.size)
                     + _records((keys.EV_KEY, 0xFFFF, 1), (keys.EV_KEY, ecodes.KEY_A, 7),
                                (ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70004), (ecodes.EV_LED, 0, 1),
                                (keys.EV_SYN, keys.SYN_DROPPED, 0))
                     + b"".join(_records(*r) for r in key_reports("half", suffix="none")))

    def make_harness(self, link_path):
        return HidHarness(link_path)


# ------------------------------------------------------------------ helpers


@pytest.fixture
def emulator():
    with WedgeEmulator() as emu:
        yield emu


def open_scanner(port: str, **options):
    """The driver built through its entry point, opened on ``port``, and the list it emits into."""
    events: list = []
    drv = build_driver("qr", {"driver": "hid-scanner", "device": port, "gap_ms": GAP_MS, **options},
                       events.append)
    drv.open()
    return drv, events


def poll_for(drv, seconds: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        drv.poll()
        time.sleep(0.01)


def texts(events) -> list[str]:
    return [e.text for e in events if isinstance(e, CodeScanned)]


def errors(events) -> list[str]:
    return [e.message for e in events if isinstance(e, ErrorEvent)]


def typed(*keys_pressed: str | tuple[str, ...]) -> list[list[tuple[int, int, int]]]:
    """Reports for key presses named as in linux/input-event-codes.h, independent of the driver's
    layout table: "KEY_A", or ("KEY_LEFTSHIFT", "KEY_2") for a key pressed with Shift held."""
    reports = []
    for item in keys_pressed:
        *held, key = (item,) if isinstance(item, str) else item
        codes = [ecodes.ecodes[n] for n in (*held, key)]
        reports.append([(ecodes.EV_KEY, c, 1) for c in codes] + [SYN_REPORT])
        reports.append([(ecodes.EV_KEY, c, 0) for c in reversed(codes)] + [SYN_REPORT])
    return reports


# ------------------------------------------------------------------ the kernel's numbers


def test_layout_and_record_are_the_kernels():
    """The driver's own copy of the kernel ABI (it must load without evdev) matches evdev's."""
    names = {**{f"KEY_{c.upper()}": c for c in "abcdefghijklmnopqrstuvwxyz0123456789"},
             **{f"KEY_KP{d}": d for d in "0123456789"},
             "KEY_MINUS": "-", "KEY_EQUAL": "=", "KEY_LEFTBRACE": "[", "KEY_RIGHTBRACE": "]",
             "KEY_SEMICOLON": ";", "KEY_APOSTROPHE": "'", "KEY_GRAVE": "`", "KEY_BACKSLASH": "\\",
             "KEY_COMMA": ",", "KEY_DOT": ".", "KEY_SLASH": "/", "KEY_SPACE": " ", "KEY_KPDOT": ".",
             "KEY_KPSLASH": "/", "KEY_KPASTERISK": "*", "KEY_KPMINUS": "-", "KEY_KPPLUS": "+"}
    assert {ecodes.ecodes[n]: c for n, c in names.items()} == {k: v[0] for k, v in keys.LAYOUT.items()}
    assert (keys.EV_SYN, keys.EV_KEY, keys.SYN_DROPPED) == (ecodes.EV_SYN, ecodes.EV_KEY, ecodes.SYN_DROPPED)
    assert (keys.KEY_TAB, keys.KEY_ENTER, keys.KEY_KPENTER, keys.KEY_CAPSLOCK) == (
        ecodes.KEY_TAB, ecodes.KEY_ENTER, ecodes.KEY_KPENTER, ecodes.KEY_CAPSLOCK)
    assert {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT} == keys.SHIFTS
    assert {ecodes.ecodes[f"KEY_{side}{m}"] for side in ("LEFT", "RIGHT")
                                    for m in ("CTRL", "ALT", "META")} == keys.OTHER_MODIFIERS
    # evdev's C reader, compiled against linux/input.h, reads our record back field for field.
    from evdev import _input

    r, w = os.pipe()
    try:
        os.write(w, keys.EVENT.pack(1_700_000_000, 123_456, keys.EV_KEY, ecodes.KEY_Q, -2))
        assert _input.device_read(r) == (1_700_000_000, 123_456, keys.EV_KEY, ecodes.KEY_Q, -2)
    finally:
        os.close(r)
        os.close(w)


# ------------------------------------------------------------------ codes as a hall scans them


def test_shifted_characters_and_a_url_with_a_query(emulator):
    drv, events = open_scanner(emulator.port)
    url = "https://zwfw.example.gov.cn/q?id=SL20240612000123&lang=zh-CN#top"
    emulator.scan(url)
    emulator.scan("~!@#$%^&*()_+{}|:\"<>? Mixed Case 12")
    # Named keys, independent of the driver's layout table: Shift+H, i, Shift+2, keypad 7, Shift+/,
    # and the keypad's Enter as the suffix.
    emulator.send(typed(("KEY_RIGHTSHIFT", "KEY_H"), "KEY_I", ("KEY_LEFTSHIFT", "KEY_2"), "KEY_KP7",
                        ("KEY_LEFTSHIFT", "KEY_SLASH"), "KEY_KPENTER"))
    poll_for(drv)
    assert texts(events) == [url, "~!@#$%^&*()_+{}|:\"<>? Mixed Case 12", "Hi@7?"]
    assert [e.data for e in events if isinstance(e, CodeScanned)][0] == url.encode()
    assert not errors(events)
    drv.close()


def test_caps_lock_from_the_scanner_inverts_letters_only(emulator):
    drv, events = open_scanner(emulator.port)
    emulator.send(typed("KEY_CAPSLOCK", "KEY_A", ("KEY_LEFTSHIFT", "KEY_B"), "KEY_1", "KEY_CAPSLOCK",
                        "KEY_C", "KEY_ENTER"))
    poll_for(drv)
    assert texts(events) == ["Ab1c"]
    drv.close()


@pytest.mark.parametrize(("suffix", "code"), [("enter", "name\tvalue"), ("tab", "BEGIN:VCARD\nFN:Li")])
def test_suffix_key_ends_a_code_and_the_other_key_is_text(suffix, code):
    with WedgeEmulator(suffix=suffix) as emu:
        drv, events = open_scanner(emu.port, suffix=suffix)
        emu.scan(code)
        emu.scan("second")
        poll_for(drv)
        assert texts(events) == [code, "second"]
        drv.close()


def test_suffix_none_ends_a_code_after_gap_ms_of_quiet():
    with WedgeEmulator(suffix="none") as emu:
        drv, events = open_scanner(emu.port, suffix="none")
        emu.scan("first")
        emu.pause(3 * GAP_MS / 1000)  # the scanner's pause, as the kernel's time stamps show it
        emu.scan("second")  # both arrive in one read: only the stamps tell them apart
        drv.poll()
        assert texts(events) == ["first"], "the gap inside the stream ends the first code"
        poll_for(drv, 2 * GAP_MS / 1000 + 0.1)
        assert texts(events) == ["first", "second"], "quiet after the last key ends the second"
        drv.close()


def test_half_a_code_without_its_suffix_is_dropped_and_reported(emulator):
    drv, events = open_scanner(emulator.port)
    emulator.send(key_reports("half-a-co", suffix="none"))
    emulator.pause(3 * GAP_MS / 1000)
    emulator.scan("whole")
    poll_for(drv)
    assert texts(events) == ["whole"]
    assert errors(events) == ["code dropped after 9 characters: no enter key within gap_ms"]
    drv.close()


@pytest.mark.parametrize(("key", "named"), [("KEY_F5", "KEY_F5 (63)"), (("KEY_LEFTCTRL", "KEY_V"), "KEY_V (47)")])
def test_a_key_with_no_character_drops_the_code_and_the_next_one_works(emulator, key, named):
    drv, events = open_scanner(emulator.port)
    emulator.send(key_reports("AB", suffix="none") + typed(key) + key_reports("CD"))
    emulator.scan("OK-123")
    poll_for(drv)
    assert texts(events) == ["OK-123"], "a code with a key missing is not the printed code"
    assert errors(events) == [f"code dropped after 2 characters: key {named} types no character on a US layout"]
    drv.close()


def test_over_long_code_is_dropped_and_reported_and_the_next_one_works(emulator):
    drv, events = open_scanner(emulator.port)
    emulator.scan("x" * (MAX_CODE_BYTES + 1))
    poll_for(drv, 0.3)
    emulator.scan("y" * MAX_CODE_BYTES)  # exactly the bound: a code
    poll_for(drv, 0.3)
    emulator.scan("next-1")
    poll_for(drv)
    assert texts(events) == ["y" * MAX_CODE_BYTES, "next-1"]
    assert errors(events) == [f"code dropped after {MAX_CODE_BYTES} characters: longer than {MAX_CODE_BYTES} bytes"]
    drv.close()


def test_key_repeat_events_type_nothing_more(emulator):
    """A key held past the kernel's repeat delay sends value 2 events: one press still types once."""
    a, shift, one, enter = ecodes.KEY_A, ecodes.KEY_LEFTSHIFT, ecodes.KEY_1, ecodes.KEY_ENTER
    K = ecodes.EV_KEY
    emulator.send([[(K, a, 1), SYN_REPORT], *[[(K, a, 2), SYN_REPORT]] * 5, [(K, a, 0), SYN_REPORT],
                   [(K, shift, 1), SYN_REPORT], *[[(K, shift, 2), SYN_REPORT]] * 3,
                   [(K, one, 1), SYN_REPORT], [(K, one, 2), SYN_REPORT], [(K, one, 0), (K, shift, 0), SYN_REPORT],
                   [(K, enter, 1), SYN_REPORT], *[[(K, enter, 2), SYN_REPORT]] * 3, [(K, enter, 0), SYN_REPORT]])
    emulator.scan("b")
    drv, events = open_scanner(emulator.port)
    poll_for(drv)
    assert texts(events) == ["a!", "b"]
    assert not errors(events)
    drv.close()


def test_lost_events_drop_the_code_under_way(emulator):
    drv, events = open_scanner(emulator.port)
    emulator.send(key_reports("SL2024", suffix="none") + [[(keys.EV_SYN, keys.SYN_DROPPED, 0)]]
                  + key_reports("0123"))
    emulator.scan("SL20240612")
    poll_for(drv)
    assert texts(events) == ["SL20240612"], "the code whose middle the kernel lost is not reported"
    assert errors(events) == ["code dropped after 6 characters: the kernel dropped events (reader too slow)"]
    drv.close()


# ------------------------------------------------------------------ no device, no evdev


def test_no_input_devices_is_no_device_with_a_precise_message(monkeypatch, tmp_path):
    monkeypatch.setattr(hid, "INPUT_DIR", str(tmp_path / "input"))  # as on this machine: none
    ids = {"vendor_id": "0x0c2e", "product_id": "0B61"}
    drv = build_driver("qr", {"driver": "hid-scanner", **ids}, lambda e: None)
    with pytest.raises(DeviceGone, match=r"/input does not exist on this machine \(no input devices\): "
                                         r"cannot look for the scanner with USB id 0c2e:0b61$"):
        drv.open()
    (tmp_path / "input").mkdir()
    with pytest.raises(DeviceGone, match=r"no keyboard device with USB id 0c2e:0b61 among 0 nodes"):
        drv.open()
    manager = DeviceManager({"qr": {"driver": "hid-scanner", **ids}})
    manager.start()
    try:
        seen: list = []
        deadline = time.monotonic() + 3
        while not any(isinstance(e, StatusChanged) and e.state is DeviceState.NO_DEVICE for e in seen):
            assert time.monotonic() < deadline, f"no NO_DEVICE: {seen}"
            seen += manager.drain()
            time.sleep(0.02)
        assert not [e for e in seen if isinstance(e, ErrorEvent)], seen
    finally:
        manager.stop()


@pytest.mark.parametrize(("path", "message"), [
    ("{tmp}/by-id/usb-Honeywell-event-kbd", r"no such device: .*usb-Honeywell-event-kbd \(unplugged\?"),
    ("{tmp}", r" is not an input device node$"),
    ("/dev/null", r"^/dev/null is not an input event device \(Inappropriate ioctl for device\)$"),
])
def test_a_device_path_that_is_no_scanner_is_no_device(tmp_path, path, message):
    drv = build_driver("qr", {"driver": "hid-scanner", "device": path.format(tmp=tmp_path)}, lambda e: None)
    with pytest.raises(DeviceGone, match=message):
        drv.open()
    assert drv.state() is not DeviceState.ONLINE
    drv.close()


NO_EVDEV = """
import sys, time
sys.modules["evdev"] = None  # as where python-evdev is not installed or its build failed
from devices.errors import DeviceGone
from devices.events import StatusChanged
from devices.manager import DeviceManager, build_driver
for opts in ({"vendor_id": 0x0c2e, "product_id": 0x0b61}, {"device": "/dev/null"}):
    try:
        build_driver("qr", {"driver": "hid-scanner", **opts}, print).open()
    except DeviceGone as exc:
        print("gone:", exc)
manager = DeviceManager({"qr": {"driver": "hid-scanner", "vendor_id": 1, "product_id": 2}})
manager.start()
time.sleep(0.5)
manager.stop()
print("events:", [e.state.value if isinstance(e, StatusChanged) else type(e).__name__ for e in manager.drain()])
"""


def test_without_evdev_the_scanner_is_no_device_and_says_why():
    out = subprocess.run([sys.executable, "-c", NO_EVDEV], capture_output=True, text=True, timeout=30,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("gone: python-evdev cannot be imported (")
    assert lines[0].endswith("): cannot look for the scanner with USB id 0c2e:0b61")
    assert lines[1].startswith("gone: python-evdev cannot be imported (") and lines[1].endswith("cannot grab /dev/null")
    assert lines[2] == "events: ['no_device']", out.stdout + out.stderr


# ------------------------------------------------------------------ options


def test_options_take_usb_ids_as_hex_strings_or_ints_and_one_way_to_find_the_scanner():
    opts = hid.HidScanner.Options(vendor_id="0x0c2e", product_id=0x0B61)
    assert (opts.vendor_id, opts.product_id) == SCANNER_ID
    for bad, why in [({"vendor_id": "0x0c2e"}, "give either device or both vendor_id and product_id"),
                     ({"device": "/dev/input/event3", "vendor_id": 1, "product_id": 2}, "give either"),
                     ({}, "give either"),
                     ({"vendor_id": "0xzz", "product_id": 1}, 'vendor_id: Value error, must be a hex USB id such as "0x0c2e"'),
                     ({"vendor_id": 0x10000, "product_id": 1}, "vendor_id: Input should be less than or equal to 65535"),
                     ({"vendor_id": True, "product_id": 1}, "vendor_id: Input should be a valid integer")]:
        with pytest.raises(DeviceConfigError, match=why.replace("(", r"\(")):
            build_driver("qr", {"driver": "hid-scanner", **bad}, lambda e: None)


def test_the_example_in_the_shipped_config_is_valid():
    text = (Path(__file__).resolve().parent.parent / "config" / "kiosk.toml").read_text(encoding="utf-8")
    block = text.split("# [devices.qr]\n", 1)[1].split("\n\n", 1)[0]
    table = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    drv = build_driver("qr", table, lambda e: None)
    assert (drv.options.vendor_id, drv.options.product_id, drv.options.suffix) == (*SCANNER_ID, "enter")


# ------------------------------------------------------------------ the real kernel


def _uinput_unavailable() -> str | None:
    try:
        fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        return (f"cannot open /dev/uinput: {exc.strerror} (errno {exc.errno}); this kernel or container "
                "offers no uinput, so no real input device can be made (the FIFO tests above cover the rest)")
    os.close(fd)
    return None


def test_real_kernel_uinput():
    """A uinput device with the scanner's USB id: the driver finds it by id, grabs it, reads the
    codes typed on it, and while it holds the grab nobody else gets the keystrokes."""
    why = _uinput_unavailable()
    if why:
        pytest.skip(why)
    layout_keys = [*keys.LAYOUT, ecodes.KEY_ENTER, ecodes.KEY_TAB, ecodes.KEY_LEFTSHIFT]
    ui = evdev.UInput({ecodes.EV_KEY: layout_keys}, name="hidscan test scanner", vendor=SCANNER_ID[0],
                      product=SCANNER_ID[1], bustype=ecodes.BUS_USB)
    events: list = []
    try:
        drv = build_driver("qr", {"driver": "hid-scanner", "vendor_id": "0x0c2e", "product_id": "0x0b61",
                                  "gap_ms": 200}, events.append)
        deadline = time.monotonic() + 5
        while True:  # udev makes the node a moment after the device appears
            try:
                drv.open()
                break
            except DeviceGone:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        other = evdev.InputDevice(ui.device.path)  # what the kiosk UI would read from
        try:
            assert drv.state() is DeviceState.ONLINE
            with pytest.raises(OSError):
                other.grab()  # EBUSY: the driver holds the grab
            codes = ["https://zwfw.example.gov.cn/q?id=SL20240612000123&lang=zh", "A~b!C@"]
            for code in codes:
                for report in key_reports(code):
                    for etype, key, value in report:
                        ui.write(etype, key, value)
            poll_for(drv, 1.0)
            assert texts(events) == codes
            assert other.read_one() is None, "a keystroke reached another reader past the grab"
            drv.close()
            other.grab()  # closing the driver gave the device back
            other.ungrab()
        finally:
            drv.close()
            other.close()
    finally:
        ui.close()
