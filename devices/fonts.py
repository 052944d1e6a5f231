"""The CJK font for everything that draws Chinese: the screens and the slips printed as raster.

Debian's fonts-noto-cjk ships only collections (.ttc) whose first face is Japanese, so glyphs such
as 门/骨/直 would come out in their Japanese forms. We extract the Simplified (SC) or Traditional
(TC) face once into a cache folder and hand out that file. ``KIOSK_CJK_FONT`` overrides it all.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_COLLECTIONS = {
    "regular": ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"],
    "bold": ["/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"],
}
_lock = threading.Lock()


class FontMissing(RuntimeError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hall-kiosk" / "fonts"


def cjk_font(style: str = "regular", variant: str = "SC") -> Path:
    """Path of a single-face OpenType font for the given style (regular/bold) and variant (SC/TC)."""
    override = os.environ.get("KIOSK_CJK_FONT")
    if override:
        return Path(override)
    target = cache_dir() / f"NotoSansCJK{variant.lower()}-{style}.otf"
    if target.exists():
        return target
    with _lock:
        if target.exists():
            return target
        source = next((Path(p) for p in _COLLECTIONS[style] if Path(p).exists()), None)
        if source is None:
            raise FontMissing(
                f"no CJK font: install the Debian package fonts-noto-cjk or set KIOSK_CJK_FONT "
                f"(looked for {', '.join(_COLLECTIONS[style])})"
            )
        _extract(source, f"Noto Sans CJK {variant}", target)
    return target


def _extract(collection: Path, family: str, target: Path) -> None:
    from fontTools.ttLib import TTCollection

    ttc = TTCollection(str(collection), lazy=True)
    for face in ttc.fonts:
        if face["name"].getDebugName(1) == family:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            face.save(str(tmp))
            os.replace(tmp, target)  # atomic, so a concurrent reader never sees half a font
            return
    raise FontMissing(f"{collection} has no face named {family!r}")
