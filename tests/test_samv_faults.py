"""SamSerialReader through a real pty against every card type, every SW3 code and every fault mode
the emulator can put on the wire; plus SAM id, newest address, fingerprint, baud/port detection."""

from __future__ import annotations

import datetime as dt
import os
import time
import tty

import pytest

from devices.contracts import HealthLevel
from devices.errors import DeviceError, DeviceGone, DeviceTimeout, ProtocolError
from devices.events import CardRemoved, ErrorEvent, IdentityRead, StatusChanged, to_json
from devices.identity import CardType
from devices.status import DeviceState
from drivers.samv import protocol as p
from drivers.samv.driver import RETRY_WINDOW, SamSerialReader, format_sam_id
from drivers.samv.emulator import FAKE_FINGERPRINT, SAMPLE_CARDS, SamEmulator

pytestmark = pytest.mark.timeout(15)


@pytest.fixture
def emulator():
    with SamEmulator() as emu:
        yield emu


@pytest.fixture
def events():
    return []


def make_reader(port, events, **options) -> SamSerialReader:
    drv = SamSerialReader("idcard", SamSerialReader.Options(port=port, timeout_ms=400, **options),
                          events.append)
    drv.open()
    return drv


@pytest.fixture
def reader(emulator, events):
    drv = make_reader(emulator.port, events)
    yield drv
    drv.close()


# ---------------------------------------------------------------- every card type


@pytest.mark.parametrize("key", list(SAMPLE_CARDS))
def test_every_sample_card_is_read_as_its_type(reader, emulator, events, key):
    card = SAMPLE_CARDS[key]
    emulator.place_card(card)
    reader.poll()
    [event] = events
    got = event.identity
    assert got.card_type is card.card_type and got.id_number == card.id_number and got.name == card.name
    assert (got.birth_date, got.valid_from, got.valid_to, got.long_term) == (
        card.birth_date, card.valid_from, card.valid_to, card.long_term)
    assert isinstance(got.birth_date, dt.date) and len(got.photo) == 1024
    # Masked everywhere it is shown: repr, str, log form, JSON.
    for shown in (repr(got), str(got), got.log_form(), str(to_json(event))):
        assert card.id_number not in shown and got.masked_number in shown
    assert got.masked_number == card.id_number[:6] + "*" * (len(card.id_number) - 10) + card.id_number[-4:]


def test_card_types_carry_their_own_fields(reader, emulator):
    emulator.place_card(SAMPLE_CARDS["chen_jiahao"])
    hmt = reader.read_identity()
    assert hmt.card_type is CardType.HMT_RESIDENT and hmt.id_number.startswith("81")
    assert hmt.extra["permit_number"] == "H12345678" and hmt.nation == ""
    emulator.place_card(SAMPLE_CARDS["mark_smith"])
    old = reader.read_identity()
    assert old.card_type is CardType.FOREIGNER_2017 and old.extra["nationality"] == "CAN"
    assert old.extra["name_en"] == "SMITH, MARK JOHN" and old.name == "马克"
    emulator.place_card(SAMPLE_CARDS["alghamdi"])
    new = reader.read_identity()
    assert new.card_type is CardType.FOREIGNER_2023 and new.name == new.extra["name_en"]
    assert len(new.name) > 35 and new.extra["nationality"] == "SAU"


def test_reply_bytes_are_paced_at_the_baud_rate(events):
    with SamEmulator(baud=38400, card=SAMPLE_CARDS["li_xiaomei"]) as emu:
        drv = make_reader(emu.port, events, baud=38400, newest_address=False)
        try:
            started = time.monotonic()
            assert drv.read_identity().name == "李晓梅"
            elapsed = time.monotonic() - started
        finally:
            drv.close()
    assert 0.33 < elapsed < 1.5  # 1295 bytes × 10 bits / 38400 = 337 ms on the wire


# ---------------------------------------------------------------- every SW3 code


FAILING_SW3 = sorted(set(p.SW3_MESSAGES) - {p.SW_OK, p.SW_FOUND, p.SW_NO_CARD})


@pytest.mark.parametrize("sw3", FAILING_SW3, ids=lambda c: f"{c:02X}")
def test_every_failing_sw3_is_a_typed_error_with_both_messages(reader, emulator, events, sw3):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    emulator.fault = f"sw3_{sw3:02x}"
    zh, en = p.sw3_text(sw3)
    with pytest.raises(p.SamStatusError) as info:
        reader.read_identity()
    err = info.value
    assert err.sw3 == sw3 and err.code == f"sam_{sw3:02x}" and err.zh == zh and en in str(err)
    assert type(err) is not p.SamStatusError  # every known code has a category
    reader.poll()
    [event] = [e for e in events if isinstance(e, ErrorEvent)]
    assert event.code == f"sam_{sw3:02x}" and event.message_zh == zh
    assert not any(isinstance(e, IdentityRead) for e in events)
    fault = sw3 in (p.SW_SELF_TEST_FAILED, p.SW_NOT_AUTHORIZED)
    assert isinstance(err, p.SamFaultError) is fault and event.will_retry is not fault
    assert (reader.state() is DeviceState.HARDWARE_ERROR) is fault


