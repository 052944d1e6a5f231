"""PcscCardReader through pyscard → pcscd → vpcd → our virtual social security card: no mocks.

The session fixture reuses a running pcscd or starts one (and stops it at the end).
"""

from __future__ import annotations

import socket
import time

import pytest
from smartcard import scard

from devices.errors import DeviceGone
from devices.events import CardInserted, CardRemoved, StatusChanged
from devices.manager import DeviceManager
from devices.status import DeviceState
from drivers.pcsc.driver import PcscCardReader
from drivers.pcsc.emulator import READERS, Pcscd, card_present, pcscd_processes, port_holders, wait_for
from drivers.pcsc.virtual_card import DEFAULT_ATR, EF05_RECORDS, VPCD_PORT, VirtualSocialSecurityCard

pytestmark = pytest.mark.timeout(180)  # the first test may wait its turn for pcscd (conftest)

SLOT0, SLOT1 = READERS


def test_a_vpcd_port_held_by_another_connection_is_named_and_then_waited_out():
    """Another program's connection on vpcd's port (the kernel hands 35963 out to anyone's
    connection): pcscd would come up without the virtual reader. The start says which port is
    held and how; once the connection has gone, the reader comes."""
    if pcscd_processes():
        pytest.skip("a pcscd of another program runs: its reader is not ours to test")
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.socket()
    client.bind(("127.0.0.1", VPCD_PORT))  # explicit, as the kernel might have chosen it
    client.connect(server.getsockname())
    peer, _ = server.accept()
    service = Pcscd()
    try:
        with pytest.raises(RuntimeError, match=f"{VPCD_PORT} ESTABLISHED"):
            service.start(port_wait=1.0)
        assert not pcscd_processes(), "no pcscd was started to come up without the reader"
        # The far end closes first, so that the TIME_WAIT falls on its port, not on vpcd's.
        peer.close()
        wait_for(lambda: client.recv(1) == b"", 2.0)
        client.close()
        assert wait_for(lambda: not port_holders([VPCD_PORT]), 5.0)
        service.start()
        assert service.ready()
    finally:
        for sock in (peer, client, server):
            sock.close()
        service.stop()


@pytest.fixture(scope="module")
def pcscd():
    service = Pcscd()
    try:
        service.start()
    except RuntimeError as exc:
        pytest.fail(f"PC/SC cannot run here: {exc}")
    yield service
    service.stop()


class Cards:
    """Virtual cards made by a test; all removed, and seen removed by pcscd, at its end."""

    def __init__(self):
        self.made: list[tuple[VirtualSocialSecurityCard, str]] = []

    def __call__(self, slot: int = 0, cls=VirtualSocialSecurityCard, **kw) -> VirtualSocialSecurityCard:
        card = cls(VPCD_PORT + slot, **kw)
        self.made.append((card, (SLOT0, SLOT1)[slot]))
        return card

    def close(self):
        for card, _ in self.made:
            card.remove()
        for reader in {reader for _, reader in self.made}:
            wait_for(lambda r=reader: not card_present(r), 5.0)


@pytest.fixture
def cards(pcscd):
    made = Cards()
    yield made
    made.close()


@pytest.fixture
def events():
    return []


def make_reader(events, readers=(SLOT0,)) -> PcscCardReader:
    drv = PcscCardReader("sscard", PcscCardReader.Options(readers=list(readers), poll_interval_ms=100),
                         events.append)
    drv.open()
    return drv


