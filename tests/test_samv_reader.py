"""SamSerialReader against SamEmulator through a real pty and pyserial: the code a hall runs."""

from __future__ import annotations

import datetime as dt
import os
import select
import termios
import time
import tty

import pytest
from pydantic import ValidationError

from devices.errors import DeviceError, DeviceGone
from devices.events import CardRemoved, ErrorEvent, IdentityRead
from devices.status import DeviceState
from drivers.samv import protocol as p
from drivers.samv.driver import SamSerialReader
from drivers.samv.emulator import SAMPLE_CARDS, SamEmulator

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def emulator():
    with SamEmulator() as emu:
        yield emu


@pytest.fixture
def events():
    return []


@pytest.fixture
def reader(emulator, events):
    drv = SamSerialReader("idcard", SamSerialReader.Options(port=emulator.port, timeout_ms=500),
                          events.append)
    drv.open()
    yield drv
    drv.close()


def test_open_probes_the_sam(reader, emulator):
    assert reader.state() is DeviceState.ONLINE
    assert emulator.requests[0].command == p.SAM_STATUS
    assert reader.capabilities == frozenset({"photo"})


def test_place_card_reads_the_right_person(reader, emulator):
    emulator.place_card(SAMPLE_CARDS["wang_kun"])
    started = time.monotonic()
    identity = reader.read_identity()
    elapsed = time.monotonic() - started
    assert identity.name == "王堃" and identity.nation == "彝" and identity.gender == "男"
    assert identity.masked_number == "510102********0136"
    assert identity.birth_date == dt.date(1962, 8, 9)
    assert identity.long_term and identity.valid_to is None
    assert len(identity.photo) == 1024
    assert 0.1 < elapsed < 1.0  # 1295 bytes at 115200 baud take ~112 ms on the wire
    assert [r.command for r in list(emulator.requests)[-4:]] == [
        p.FIND_CARD, p.SELECT_CARD, p.READ_BASE, p.READ_NEWEST_ADDRESS]


def test_handle_read(reader, emulator):
    emulator.place_card(SAMPLE_CARDS["ayguli"])
    assert reader.handle("read", {}).name == "阿依古丽·买买提"
    with pytest.raises(NotImplementedError):
        reader.handle("print", {})


def test_no_card_reads_none(reader, events):
    assert reader.read_identity() is None
    reader.poll()
    assert events == []


def test_card_left_on_reader_is_reported_once_then_removed(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    for _ in range(3):
        reader.poll()
    assert [type(e) for e in events] == [IdentityRead]
    assert events[0].identity.name == "李晓梅" and events[0].device == "idcard"
    emulator.remove_card()
    reader.poll()
    reader.poll()
    assert [type(e) for e in events] == [IdentityRead, CardRemoved]
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])  # the same card placed again is a new event
    reader.poll()
    assert [type(e) for e in events] == [IdentityRead, CardRemoved, IdentityRead]


