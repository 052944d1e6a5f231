"""Every catalogue has every message the code uses, translated and current; placeholders match."""

from __future__ import annotations

import os
import string
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from kiosk import i18n
from kiosk.i18n import LANGUAGES, Translator, catalogue, translate
from tests.conftest import REPO

POT = REPO / "kiosk" / "locale" / "kiosk.pot"


def _read(path):
    with open(path, "rb") as f:
        return read_po(f)


def _extract(tmp_path) -> set[str]:
    """The ids the code uses now: the same extraction `make i18n-extract` runs, to a scratch file."""
    out = tmp_path / "now.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "pyproject.toml",
                    "--add-location=file", "--sort-output", "-o", str(out), "kiosk", "screens"],
                   cwd=REPO, check=True)
    return {m.id for m in _read(out) if m.id}


def _problems(pot_ids: set[str], po_path) -> list[str]:
    po = _read(po_path)
    entries = {m.id: m for m in po if m.id}
    found = [f"missing: {k}" for k in sorted(pot_ids - set(entries))]
    found += [f"untranslated: {k}" for k, m in sorted(entries.items()) if not str(m.string or "").strip()]
    found += [f"fuzzy: {k}" for k, m in sorted(entries.items()) if m.fuzzy]
    found += [f"not used by the code (mark it with N_() if the code builds it): {k}"
              for k in sorted(set(entries) - pot_ids)]
    found += [f"obsolete: {k}" for k in sorted(po.obsolete)]
    return found


def test_the_template_is_what_the_code_uses(tmp_path):
    assert _extract(tmp_path) == {m.id for m in _read(POT) if m.id}, "run `make i18n`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_translates_every_message(lang):
    pot_ids = {m.id for m in _read(POT) if m.id}
    assert len(pot_ids) > 200
    assert _problems(pot_ids, i18n.po_path(lang)) == []


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "zh_CN"])
def test_placeholders_match_simplified_chinese(lang):
    source = catalogue("zh_CN")
    wrong = {k: (_fields(v), _fields(source[k])) for k, v in catalogue(lang).items()
             if k in source and _fields(v) != _fields(source[k])}
    assert wrong == {}


def test_the_check_finds_a_missing_an_empty_and_a_fuzzy_entry(tmp_path):
    text = i18n.po_path("en").read_text(encoding="utf-8")
    text = text.replace('msgid "guides.found"', '#, fuzzy\nmsgid "guides.found"', 1)
    text = text.replace('msgstr "Government Service Kiosk"', 'msgstr ""', 1)
    start = text.index('msgid "common.back"')
    text = text[:start] + text[text.index("\n\n", start) + 2:]
    (po := tmp_path / "broken.po").write_text(text, encoding="utf-8")
    pot_ids = {m.id for m in _read(POT) if m.id}
    assert _problems(pot_ids, po) == ["missing: common.back", "untranslated: app.title", "fuzzy: guides.found"]


def test_extraction_reads_both_branches_and_kv_calls(tmp_path):
    from io import BytesIO

    from kiosk.i18n_extract import extract_kv, extract_python

    py = b'tr("a.one" if x else "a.two")\ntranslate(lang, "a.three")\ntr(f"a.{x}")\n'
    found = [m for _, _, m, _ in extract_python(BytesIO(py), ["tr", "translate"], [], {})]
    assert found == [("a.one",), ("a.two",), (None, "a.three"), (None,)]
    kv = (b"<X>:\n    text: app.tr('b.one')\n    hint: app.tr('lang.' + root.lang)\n    t: app.tr(\"b.two\", n=1)\n"
          b"    u: app.tr('b.three' if app.theme.elder else 'b.four')\n    canvas:\n        Color:\n")
    assert [(n, m) for n, _, m, _ in extract_kv(BytesIO(kv), ["tr"], [], {})] == [
        (2, ("b.one",)), (3, (None,)), (4, ("b.two",)), (5, ("b.three",)), (5, ("b.four",))]


def test_a_fresh_checkout_compiles_its_catalogues_and_an_edit_shows(tmp_path, monkeypatch):
    """No .mo is committed: the first use compiles one; an edited PO file is compiled again, and a
    fuzzy entry is not shown (the Simplified text stands in)."""
    for lang in LANGUAGES:
        (tmp_path / lang / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / lang / "LC_MESSAGES" / "kiosk.po").write_bytes(i18n.po_path(lang).read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    catalogue.cache_clear()
    try:
        assert translate("en", "common.back") == "Back"
        assert (tmp_path / "en" / "LC_MESSAGES" / "kiosk.mo").exists()
        po = tmp_path / "en" / "LC_MESSAGES" / "kiosk.po"
        text = po.read_text(encoding="utf-8").replace('msgstr "Back"', 'msgstr "Go back"')
        text = text.replace('msgid "guides.found"', '#, fuzzy\nmsgid "guides.found"', 1)
        po.write_text(text, encoding="utf-8")
        mo = po.with_suffix(".mo")
        os.utime(mo, (po.stat().st_mtime - 10,) * 2)
        catalogue.cache_clear()
        assert translate("en", "common.back") == "Go back"
        assert translate("en", "guides.found", n=2) == "找到 2 个事项"
    finally:
        catalogue.cache_clear()


@pytest.mark.parametrize(("lang", "text"), [("zh_CN", "找到 3 个事项"), ("zh_TW", "找到 3 個事項"),
                                            ("en", "Services found: 3")])
def test_translation_with_values(lang, text):
    assert Translator(lang)("guides.found", n=3) == text


def test_unknown_key_falls_back_to_the_key():
    assert translate("en", "no.such.key") == "no.such.key"


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError):
        Translator("fr")
