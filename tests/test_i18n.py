"""Every catalogue has every message; every message the code uses exists."""

from __future__ import annotations

import re

import pytest

from kiosk.i18n import LANGUAGES, Translator, catalogue, translate
from tests.conftest import REPO


def test_catalogues_have_the_same_keys_and_no_empty_text():
    keys = set(catalogue("zh_CN"))
    for lang in LANGUAGES:
        cat = catalogue(lang)
        assert set(cat) == keys, f"{lang}: {set(cat) ^ keys}"
        assert all(v.strip() for v in cat.values()), lang


def _used_keys() -> set[str]:
    pattern = re.compile(r"""\b(?:tr|Words)\(\s*['"]([a-z_]+\.[a-z_0-9]+)['"]""")
    used = set()
    for folder in ("kiosk", "screens"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".kv"):
                used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return used


def test_every_key_used_in_code_exists():
    used = _used_keys()
    assert len(used) > 30
    missing = used - set(catalogue("zh_CN"))
    assert not missing


@pytest.mark.parametrize(("lang", "text"), [("zh_CN", "找到 3 个事项"), ("zh_TW", "找到 3 個事項"),
                                            ("en", "Services found: 3")])
def test_translation_with_values(lang, text):
    assert Translator(lang)("guides.found", n=3) == text


def test_unknown_key_falls_back_to_the_key():
    assert translate("en", "no.such.key") == "no.such.key"


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError):
        Translator("fr")