def test_card_swapped_between_polls(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    reader.poll()
    emulator.place_card(SAMPLE_CARDS["deng_yuxi"])
    reader.poll()
    assert [type(e) for e in events] == [IdentityRead, CardRemoved, IdentityRead]
    assert events[2].identity.name == "邓雨汐"


def test_read_request_then_poll_does_not_report_twice(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["deng_yuxi"])
    assert reader.read_identity() is not None
    reader.poll()
    assert events == []


def test_a_card_left_on_the_reader_is_announced_again_on_request(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    reader.poll()
    reader.poll()
    assert [type(e) for e in events] == [IdentityRead]
    assert reader.handle("announce", {}) is True  # "使用此证件" after a sign-out: the same card again
    assert [type(e) for e in events] == [IdentityRead, IdentityRead]
    assert events[1].identity.id_number == SAMPLE_CARDS["li_xiaomei"].id_number
    reader.poll()
    assert len(events) == 2  # and not once more by the poll
    emulator.remove_card()
    assert reader.handle("announce", {}) is False
    assert [type(e) for e in events] == [IdentityRead, IdentityRead, CardRemoved]


def test_closing_reports_a_card_it_can_no_longer_see(reader, emulator, events):
    reader.close()
    assert events == []  # nothing was on it
    reader.open()
    emulator.place_card(SAMPLE_CARDS["wang_kun"])
    reader.poll()
    reader.close()  # the reader vanished: for all the kiosk knows the card was taken
    assert [type(e) for e in events] == [IdentityRead, CardRemoved]
    reader.close()
    reader.open()
    reader.poll()  # still there after the reopen: reported again
    assert [type(e) for e in events] == [IdentityRead, CardRemoved, IdentityRead]


def test_identity_never_logged_in_full(reader, emulator, caplog):
    card = SAMPLE_CARDS["li_xiaomei"]
    emulator.place_card(card)
    with caplog.at_level("DEBUG"):
        reader.read_identity()
    assert caplog.text and card.id_number not in caplog.text and card.name not in caplog.text


def test_emulator_closed_means_device_gone(reader, emulator):
    emulator.close()
    with pytest.raises(DeviceGone):
        reader.read_identity()
    with pytest.raises(DeviceGone):
        reader.open()  # the pty node is gone too
    reader.close()
    reader.close()


def test_poll_raises_device_gone_too(reader, emulator):
    emulator.close()
    with pytest.raises(DeviceGone):
        reader.poll()


def test_open_missing_port_is_device_gone(events):
    drv = SamSerialReader("idcard", SamSerialReader.Options(port="/dev/does-not-exist"), events.append)
    with pytest.raises(DeviceGone):
        drv.open()
    assert drv.state() is DeviceState.UNKNOWN
    drv.close()


def test_state_unknown_until_the_sam_answers(events):
    master, slave = os.openpty()  # a port where nothing answers
    tty.setraw(slave)
    try:
        drv = SamSerialReader("idcard", SamSerialReader.Options(port=os.ttyname(slave), timeout_ms=200),
                              events.append)
        assert drv.state() is DeviceState.UNKNOWN
        drv.open()
        assert drv.state() is DeviceState.UNKNOWN
        assert [e.code for e in events if isinstance(e, ErrorEvent)] == ["timeout"]
        drv.poll()  # re-probes, still silent: no second error event, no crash
        assert drv.state() is DeviceState.UNKNOWN and len(events) == 1
        with pytest.raises(DeviceError):
            drv.read_identity()
        drv.close()
    finally:
        os.close(slave)
        os.close(master)


class SelfTestFailedSam(SamEmulator):
    def answer(self, request):
        return p.build_reply(p.SW_SELF_TEST_FAILED)


def test_state_online_only_after_status_90(events):
    with SelfTestFailedSam() as emu:
        drv = SamSerialReader("idcard", SamSerialReader.Options(port=emu.port, timeout_ms=500),
                              events.append)
        drv.open()
        assert drv.state() is DeviceState.HARDWARE_ERROR
        assert events[-1].code == "sam_60" and not events[-1].will_retry
        with pytest.raises(DeviceError):
            drv.read_identity()
        drv.close()


def test_emulator_answers_bad_host_checksum_with_sw3_10(emulator):
    fd = os.open(emulator.port, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        attrs = termios.tcgetattr(fd)
        attrs[4] = attrs[5] = termios.B115200  # the emulator's line speed, or it hears noise
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        os.write(fd, bytes.fromhex("AA AA AA 96 69 00 03 20 01 21"))
        reader, deadline, got = p.FrameReader(), time.monotonic() + 1, []
        while not got and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                got = reader.feed(os.read(fd, 64))
        assert got == [p.Reply(0, 0, p.SW_BAD_CHECKSUM)]
    finally:
        os.close(fd)


def test_emulator_answers_sam_id_and_newest_address(emulator, events):
    drv = SamSerialReader("idcard", SamSerialReader.Options(port=emulator.port, timeout_ms=500),
                          events.append)
    drv.open()
    try:
        sam_id = drv._transact(p.SAM_ID)
        assert sam_id.sw3 == p.SW_OK and len(sam_id.data) == 16
        emulator.place_card(SAMPLE_CARDS["wang_kun"])
        assert drv._transact(p.READ_NEWEST_ADDRESS).sw3 == p.SW_NO_CONTENT
        assert drv._transact(p.Command(0x99, 0x99)).sw3 == p.SW_BAD_COMMAND
    finally:
        drv.close()


def test_options_are_validated():
    SamSerialReader.Options(port="/dev/ttyUSB0", baud=9600)
    with pytest.raises(ValidationError):
        SamSerialReader.Options(port="/dev/ttyUSB0", baud=12345)
    with pytest.raises(ValidationError):
        SamSerialReader.Options(port="/dev/ttyUSB0", colour="red")