def test_sw3_categories():
    assert isinstance(p.sam_error(0x41), p.CardStatusError)
    assert isinstance(p.sam_error(0x80), p.CardStatusError)
    assert isinstance(p.sam_error(0x81), p.CardStatusError)
    assert isinstance(p.sam_error(0x60), p.SamFaultError) and isinstance(p.sam_error(0x66), p.SamFaultError)
    assert isinstance(p.sam_error(0x10), p.HostFrameError)
    assert type(p.sam_error(0x77)) is p.SamStatusError and "77" in p.sam_error(0x77).zh


def test_sw3_80_no_card_is_not_an_error_it_is_a_removal(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    reader.poll()
    emulator.fault = "sw3_80"  # the card is still there but the reader stops finding it
    reader.poll()
    assert [type(e) for e in events] == [IdentityRead, CardRemoved]
    assert reader.state() is DeviceState.ONLINE


def test_sam_fault_at_open_is_hardware_error_until_it_clears(emulator, events):
    emulator.fault = "sw3_66"
    drv = make_reader(emulator.port, events)
    try:
        assert drv.state() is DeviceState.HARDWARE_ERROR
        assert [e.code for e in events] == ["sam_66"] and not events[0].will_retry
        assert events[0].message_zh == "SAM未经授权，无法使用"
        drv.poll()
        assert len(events) == 1  # one event per problem, not one per poll
        emulator.fault = None
        drv.poll()
        assert drv.state() is DeviceState.ONLINE
    finally:
        drv.close()


# ---------------------------------------------------------------- wire faults


def test_garbage_before_the_preamble_is_skipped(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["wang_kun"])
    emulator.fault = "garbage"
    reader.poll()
    assert [type(e) for e in events] == [IdentityRead]
    assert events[0].identity.name == "王堃"
    assert reader._frames.discarded > 0


def test_bad_checksum_is_a_protocol_error_never_a_person(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["wang_kun"])
    emulator.fault = "bad_checksum"
    with pytest.raises(ProtocolError) as info:
        reader.read_identity()
    assert info.value.code == "bad_checksum"
    started = time.monotonic()
    reader.poll()  # asks again for RETRY_WINDOW, then reports
    assert time.monotonic() - started >= RETRY_WINDOW
    assert [e.code for e in events] == ["bad_checksum"] and "asked" in events[0].message
    emulator.fault = None
    reader.poll()
    assert [type(e) for e in events] == [ErrorEvent, StatusChanged, IdentityRead]
    assert int(events[1].detail["retries"]) == reader.retries > 0


@pytest.mark.parametrize("fault", ["truncated", "silence"])
def test_truncated_or_missing_reply_times_out_then_recovers(reader, emulator, events, fault):
    emulator.place_card(SAMPLE_CARDS["ayguli"])
    emulator.fault = fault
    started = time.monotonic()
    with pytest.raises(DeviceTimeout):
        reader.read_identity()
    assert time.monotonic() - started < 1.5
    assert reader.state() is DeviceState.UNKNOWN
    reader.poll()
    assert [e.code for e in events] == ["timeout"] and events[0].message_zh
    emulator.fault = None
    reader.poll()  # re-probes the SAM, then reads
    assert reader.state() is DeviceState.ONLINE
    assert [type(e) for e in events if not isinstance(e, StatusChanged)] == [ErrorEvent, IdentityRead]
    # Half replies are a line fault, asked again; silence is a reader that does not answer.
    assert (reader.retries > 0) == (fault == "truncated")


def test_card_taken_away_mid_read(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    reader.poll()
    emulator.place_card(SAMPLE_CARDS["deng_yuxi"])
    emulator.fault = "removed_mid_read"
    reader.poll()  # half a reply, then nothing: asked again, the reader is empty now
    assert [type(e) for e in events] == [IdentityRead, CardRemoved]  # the half-read card is nobody
    assert reader.state() is DeviceState.ONLINE and reader.retries == 1
    reader.poll()
    assert [type(e) for e in events] == [IdentityRead, CardRemoved]


def test_sw3_41_card_moved_then_placed_again(reader, emulator, events):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    emulator.fault = "sw3_41"
    reader.poll()
    assert [e.code for e in events] == ["sam_41"] and events[0].message_zh == "读证/卡操作失败"
    emulator.fault = None
    reader.poll()
    assert [type(e) for e in events] == [ErrorEvent, IdentityRead]


# ---------------------------------------------------------------- commands beyond the read


def test_sam_id_and_health_check(reader):
    assert reader.read_sam_id() == "05.01-20230101-0012345678-0087654321"
    assert reader.handle("sam_id", {}) == reader.read_sam_id()
    report = reader.check_health(HealthLevel.INTERNAL, {})
    assert report.ok and "05.01-20230101" in report.text and "115200" in report.text
    with pytest.raises(ProtocolError):
        format_sam_id(b"\x00" * 15)


def test_health_check_of_a_silent_reader_fails(reader, emulator):
    emulator.fault = "silence"
    report = reader.check_health(HealthLevel.INTERNAL, {})
    assert not report.ok and report.state is DeviceState.UNKNOWN


def test_newest_address_when_the_card_has_one(reader, emulator):
    emulator.place_card(SAMPLE_CARDS["deng_yuxi"])
    assert reader.read_identity().extra["newest_address"] == "四川省成都市武侯区人民南路四段9号"
    emulator.place_card(SAMPLE_CARDS["wang_kun"])  # answers 91: no content
    assert "newest_address" not in reader.read_identity().extra


def test_fingerprint_variant(emulator, events):
    emulator.place_card(SAMPLE_CARDS["wang_kun"])
    drv = make_reader(emulator.port, events, fingerprint=True)
    try:
        identity = drv.read_identity()
        assert identity.name == "王堃" and identity.extra["fingerprint"] == FAKE_FINGERPRINT
        assert p.READ_BASE_FP in [r.command for r in emulator.requests]
        assert "fingerprint" in drv.capabilities
        assert FAKE_FINGERPRINT.hex() not in str(to_json(IdentityRead(device="x", identity=identity)))
    finally:
        drv.close()


def fake_decoder(wlt: bytes) -> bytes:
    return b"BM" + len(wlt).to_bytes(4, "little")


def broken_decoder(wlt: bytes) -> bytes:
    raise RuntimeError("软件未授权")


def test_photo_decoder_hook(emulator, events):
    emulator.place_card(SAMPLE_CARDS["li_xiaomei"])
    drv = make_reader(emulator.port, events, photo_decoder=f"{__name__}:fake_decoder")
    try:
        identity = drv.read_identity()
        assert identity.extra["photo_image"] == b"BM\x00\x04\x00\x00" and len(identity.photo) == 1024
    finally:
        drv.close()
    drv = make_reader(emulator.port, events, photo_decoder=f"{__name__}:broken_decoder")
    try:
        identity = drv.read_identity()  # a failing vendor decoder does not lose the person
        assert identity.name == "李晓梅" and "photo_image" not in identity.extra
    finally:
        drv.close()
    with pytest.raises(DeviceError):  # a configured decoder that is not installed fails loudly
        SamSerialReader("idcard", SamSerialReader.Options(port="x", photo_decoder="no_such_module:f"),
                        events.append)


def test_default_poll_interval_is_500_ms(emulator, events):
    drv = SamSerialReader("idcard", SamSerialReader.Options(port=emulator.port), events.append)
    assert drv.poll_interval == 0.5


# ---------------------------------------------------------------- port and baud detection


@pytest.mark.parametrize("baud", [57600, 9600])
def test_baud_auto_detection(events, baud):
    with SamEmulator(baud=baud) as emu:
        drv = make_reader(emu.port, events, baud="auto")
        try:
            assert drv.state() is DeviceState.ONLINE and drv.baud == baud
        finally:
            drv.close()


def test_wrong_fixed_baud_is_not_online(events):
    with SamEmulator(baud=9600) as emu:
        drv = make_reader(emu.port, events, baud=115200)
        try:
            assert drv.state() is not DeviceState.ONLINE
            assert events and isinstance(events[0], ErrorEvent)
        finally:
            drv.close()


def test_port_auto_detection_skips_a_silent_port(tmp_path, events):
    master, slave = os.openpty()  # a port where nothing answers, sorted first
    tty.setraw(slave)
    ports = tmp_path / "ports"
    ports.mkdir()
    try:
        with SamEmulator(baud=38400) as emu:
            (ports / "a-silent").symlink_to(os.ttyname(slave))
            (ports / "b-reader").symlink_to(emu.port)
            drv = make_reader(str(ports / "*"), events, baud="auto")
            try:
                assert drv.state() is DeviceState.ONLINE
                assert drv.port == str(ports / "b-reader") and drv.baud == 38400
            finally:
                drv.close()
    finally:
        os.close(slave)
        os.close(master)


def test_port_auto_detection_with_nothing_there_is_device_gone(tmp_path, events):
    drv = SamSerialReader("idcard", SamSerialReader.Options(port=str(tmp_path / "tty*")), events.append)
    with pytest.raises(DeviceGone):
        drv.open()
    drv.close()
