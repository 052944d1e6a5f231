"""Plain words: the official jargon in kiosk/locale/glossary.json appears in no catalogue string a
citizen reads, in any language, so a new message with 申报 or 感应区 fails here. (Guides are the
platform's text and are shown as it has them.)"""

from __future__ import annotations

import json

import pytest

from kiosk.i18n import LANGUAGES, LOCALE_DIR, catalogue

GLOSSARY = json.loads((LOCALE_DIR / "glossary.json").read_text(encoding="utf-8"))["terms"]


def test_every_term_has_plain_words_in_every_language():
    for term in GLOSSARY:
        assert term["jargon"]["zh_CN"], term
        assert all(term["plain"][lang] for lang in LANGUAGES), term
        assert set(term["jargon"]) == set(LANGUAGES), term


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_jargon_in_any_catalogue_string(lang):
    found = [(key, word) for key, text in catalogue(lang).items() for term in GLOSSARY
             for word in term["jargon"][lang] if word.lower() in text.lower()]
    assert not found, f"use the glossary's plain words instead: {found}"


def test_a_jargon_word_would_be_caught():
    cat = {"x": "请将身份证放在感应区"}
    assert any(w in t for t in cat.values() for term in GLOSSARY for w in term["jargon"]["zh_CN"])
