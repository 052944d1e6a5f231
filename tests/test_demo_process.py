"""The demo hardware in a process of its own (kiosk.demo_process), as the soak runs it: the
kiosk's own drivers, here, read a card placed through it, print on its printer and see the paper
taken out, all over the emulators' ptys; a request it has no answer for says so precisely and it
goes on answering; it keeps the slips it printed and leaves nothing running."""

from __future__ import annotations

import multiprocessing

import pytest

from devices.events import IdentityRead, RequestDone, StatusChanged
from devices.manager import DeviceManager
from devices.printdoc import Cut, Document, Text
from drivers.pcsc.emulator import wait_for
from kiosk.config import load
from kiosk.demo_process import HardwareProcess

pytestmark = pytest.mark.timeout(120)

CONFIG = """
[demo]
emulate = ["id_reader", "printer", "scanner"]

[devices.id_reader]
driver = "sam-serial"
port = "emulator"

[devices.printer]
driver = "escpos"
connection = "serial"
port = "emulator"

[devices.scanner]
driver = "serial-scanner"
port = "emulator"
"""


def test_the_kiosks_drivers_work_the_emulators_in_another_process(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG, "utf-8")
    cfg = load(path)
    with HardwareProcess(path, tmp_path / "slips") as hw:
        [child] = multiprocessing.active_children()
        overrides = hw.device_overrides()
        assert set(overrides) == {"id_reader", "printer", "scanner"}
        manager = DeviceManager({name: {**table, **overrides.get(name, {})} for name, table in cfg.devices.items()})
        manager.start()
        got = []

        def seen(kind, device):
            got.extend(manager.drain())
            return [e for e in got if isinstance(e, kind) and e.device == device]

        try:
            assert wait_for(lambda: any(e.state.value == "online" for e in seen(StatusChanged, "printer")), 15)
            masked, _type = hw.card_labels()[2]
            hw.place_card(2)
            assert wait_for(lambda: seen(IdentityRead, "id_reader"), 15)
            assert seen(IdentityRead, "id_reader")[0].identity.masked_name.startswith(masked)

            job = manager.request("printer", "print", document=Document("t", (Text("办件回执 测试"), Cut())),
                                  job_id="demo-process-1")
            assert wait_for(lambda: any(e.request_id == job and e.ok for e in seen(RequestDone, "printer")), 15)
            assert wait_for(lambda: hw.describe().endswith("slips: 1") or "slips: 1" in hw.describe(), 5)
            assert "办件回执 测试" in hw.take_slip_texts()[0]

            hw.printer.set_paper("out")
            assert hw.printer.paper == "out"
            assert wait_for(lambda: any(e.detail.get("paper") == "out" for e in seen(StatusChanged, "printer")), 15)

            hw.reader.fault = "silence"  # an attribute set over there, as the soak's faults are
            assert hw.reader.fault == "silence"
            with pytest.raises(RuntimeError, match=r"printer\.no_such_thing: AttributeError"):
                hw.printer.no_such_thing()
            assert "paper: out" in hw.describe()  # still answering
        finally:
            manager.stop()
    assert not child.is_alive() and not multiprocessing.active_children()
    assert [p.name for p in (tmp_path / "slips").iterdir()] == ["slip-001.png"]  # kept at the end


def test_a_hardware_that_cannot_start_says_why(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG.replace('driver = "serial-scanner"\nport = "emulator"', 'driver = "hid-scanner"\ndevice = "/dev/input/event9"'), "utf-8")
    with pytest.raises(RuntimeError, match="no emulator for driver 'hid-scanner'"), \
            HardwareProcess(path, tmp_path / "slips"):
        pass
    assert not multiprocessing.active_children()
