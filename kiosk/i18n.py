"""Translation catalogues: every word a citizen sees or takes home on paper comes from here.

Catalogues are gettext PO files, one per language: kiosk/locale/<lang>/LC_MESSAGES/kiosk.po, keyed
by stable message ids (msgid "guide.title"; the zh_CN file holds the Simplified text). Translators
edit them with Poedit or Weblate; `make i18n` brings them up to date with the code
(docs/translating.md). The kiosk reads the compiled .mo beside each PO file: `make setup` builds
them, and a missing or stale one is compiled here at first use (they are never committed).
A missing id - or a fuzzy one, which gettext does not use - falls back to Simplified Chinese and
then to the id itself, and is logged once, so a gap shows up in the logs rather than as an empty button.
"""

from __future__ import annotations

import gettext
import io
import logging
import os
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "kiosk"
LANGUAGES = ("zh_CN", "zh_TW", "en")
FALLBACK = "zh_CN"
log = logging.getLogger("kiosk.i18n")
_reported: set[tuple[str, str]] = set()


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compiled(po: Path) -> bytes:
    """The .mo for ``po``, compiled again when missing or older than the PO file. Babel is imported
    only then: reading a current .mo costs about a millisecond, start-up time the first frame needs."""
    mo = po.with_suffix(".mo")
    try:
        if mo.stat().st_mtime >= po.stat().st_mtime:
            return mo.read_bytes()
    except FileNotFoundError:
        pass
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(po, "rb") as f:
        parsed = read_po(f)
    out = io.BytesIO()
    write_mo(out, parsed)  # fuzzy entries left out, as msgfmt does
    data = out.getvalue()
    try:  # an installed package may be read-only: then the catalogue lives in memory only
        tmp = mo.with_name(f".{mo.name}.{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, mo)
    except OSError as exc:
        log.info("cannot keep compiled catalogue %s: %s", mo, exc)
    return data


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    # GNUTranslations parses the .mo; its table is the id -> text mapping, minus the header entry
    words = dict(gettext.GNUTranslations(io.BytesIO(_compiled(po_path(lang))))._catalog)
    words.pop("", None)
    return words


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
