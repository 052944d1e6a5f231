"""`kiosk devices read-id` and `kiosk devices read-card`: read one card now, from the command line.

For integrators and staff at a terminal: the driver is built from the configuration (``--device``)
or from options given on the command line (``--driver``), through the registry like the kiosk
does, and opened in this process (stop the kiosk first: a serial port has one owner). Personal
data is masked unless ``--reveal``. Exit 0 with a card read, 1 with no card or a reader error,
2 for a usage or configuration error. ``read-id`` lets the driver ask again for frames a noisy
line damaged until ``--wait`` is spent, and prints how many times it did (``retries``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from devices.errors import DeviceError
from devices.events import ErrorEvent, Event
from devices.identity import Identity, mask_number
from devices.manager import DeviceConfigError, build_driver
from devices.status import DeviceState

# Fields of the card-type extras that say nothing about who the person is.
_PUBLIC_EXTRA = ("nationality", "card_version", "renewals", "issue_count")


def read_id(load_config: Callable, device: str | None, driver: str | None, port: str | None,
            baud: str | None, as_json: bool, reveal: bool, wait: float) -> int:
    options: dict[str, Any] = {"port": port}
    if baud:
        # Digits become a number for the driver's schema to judge; anything else goes as written,
        # so "1e23" or "fast" gets the driver's own one-line error, not a traceback here.
        options["baud"] = int(baud) if baud.isascii() and baud.isdigit() else baud
    return _read("id_reader", load_config, device, driver, options, as_json, wait,
                 lambda drv, until: drv.read_identity(until=until), lambda ident: identity_json(ident, reveal),
                 stats=lambda drv: {"retries": drv.retries})


def read_card(load_config: Callable, device: str | None, driver: str | None, readers: list[str],
              as_json: bool, reveal: bool, wait: float) -> int:
    def shown(info: dict[str, str]) -> dict[str, str]:
        if not reveal and "card_number" in info:
            info = {**info, "card_number": mask_number(info["card_number"])}
        return info

    return _read("card_reader", load_config, device, driver, {"readers": readers}, as_json, wait,
                 lambda drv, until: drv.read_card(), shown)


def identity_json(identity: Identity, reveal: bool) -> dict[str, Any]:
    """What `read-id` prints: the masked forms, or everything but the photo with --reveal."""
    out: dict[str, Any] = {
        "card_type": identity.card_type.value,
        "name": identity.name if reveal else identity.masked_name,
        "id_number": identity.id_number if reveal else identity.masked_number,
        "gender": identity.gender,
        "nation": identity.nation,
        "valid_from": _iso(identity.valid_from),
        "valid_to": "长期" if identity.long_term else _iso(identity.valid_to),
    }
    if reveal:
        out |= {"birth_date": _iso(identity.birth_date), "address": identity.address,
                "issuer": identity.issuer}
        extra = {k: v for k, v in identity.extra.items() if isinstance(v, str)}
    else:
        extra = {k: v for k, v in identity.extra.items() if k in _PUBLIC_EXTRA}
    out["extra"] = extra
    out["photo_bytes"] = len(identity.photo)  # the WLT bytes themselves are never printed
    out["masked"] = not reveal
    return out


def _iso(date) -> str:
    return date.isoformat() if date else ""


def _read(kind: str, load_config: Callable, device: str | None, driver_name: str | None,
          cli_options: dict[str, Any], as_json: bool, wait: float, read: Callable, shown: Callable,
          stats: Callable = lambda drv: {}) -> int:
    """``read(driver, deadline)`` until it gives a card or the ``wait`` is spent; ``stats(driver)``
    adds what the driver counted (retries) to the output, also when the read failed."""
    events: list[Event] = []
    try:
        name, table = _table(kind, load_config, device, driver_name, cli_options)
        drv = build_driver(name, table, events.append)
    except (DeviceConfigError, KeyError) as exc:
        return _fail(as_json, "config", str(exc.args[0] if exc.args else exc), "配置错误", exit_code=2)
    if drv.kind != kind:
        return _fail(as_json, "config", f"device {name} is a {drv.kind}, not a {kind}", "配置错误", exit_code=2)
    deadline = time.monotonic() + wait
    try:
        drv.open()
        if drv.state() is not DeviceState.ONLINE:
            err = next((e for e in reversed(events) if isinstance(e, ErrorEvent)), None)
            if err is not None:
                return _fail(as_json, err.code, err.message, err.message_zh, stats(drv))
        while True:
            result = read(drv, deadline)
            if result is not None or time.monotonic() >= deadline:
                break
            time.sleep(min(drv.poll_interval, 0.5))
    except DeviceError as exc:
        return _fail(as_json, exc.code, str(exc), exc.zh, stats(drv))
    finally:
        drv.close()
    if result is None:
        return _fail(as_json, "no_card", f"no card on {name} within {wait:g} s", "未检测到证件/卡片", stats(drv))
    data = {**shown(result), **stats(drv)}
    if as_json:
        print(json.dumps({"ok": True, "device": name, **data}, ensure_ascii=False, indent=1))
    elif isinstance(data, dict):
        for key, value in data.items():
            print(f"{key:16} {value}")
    return 0


def _table(kind: str, load_config: Callable, device: str | None, driver_name: str | None,
           cli_options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if driver_name:
        options = {k: v for k, v in cli_options.items() if v not in (None, [], "")}
        return driver_name, {"driver": driver_name, **options}
    cfg = load_config()
    if device:
        if device not in cfg.devices:
            raise DeviceConfigError(f"no device named {device} in the configuration "
                                    f"(configured: {', '.join(cfg.devices) or 'none'})")
        return device, dict(cfg.devices[device])
    for name, table in cfg.devices.items():  # the first configured device of the right kind
        try:
            if build_driver(name, table, lambda e: None).kind == kind:
                return name, dict(table)
        except DeviceConfigError:
            continue
    raise DeviceConfigError(f"no {kind} in the configuration; use --device or --driver")


def _fail(as_json: bool, code: str, message: str, message_zh: str, stats: dict | None = None, *,
          exit_code: int = 1) -> int:
    if as_json:
        print(json.dumps({"ok": False, "error": code, "message": message, "message_zh": message_zh,
                          **(stats or {})}, ensure_ascii=False, indent=1))
    print(f"error: {message_zh} — {message}", file=sys.stderr)
    return exit_code
