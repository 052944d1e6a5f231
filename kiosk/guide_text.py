"""A guide in the citizen's language.

The platform's guides are Simplified Chinese; a guide may carry its words in other languages
(``Guide.translations``). What a field lacks there is shown as follows:

- 繁體 (zh_TW): the Chinese text converted with OpenCC. Config ``s2tw``: Taiwan's standard
  character forms (戶, 峰, 線), but no phrase rewriting - ``s2twp`` turns 窗口 (a service window)
  into 視窗 (a computer window) and rewrites official terms; ``s2hk`` keeps mainland forms such as 户.
  Loading the converter takes about 50 ms (once, at the first 繁體 page); converting a whole guide
  about 0.07 ms, and conversions are cached (a page is rebuilt on every redraw).
- English: the Chinese text as it is, with English labels around it, and ``chinese_only`` set so
  the page says the guide is available in Chinese only.

Structured values (a material's form, copies and need) are never the guide's text: they are the
contract's codes, put into words by the catalogues (``material_line``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from kiosk.i18n import N_

S2T_CONFIG = "s2tw"
FIELDS = ("name", "department", "fee", "place", "hours", "conditions", "limit_note")
# contract.models.MaterialForm / MaterialNeed -> message ids
FORM_KEYS = {"原件": N_("material.original"), "复印件": N_("material.copy"),
             "原件及复印件": N_("material.original_and_copy"), "电子": N_("material.electronic")}
NEED_KEYS = {"必要": N_("material.required"), "非必要": N_("material.optional")}
FREE = "不收费"  # contract.models.GuideDetail.fee's default


@functools.cache
def _converter():
    import opencc  # imported late: only a 繁體 page needs it

    return opencc.OpenCC(S2T_CONFIG)


def load_converter() -> None:
    """Load OpenCC's dictionaries now (~45 MB, tens of ms), rather than on the first 繁體 page
    (screens/warmup.py, in its own thread)."""
    _converter()


@functools.lru_cache(maxsize=8192)
def traditional(text: str) -> str:
    """Simplified Chinese text in Traditional characters (anything else passes unchanged)."""
    return _converter().convert(text) if text and not text.isascii() else text


def in_language(text: str, lang: str) -> str:
    """Platform text without a translation of its own: converted for 繁體, as it is otherwise."""
    return traditional(text) if lang == "zh_TW" else text


@dataclass(frozen=True)
class LocalMaterial:
    name: str
    note: str
    form: str  # the contract's codes
    copies: int
    required: str


@dataclass(frozen=True)
class LocalGuide:
    """The fields of a guide a citizen reads, in one language; ``chinese_only``: some of them are
    shown in Chinese because the platform has no English for them."""

    name: str
    department: str
    fee: str
    place: str
    hours: str
    conditions: str
    limit_note: str
    materials: tuple[LocalMaterial, ...]
    chinese_only: bool = False


def localise(guide, tr) -> LocalGuide:
    """``guide`` (contract.models.Guide) in ``tr``'s language."""
    lang = tr.lang
    text = guide.translations.get(lang) if lang != "zh_CN" else None
    untranslated = False

    def pick(original: str, translated: str) -> str:
        nonlocal untranslated
        if translated or not original:
            return translated or original
        untranslated = True
        return in_language(original, lang)

    values = {f: pick(getattr(guide, f, ""), getattr(text, f, "") if text else "") for f in FIELDS}
    if guide.fee == FREE and not (text and text.fee):  # the contract's default is a value, not text
        values["fee"] = tr("guide.free")
    own = text.materials if text is not None and len(text.materials) == len(guide.materials) else None
    materials = tuple(
        LocalMaterial(pick(m.name, own[i].name if own else ""), pick(m.note, own[i].note if own else ""),
                      m.form, m.copies, m.required)
        for i, m in enumerate(guide.materials))
    return LocalGuide(**values, materials=materials, chinese_only=lang == "en" and untranslated)


def material_line(tr, material) -> str:
    """``name（原件，1 份，必要）`` in the citizen's language, from the material's codes. A checklist's
    merged material may have several forms (``原件、复印件``)."""
    forms = [tr(FORM_KEYS[f]) if f in FORM_KEYS else f for f in material.form.split("、")]
    parts = [tr("material.or").join(forms)]
    if material.copies:
        parts.append(tr("material.copies_one") if material.copies == 1 else tr("material.copies", n=material.copies))
    parts.append(tr(NEED_KEYS.get(material.required, "material.optional")))
    return tr("guide.material_line", name=material.name, details=tr("material.sep").join(parts))
