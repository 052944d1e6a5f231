"""Translation catalogues: every word a citizen sees or takes home on paper comes from here.

Catalogues are JSON files in kiosk/locale, keyed by stable message ids: ``<lang>.json`` for what
the whole kiosk shares, and ``<lang>/<journey>.json`` for each journey's own words (a journey adds
its file; no two journeys edit the same one). An id defined twice is an error.
A missing id falls back to Simplified Chinese and then to the id itself, and is logged once,
so a gap shows up in the logs rather than as an empty button.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("zh_CN", "zh_TW", "en")
FALLBACK = "zh_CN"
log = logging.getLogger("kiosk.i18n")
_reported: set[tuple[str, str]] = set()


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    merged: dict[str, str] = {}
    for path in [LOCALE_DIR / f"{lang}.json", *sorted((LOCALE_DIR / lang).glob("*.json"))]:
        part = json.loads(path.read_text(encoding="utf-8"))
        if twice := set(part) & set(merged):
            raise ValueError(f"{path}: message ids defined twice: {', '.join(sorted(twice))}")
        merged |= part
    return merged


def translate(lang: str, key: str, **values: object) -> str:
    text = catalogue(lang).get(key)
    if text is None:
        if (lang, key) not in _reported:
            _reported.add((lang, key))
            log.warning("missing translation %s for %s", key, lang)
        text = catalogue(FALLBACK).get(key, key)
    return text.format(**values) if values else text


class Translator:
    """Bound to one language; ``tr("key", n=3)``."""

    def __init__(self, lang: str = FALLBACK):
        catalogue(lang)
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)


def N_(key: str) -> str:
    """Marks a message id the code builds at run time, for `pybabel extract`; returns it unchanged."""
    return key