def poll_until(drv, events, kind, timeout=5.0, count=1):
    """Poll like the worker does until ``count`` events of ``kind`` arrived (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drv.poll()
        if sum(isinstance(e, kind) for e in events) >= count:
            return [e for e in events if isinstance(e, kind)]
        time.sleep(0.1)
    raise AssertionError(f"no {kind.__name__} within {timeout} s: {events}")


def test_insert_reads_atr_and_the_social_security_application(cards, events):
    card = cards()
    drv = make_reader(events)
    try:
        assert drv.state() is DeviceState.ONLINE
        drv.poll()
        assert events == []
        card.insert()
        [ev] = poll_until(drv, events, CardInserted)
        assert ev.reader == SLOT0 and ev.atr == DEFAULT_ATR.hex().upper()
        assert ev.info == {"application": "social_security",
                           "card_identifier": "330300D15600000599110145FFFFFFFF", "area_code": "330300",
                           "spec_version": "3.00", "card_number": "A12345678", "needs_auth": "true"}
        sent = [bytes(c) for c in card.commands]
        assert sent[0].startswith(bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"))
        assert sent[1] == bytes.fromhex("00C0000013")  # 61 13 answered with GET RESPONSE
        assert bytes.fromhex("00B2012C00") in sent and bytes.fromhex("00B2012C12") in sent  # 6C12 resent
        assert all(c[1] != 0x20 for c in sent)  # never a VERIFY (PIN)
        assert not any(c[1] == 0xB2 and c[3] == 0x34 and c[4] != 0 for c in sent)  # EF06 never fetched
        for _ in range(3):  # left in the slot: reported once
            drv.poll()
        assert len(events) == 1
        card.remove()
        [gone] = poll_until(drv, events, CardRemoved)
        assert gone.reader == SLOT0
        card.insert()  # the same card again is a new insertion
        poll_until(drv, events, CardInserted, count=2)
    finally:
        drv.close()


def card_events(reader: str) -> int:
    """How many insertions and removals pcscd has counted in ``reader`` (dwEventState's high word)."""
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return states[0][1] >> 16
    finally:
        scard.SCardReleaseContext(ctx)


def test_a_card_swapped_between_two_polls_is_another_card(cards, events):
    """Cards of one issuer share their ATR. One taken out and the next put in between two polls is
    still that card gone and a new one in, never taken for the first citizen's card."""
    first = cards()
    first.insert()
    drv = make_reader(events)
    try:
        poll_until(drv, events, CardInserted)
        counted = card_events(SLOT0)
        first.remove()
        assert wait_for(lambda: not card_present(SLOT0))  # seen by pcscd, not by the driver
        cards(ef05={**EF05_RECORDS, 7: b"B23456789"}).insert()
        assert wait_for(lambda: card_events(SLOT0) == counted + 2 and card_present(SLOT0))
        drv.poll()
        assert [(type(e).__name__, getattr(e, "info", {}).get("card_number")) for e in events] == [
            ("CardInserted", "A12345678"), ("CardRemoved", None), ("CardInserted", "B23456789")]
        drv.poll()
        assert len(events) == 3  # the second card is reported once
    finally:
        drv.close()


def test_several_readers(cards, events):
    first, second = cards(0), cards(1, ef05={1: bytes.fromhex("110100D156000005" + "00" * 8), 3: b"2.00"})
    drv = make_reader(events, readers=())
    try:
        first.insert()
        second.insert()
        inserted = poll_until(drv, events, CardInserted, count=2)
        by_reader = {e.reader: e.info for e in inserted}
        assert by_reader[SLOT0]["spec_version"] == "3.00"
        assert by_reader[SLOT1] == {"application": "social_security", "area_code": "110100",
                                    "card_identifier": "110100D156000005" + "00" * 8,
                                    "spec_version": "2.00", "needs_auth": "true"}  # no record 7
        second.remove()
        [gone] = poll_until(drv, events, CardRemoved)
        assert gone.reader == SLOT1
    finally:
        drv.close()


def test_reader_filter(cards, events):
    cards(0).insert()
    drv = make_reader(events, readers=["00 01"])
    try:
        drv.poll()
        time.sleep(0.3)
        drv.poll()
        assert events == []  # the card is in the other reader
        assert drv.read_card() is None
    finally:
        drv.close()
    with pytest.raises(DeviceGone, match="no PC/SC reader"):
        make_reader(events, readers=["No Such Reader"])


def test_t1_style_card_and_a_locked_card_number(cards, events):
    card = cards(t0=False, locked_ef05=frozenset({7}))
    card.insert()
    drv = make_reader(events)
    try:
        [ev] = poll_until(drv, events, CardInserted)
        assert "card_number" not in ev.info and ev.info["needs_auth"] == "true"
        assert ev.info["spec_version"] == "3.00"
        assert not any(c[1] == 0xC0 for c in card.commands)  # 9000 straight away: no GET RESPONSE
    finally:
        drv.close()


class ForeignCard(VirtualSocialSecurityCard):
    """A bank card, say: no SSSE application."""

    def _select(self, p1, body):
        return bytes.fromhex("6A82")


def test_other_cards_report_atr_only(cards, events):
    cards(cls=ForeignCard, atr=bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")).insert()
    drv = make_reader(events)
    try:
        [ev] = poll_until(drv, events, CardInserted)
        assert ev.info == {"application": "none", "select_sw": "6A82"}
        assert ev.atr.startswith("3B8F80")
    finally:
        drv.close()


class YankedCard(VirtualSocialSecurityCard):
    """Taken out of the slot while its records are being read."""

    def apdu(self, apdu):
        if apdu[1] == 0xB2:
            self._sock.close()  # the socket goes before any answer
            return None
        return super().apdu(apdu)


def test_card_pulled_mid_read_is_not_a_crash(cards, events):
    cards(cls=YankedCard).insert()
    drv = make_reader(events)
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            drv.poll()  # must not raise
            time.sleep(0.1)
        assert not any(isinstance(e, CardInserted) and e.info.get("application") == "social_security"
                       for e in events)
        assert drv.state() is DeviceState.ONLINE
    finally:
        drv.close()


def test_read_request(cards, events):
    drv = make_reader(events)
    try:
        assert drv.handle("read", {}) is None
        cards().insert()
        assert wait_for(lambda: card_present(SLOT0))
        info = drv.handle("read", {})
        assert info["reader"] == SLOT0 and info["spec_version"] == "3.00" and info["atr"]
    finally:
        drv.close()


def test_presence_a_card_left_is_announced_again_and_closing_reports_it_gone(cards, events):
    card = cards()
    drv = make_reader(events)
    try:
        assert drv.handle("announce", {}) == 0 and events == []
        card.insert()
        poll_until(drv, events, CardInserted)
        drv.poll()
        assert drv.handle("announce", {}) == 1  # asked again: the card left in the slot, reported again
        assert [type(e) for e in events] == [CardInserted, CardInserted]
        assert events[1].reader == SLOT0 and events[1].info["card_number"] == "A12345678"
    finally:
        drv.close()
    assert [type(e) for e in events] == [CardInserted, CardInserted, CardRemoved]  # unseen counts as taken
    drv.close()
    assert len(events) == 3


def test_under_the_device_manager(cards):
    manager = DeviceManager({"sscard": {"driver": "pcsc", "readers": [SLOT0], "poll_interval_ms": 100}})
    manager.start()
    got = []
    try:
        assert wait_for(lambda: got.extend(manager.drain()) or any(
            isinstance(e, StatusChanged) and e.state is DeviceState.ONLINE for e in got))
        cards().insert()
        assert wait_for(lambda: got.extend(manager.drain()) or any(isinstance(e, CardInserted) for e in got))
    finally:
        manager.stop()


def test_pcscd_going_away_is_a_status_not_a_crash(pcscd, events):
    if not pcscd.owned:
        pytest.skip("pcscd is run by the system here; only a pcscd this test started may be stopped")
    drv = make_reader(events)
    try:
        pcscd.stop()
        with pytest.raises(DeviceGone):
            for _ in range(20):
                drv.poll()
                time.sleep(0.1)
        drv.close()
        with pytest.raises(DeviceGone):
            drv.open()
        pcscd.start()
        drv.open()
        assert drv.state() is DeviceState.ONLINE
    finally:
        drv.close()


def test_cli_read_card(cards):
    import json
    import subprocess

    from tests.conftest import KIOSK

    def run(*args):
        return subprocess.run([KIOSK, "devices", "read-card", "--driver", "pcsc", "--reader", SLOT0, *args],
                              capture_output=True, text=True, timeout=30)

    r = run("--json", "--wait", "0.3")
    assert r.returncode == 1 and json.loads(r.stdout)["error"] == "no_card"
    cards().insert()
    r = run("--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["spec_version"] == "3.00" and out["area_code"] == "330300" and out["needs_auth"] == "true"
    assert out["card_number"] == "*********"  # masked unless --reveal
    assert json.loads(run("--json", "--reveal").stdout)["card_number"] == "A12345678"
