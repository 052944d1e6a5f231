"""Assembles a running kiosk from its configuration: central platform, devices, the shell."""

from __future__ import annotations

import importlib.metadata
import logging
from contextlib import ExitStack, contextmanager
from typing import Any

from devices.manager import DeviceManager
from kiosk.catalogue import Catalogue
from kiosk.catalogue import default_path as catalogue_path
from kiosk.central_client import CentralClient
from kiosk.commands import CommandBook
from kiosk.commands import default_path as commands_path
from kiosk.config import KioskConfig
from kiosk.embedded import EmbeddedPlatform
from kiosk.outbox import Outbox, Sender
from kiosk.outbox import default_path as outbox_path
from kiosk.shell import Shell

log = logging.getLogger("kiosk.runtime")


def version() -> str:
    try:
        return importlib.metadata.version("hall-kiosk")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


@contextmanager
def running_kiosk(config: KioskConfig, device_overrides: dict[str, dict[str, Any]] | None = None,
                  config_path=None):
    """Yield a Shell with its devices started; stop everything on exit.

    ``device_overrides`` replaces options of configured devices (the demo points them at emulators);
    ``config_path``: the file the platform's reload_config reads again.
    """
    with ExitStack() as stack:
        url = config.central.url
        if url == "embedded":
            config.var_dir.mkdir(parents=True, exist_ok=True)
            url = stack.enter_context(EmbeddedPlatform(config.var_dir / "central.db",
                                                       config.var_dir / "central.log")).url
        terminal_id, secret = config.central_credentials()
        central = CentralClient(url, timeout=(3.05, config.central.timeout_s), terminal_id=terminal_id,
                                secret=secret)
        stack.callback(central.close)
        outbox = Outbox(outbox_path(config.var_dir), terminal_id or config.terminal.id)
        stack.callback(outbox.close)
        sender = Sender(outbox, central,
                        failed_retention_s=config.outbox.failed_retention_days * 86400).start()
        stack.callback(sender.stop)
        if not secret:
            log.warning("no [central] secret configured: requests are unsigned, the outbox cannot deliver")
        tables = {name: {**table, **(device_overrides or {}).get(name, {})}
                  for name, table in config.devices.items()}
        devices = DeviceManager(tables)  # started by the shell's first tick (Shell.tick)
        stack.callback(devices.stop)
        shell = Shell(config, central, devices, catalogue=Catalogue(catalogue_path(config.var_dir), config.search.aliases),
                      outbox=outbox, sender=sender, version=version(),
                      commands=CommandBook(commands_path(config.var_dir)), config_path=config_path)
        stack.callback(shell.shutdown)
        yield shell
