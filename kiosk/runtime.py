"""Assembles a running kiosk from its configuration: central platform, devices, controller."""

from __future__ import annotations

import logging
from contextlib import ExitStack, contextmanager
from typing import Any

from devices.manager import DeviceManager
from kiosk.central_client import CentralClient
from kiosk.config import KioskConfig
from kiosk.controller import KioskController

log = logging.getLogger("kiosk.runtime")


@contextmanager
def running_kiosk(config: KioskConfig, device_overrides: dict[str, dict[str, Any]] | None = None):
    """Yield a KioskController with its devices started; stop everything on exit.

    ``device_overrides`` replaces options of configured devices (the demo points them at emulators).
    """
    with ExitStack() as stack:
        url = config.central.url
        if url == "embedded":
            from central.server import BackgroundServer

            config.var_dir.mkdir(parents=True, exist_ok=True)
            server = stack.enter_context(BackgroundServer(config.var_dir / "central.db"))
            url = server.url
            log.info("embedded central platform at %s", url)
        central = CentralClient(url, timeout=(3.05, config.central.timeout_s))
        tables = {name: {**table, **(device_overrides or {}).get(name, {})}
                  for name, table in config.devices.items()}
        devices = DeviceManager(tables)
        devices.start()
        stack.callback(devices.stop)
        controller = KioskController(config, central, devices)
        stack.callback(controller.shutdown)
        yield controller
