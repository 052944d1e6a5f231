"""Printer profiles: what a model can do (paper width, a Chinese font, native QR, a cutter).

A device's ``profile`` names either a file here (``drivers/escpos/profiles/NAME.toml``) or a
model in python-escpos' capabilities database (``TM-T88V``, ``TM-T20II``...); the options set in
the device's own table win over the profile; without a profile the defaults are the driver's
long-standing ones (80 mm, Chinese font, native QR, cutter).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).with_name("profiles")
DEFAULT_DOTS = {80: 576, 58: 384}  # 203 dpi: the printable dots of each paper width
KEYS = ("width", "cjk_text", "native_qr", "cutter")


@dataclass(frozen=True)
class Profile:
    name: str = ""
    width: int = 80  # mm
    width_dots: int = 576
    cjk_text: bool = True
    native_qr: bool = True
    cutter: bool = True
    source: str = "defaults"


class UnknownProfile(ValueError):
    pass


def names() -> list[str]:
    """Every profile name: the files here, then python-escpos' models."""
    from drivers.escpos.driver import _cache_capabilities

    _cache_capabilities()
    from escpos.capabilities import CAPABILITIES

    return sorted(p.stem for p in FOLDER.glob("*.toml")) + sorted(
        n for n in CAPABILITIES["profiles"] if n not in ("default", "simple"))


def load(name: str) -> Profile:
    if not name:
        return Profile()
    path = FOLDER / f"{name}.toml"
    if "/" not in name and path.is_file():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        width = data.get("width", 80)
        return Profile(name, width, DEFAULT_DOTS[width], **{k: data[k] for k in KEYS[1:] if k in data},
                       source=str(path.name))
    from drivers.escpos.driver import _cache_capabilities

    _cache_capabilities()
    from escpos.capabilities import CAPABILITIES

    data = CAPABILITIES["profiles"].get(name)
    if data is None or name in ("default", "simple"):
        files = sorted(p.stem for p in FOLDER.glob("*.toml"))
        raise UnknownProfile(f"no printer profile named {name!r} (files: {', '.join(files)}; or a python-escpos "
                             f"model such as TM-T88V, TM-T20II)")
    width_mm = (data.get("media", {}).get("width", {}) or {}).get("mm")
    pixels = (data.get("media", {}).get("width", {}) or {}).get("pixels")
    width = 58 if isinstance(width_mm, int | float) and width_mm <= 60 else 80
    features = data.get("features", {})
    return Profile(name, width, pixels if isinstance(pixels, int) and 200 <= pixels <= 1000 else DEFAULT_DOTS[width],
                   # the database has no word for a Chinese font: the driver's default (the option says otherwise)
                   cjk_text=True, native_qr=bool(features.get("qrCode", False)),
                   cutter=bool(features.get("paperFullCut") or features.get("paperPartCut")),
                   source="python-escpos")


def resolve(name: str, overrides: dict) -> Profile:
    """The profile with the options the device's table sets put over it."""
    base = load(name)
    over = {k: v for k, v in overrides.items() if k in KEYS}
    if "width" in over and over["width"] != base.width:
        over["width_dots"] = DEFAULT_DOTS[over["width"]]
    return Profile(**{**base.__dict__, **over})
