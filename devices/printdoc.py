"""A printable document: what to print, independent of any printer's language.

The application describes a slip once with these elements; each printer driver renders them
(ESC/POS Chinese mode, raster, ...). Widths are left to the driver: it knows its paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True)
class Text:
    text: str
    align: Align = Align.LEFT
    bold: bool = False
    size: int = 1  # 1 = normal, 2 = double width and height


@dataclass(frozen=True)
class KeyValue:
    """A label and a value on one line where they fit, the value wrapped below otherwise."""

    key: str
    value: str


@dataclass(frozen=True)
class Rule:
    char: str = "-"


@dataclass(frozen=True)
class QRCode:
    data: str
    size: int = 6  # module size in dots


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Cut:
    pass


Element = Text | KeyValue | Rule | QRCode | Feed | Cut


@dataclass(frozen=True)
class Document:
    kind: str  # receipt, guide, certificate, ticket, test
    elements: tuple[Element, ...] = field(default_factory=tuple)

    def text_lines(self) -> list[str]:
        """The document's words in order, for tests, logs and the audit trail."""
        out: list[str] = []
        for e in self.elements:
            if isinstance(e, Text):
                out.append(e.text)
            elif isinstance(e, KeyValue):
                out.append(f"{e.key}{e.value}")
        return out


# --- JSON form: print jobs are stored durably and may be handed to another process ----------------

_ELEMENTS: dict[str, type] = {"text": Text, "kv": KeyValue, "rule": Rule, "qr": QRCode, "feed": Feed,
                              "cut": Cut}
_NAMES = {cls: name for name, cls in _ELEMENTS.items()}


def to_json(document: Document) -> dict:
    """A plain dict (JSON-ready) that ``from_json`` turns back into an equal Document."""
    els = []
    for e in document.elements:
        item = {"type": _NAMES[type(e)], **vars(e)}
        if isinstance(e, Text):
            item["align"] = e.align.value
        els.append(item)
    return {"kind": document.kind, "elements": els}


def from_json(data: dict) -> Document:
    """Inverse of ``to_json``; an unknown element type is an error, never silently dropped."""
    els: list[Element] = []
    for item in data["elements"]:
        fields = dict(item)
        cls = _ELEMENTS.get(fields.pop("type", None))
        if cls is None:
            raise ValueError(f"unknown document element {item!r}")
        if cls is Text:
            fields["align"] = Align(fields.get("align", "left"))
        els.append(cls(**fields))
    return Document(kind=data["kind"], elements=tuple(els))
