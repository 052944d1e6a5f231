"""Screens stay thin and in step with their page models (docs/architecture.md): every field a
screen reads - `root.page.<field>` in its .kv rule, `page.<field>` in its Python class - exists on
that screen's page model. A typo used to render a blank label silently."""

from __future__ import annotations

import re

from kiosk.journeys import JOURNEYS  # noqa: F401  (registers every journey's pages)
from kiosk.pages import PAGES, field_names
from tests.conftest import REPO

SCREENS = REPO / "screens"
RULE = re.compile(r"^<(\w+?)Screen(?:@\w+)?>:", re.M)


def snake(camel: str) -> str:
    """``CaseQuery`` -> ``case_query`` (screens/app.py names screen classes the other way)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def kv_reads(text: str) -> dict[str, set[str]]:
    """{screen name: fields its rule reads} for every `<XScreen>` rule in a .kv text."""
    out: dict[str, set[str]] = {}
    starts = [(m.start(), snake(m.group(1))) for m in RULE.finditer(text)]
    for i, (at, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        body = text[at:end].split("\n<", 1)[0]  # the rule ends where the next one starts
        out.setdefault(name, set()).update(re.findall(r"\broot\.page\.(\w+)", body))
    return out


def py_reads(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"^class (\w+?)Screen\((?:PageScreen|EntriesBase)\):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
        out.setdefault(snake(m.group(1)), set()).update(re.findall(r"\bpage\.(\w+)", m.group(2)))
    return out


def all_reads() -> dict[str, set[str]]:
    reads: dict[str, set[str]] = {}
    for path in [*SCREENS.glob("*.kv"), *SCREENS.glob("*.py")]:
        found = kv_reads(path.read_text(encoding="utf-8")) if path.suffix == ".kv" else \
            py_reads(path.read_text(encoding="utf-8"))
        for name, fields in found.items():
            reads.setdefault(name, set()).update(fields)
    return reads


def test_every_field_a_screen_reads_is_on_its_page():
    reads = all_reads()
    assert set(reads) == set(PAGES), "a screen without a page model, or a page without a screen"
    missing = {name: sorted(fields - field_names(PAGES[name])) for name, fields in reads.items()
               if fields - field_names(PAGES[name])}
    assert not missing
    assert sum(len(f) for f in reads.values()) > 25  # the scan does see the screens' fields


def test_the_scan_catches_a_typo():
    kv = "<GuideScreen>:\n    Label:\n        text: root.page.titel\n<Other@Label>:\n    text: root.page.x\n"
    assert kv_reads(kv) == {"guide": {"titel"}}
    assert "titel" not in field_names(PAGES["guide"])
    py = "class GuideScreen(PageScreen):\n    def refresh(self, page):\n        page.matrials\n"
    assert py_reads(py) == {"guide": {"matrials"}}
