"""The demo's hands for the 社保卡 (social security card): DemoHardware with a pcsc device in
demo.emulate starts pcscd and the vpcd reader as the tests do, and the kiosk's DeviceManager,
pointed at it by device_overrides(), sees the card go in and out."""

from __future__ import annotations

import pytest

from devices.events import CardInserted, CardRemoved, StatusChanged, to_json
from devices.manager import DeviceManager
from devices.status import DeviceState
from drivers.pcsc.emulator import wait_for
from kiosk.config import validate
from kiosk.demo import DemoHardware

pytestmark = pytest.mark.timeout(180)  # the first test may wait its turn for pcscd (conftest)


def test_insert_and_remove_the_social_security_card(tmp_path):
    cfg = validate({"devices": {"sscard": {"driver": "pcsc", "readers": ["Hall Reader"], "poll_interval_ms": 100}},
                    "demo": {"emulate": ["sscard"]}})
    with DemoHardware(cfg, tmp_path) as hw:
        assert hw.describe() == "社保卡: —"
        overrides = hw.device_overrides()
        assert overrides == {"sscard": {"readers": [hw.ss_reader.name]}}
        # As kiosk.runtime.running_kiosk builds the kiosk's devices.
        manager = DeviceManager({name: {**table, **overrides.get(name, {})} for name, table in cfg.devices.items()})
        manager.start()
        got = []

        def seen(kind):
            got.extend(manager.drain())
            return [to_json(e) for e in got if isinstance(e, kind)]

        try:
            assert wait_for(lambda: any(e["state"] == DeviceState.ONLINE.value for e in seen(StatusChanged)))
            hw.insert_ss_card()
            assert hw.describe() == "社保卡: in"
            assert wait_for(lambda: seen(CardInserted))
            [card] = seen(CardInserted)
            assert card["device"] == "sscard" and card["info"]["application"] == "social_security"
            assert card["info"]["card_number"] == "*********"  # A12345678, masked
            hw.remove_ss_card()
            assert hw.describe() == "社保卡: —"
            assert wait_for(lambda: seen(CardRemoved))
        finally:
            manager.stop()
