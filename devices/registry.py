"""Driver registry: drivers are found through the ``kiosk.drivers`` entry-point group.

The built-in drivers register the same way a vendor's package does, so this module never
names a driver module.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from devices.contracts import Driver

GROUP = "kiosk.drivers"


class DriverNotFound(LookupError):
    pass


def available() -> dict[str, str]:
    """Installed driver names and the object each entry point names (without importing it)."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load(name: str) -> type[Driver]:
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(sorted(available())) or "none"
        raise DriverNotFound(f"driver {name!r} is not installed (installed: {known})")
    try:
        cls = matches[0].load()
    except Exception as exc:  # a broken vendor package must fail loudly, naming itself
        raise DriverNotFound(f"driver {name!r} failed to import: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise DriverNotFound(f"driver {name!r} ({matches[0].value}) is not a devices.contracts.Driver")
    return cls
