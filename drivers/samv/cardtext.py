"""The 256-byte text block of an ID card (and the 30 01 / 30 10 payload around it) ↔ Identity.

Every field is decoded from its fixed slot in the UCS-2 block; the block's meaning depends on
the card-type flag at offset 248. A number that fails its check digit means we mis-read the card
(or the card is forged), so it raises rather than handing the app a wrong person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from devices.errors import ProtocolError
from devices.identity import CardType, Identity, is_valid_id_number

TEXT_LEN = 256
FLAG_OFFSET = 248
LONG_TERM = "长期"

GENDERS = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

NATIONS = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝",
    "08": "壮", "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白",
    "15": "土家", "16": "哈尼", "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤",
    "22": "畲", "23": "高山", "24": "拉祜", "25": "水", "26": "东乡", "27": "纳西", "28": "景颇",
    "29": "柯尔克孜", "30": "土", "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗",
    "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米",
    "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂",
    "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春",
    "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他", "98": "外国血统中国籍人士",
}

_GENDER_CODES = {v: k for k, v in GENDERS.items()}
_NATION_CODES = {v: k for k, v in NATIONS.items()}

# (field, byte offset, byte length) per card type; the type flag sits at 248 in all of them.
RESIDENT_LAYOUT = (
    ("name", 0, 30), ("gender", 30, 2), ("nation", 32, 4), ("birth", 36, 16),
    ("address", 52, 70), ("number", 122, 36), ("issuer", 158, 30),
    ("valid_from", 188, 16), ("valid_to", 204, 16),
)
HMT_LAYOUT = tuple(f for f in RESIDENT_LAYOUT if f[0] != "nation") + (
    ("permit_number", 220, 18), ("issue_count", 238, 4),
)
FOREIGNER_2017_LAYOUT = (
    ("name_en", 0, 120), ("gender", 120, 2), ("number", 122, 30), ("nationality", 152, 6),
    ("name_zh", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth", 220, 16),
    ("card_version", 236, 4), ("authority_code", 240, 8),
)
FOREIGNER_2023_LAYOUT = (
    ("name_zh", 0, 30), ("gender", 30, 2), ("renewals", 32, 4), ("birth", 36, 16),
    ("name_en_1", 52, 70), ("number", 122, 36), ("valid_from", 188, 16), ("valid_to", 204, 16),
    ("name_en_2", 220, 22), ("nationality", 242, 6), ("previous_link", 250, 6),
)

_FLAGS = {
    CardType.RESIDENT: " ",
    CardType.HMT_RESIDENT: "J",
    CardType.FOREIGNER_2017: "I",
    CardType.FOREIGNER_2023: "Y",
}
_PERMIT_2017 = re.compile(r"[A-Z]{3}\d{12}")


def _bad(message: str, code: str = "bad_card_text") -> ProtocolError:
    return ProtocolError(message, code=code, zh="身份证信息读取错误，请重新放置证件")


# ---------------------------------------------------------------- parsing


def parse_base_info(data: bytes, *, fingerprint: bool = False) -> Identity:
    """DATA of a 30 01 reply (or 30 10 with ``fingerprint``): lengths, text, photo[, fingerprint]."""
    head = 6 if fingerprint else 4
    if len(data) < head:
        raise _bad(f"read reply too short ({len(data)} bytes)", "bad_length")
    sizes = [int.from_bytes(data[i:i + 2], "big") for i in range(0, head, 2)]
    if head + sum(sizes) != len(data):
        raise _bad(f"read reply lengths {sizes} do not add up to {len(data) - head}", "bad_length")
    if sizes[0] != TEXT_LEN:
        raise _bad(f"text block is {sizes[0]} bytes, expected {TEXT_LEN}", "bad_length")
    text = data[head:head + TEXT_LEN]
    photo = data[head + TEXT_LEN:head + TEXT_LEN + sizes[1]]
    identity = parse_text(text, photo)
    if fingerprint and sizes[2]:
        # Biometric templates: kept in memory for a matcher, like the photo, never written.
        fp = bytes(data[head + TEXT_LEN + sizes[1]:])
        identity = dataclasses.replace(identity, extra={**identity.extra, "fingerprint": fp})
    return identity


def parse_text(block: bytes, photo: bytes = b"") -> Identity:
    if len(block) != TEXT_LEN:
        raise _bad(f"text block is {len(block)} bytes, expected {TEXT_LEN}", "bad_length")
    flag = _decode(block[FLAG_OFFSET:FLAG_OFFSET + 2], "type flag")
    parser = {" ": _resident, "\x00": _resident, "J": _hmt, "I": _foreigner_2017,
              "Y": _foreigner_2023}.get(flag)
    if parser is None:
        raise _bad(f"unsupported card type flag {flag!r}", "unsupported_card")
    return parser(block, bytes(photo))


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise _bad(f"{what}: not UCS-2 text") from exc


def _fields(block: bytes, layout) -> dict[str, str]:
    # Unstripped: callers strip, except where two slots are joined (the 2023 English name).
    return {name: _decode(block[off:off + size], name) for name, off, size in layout}


def _clean(text: str) -> str:
    return text.strip(" \x00")


def _date(text: str, what: str) -> dt.date:
    text = _clean(text)
    if not (len(text) == 8 and text.isascii() and text.isdigit()):
        raise _bad(f"{what}: not a YYYYMMDD date")
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise _bad(f"{what}: impossible date") from exc


def _expiry(text: str) -> tuple[dt.date | None, bool]:
    if _clean(text) == LONG_TERM:
        return None, True
    return _date(text, "valid_to"), False


def _gender(text: str) -> str:
    code = _clean(text)
    if code not in GENDERS:
        raise _bad(f"unknown gender code {code!r}")
    return GENDERS[code]


def _checked_number(text: str, prefixes: tuple[str, ...] = ()) -> str:
    number = _clean(text).upper()
    if not is_valid_id_number(number) or (prefixes and not number.startswith(prefixes)):
        # Never put the number itself in the message: it ends up in logs.
        raise _bad("ID number fails its GB 11643 check digit", "bad_id_number")
    return number


def _resident(block: bytes, photo: bytes) -> Identity:
    f = _fields(block, RESIDENT_LAYOUT)
    code = _clean(f["nation"])
    if code not in NATIONS:
        raise _bad(f"unknown nation code {code!r}")
    valid_to, long_term = _expiry(f["valid_to"])
    return Identity(
        card_type=CardType.RESIDENT, name=_clean(f["name"]), id_number=_checked_number(f["number"]),
        gender=_gender(f["gender"]), birth_date=_date(f["birth"], "birth"), nation=NATIONS[code],
        address=_clean(f["address"]), issuer=_clean(f["issuer"]),
        valid_from=_date(f["valid_from"], "valid_from"), valid_to=valid_to, long_term=long_term,
        photo=photo,
    )


def _hmt(block: bytes, photo: bytes) -> Identity:
    f = _fields(block, HMT_LAYOUT)
    valid_to, long_term = _expiry(f["valid_to"])
    return Identity(
        card_type=CardType.HMT_RESIDENT, name=_clean(f["name"]),
        id_number=_checked_number(f["number"], ("81", "82", "83")), gender=_gender(f["gender"]),
        birth_date=_date(f["birth"], "birth"), address=_clean(f["address"]),
        issuer=_clean(f["issuer"]), valid_from=_date(f["valid_from"], "valid_from"),
        valid_to=valid_to, long_term=long_term, photo=photo,
        extra={"permit_number": _clean(f["permit_number"]), "issue_count": _clean(f["issue_count"])},
    )


def _foreigner_2017(block: bytes, photo: bytes) -> Identity:
    f = _fields(block, FOREIGNER_2017_LAYOUT)
    number = _clean(f["number"]).upper()
    if not _PERMIT_2017.fullmatch(number):
        raise _bad("permanent-residence number is not 3 letters + 12 digits", "bad_id_number")
    name_en, name_zh = _clean(f["name_en"]), _clean(f["name_zh"])
    valid_to, long_term = _expiry(f["valid_to"])
    return Identity(
        card_type=CardType.FOREIGNER_2017, name=name_zh or name_en, id_number=number,
        gender=_gender(f["gender"]), birth_date=_date(f["birth"], "birth"),
        valid_from=_date(f["valid_from"], "valid_from"), valid_to=valid_to, long_term=long_term,
        photo=photo,
        extra={"name_en": name_en, "name_zh": name_zh, "nationality": _clean(f["nationality"]),
               "card_version": _clean(f["card_version"]),
               "authority_code": _clean(f["authority_code"])},
    )


def _foreigner_2023(block: bytes, photo: bytes) -> Identity:
    f = _fields(block, FOREIGNER_2023_LAYOUT)
    name_en = _clean(f["name_en_1"] + f["name_en_2"])
    name_zh = _clean(f["name_zh"])
    valid_to, long_term = _expiry(f["valid_to"])
    return Identity(
        card_type=CardType.FOREIGNER_2023, name=name_zh or name_en,
        id_number=_checked_number(f["number"], ("9",)), gender=_gender(f["gender"]),
        birth_date=_date(f["birth"], "birth"), valid_from=_date(f["valid_from"], "valid_from"),
        valid_to=valid_to, long_term=long_term, photo=photo,
        extra={"name_en": name_en, "name_zh": name_zh, "renewals": _clean(f["renewals"]),
               "nationality": _clean(f["nationality"]),
               "previous_link": _clean(f["previous_link"])},
    )


# ---------------------------------------------------------------- encoding (emulator, tests)


def encode_base_info(identity: Identity, photo: bytes, fingerprint: bytes | None = None) -> bytes:
    """DATA of a 30 01 reply, or of 30 10 when ``fingerprint`` is given (b"" for none)."""
    sizes = [TEXT_LEN, len(photo)] + ([] if fingerprint is None else [len(fingerprint)])
    head = b"".join(n.to_bytes(2, "big") for n in sizes)
    return head + encode_text(identity) + photo + (fingerprint or b"")


def encode_resident_text(identity: Identity) -> bytes:
    if identity.card_type is not CardType.RESIDENT:
        raise ValueError(f"not a resident card: {identity.card_type}")
    return encode_text(identity)


def encode_text(identity: Identity) -> bytes:
    """The 256-byte block a card of this type would hold; ValueError when a field does not fit."""
    kind = identity.card_type
    x = identity.extra
    values = {
        "gender": _GENDER_CODES[identity.gender or "未知"],
        "birth": _ymd(identity.birth_date),
        "number": identity.id_number,
        "valid_from": _ymd(identity.valid_from),
        "valid_to": LONG_TERM if identity.long_term else _ymd(identity.valid_to),
    }
    if kind in (CardType.RESIDENT, CardType.HMT_RESIDENT):
        values |= {"name": identity.name, "address": identity.address, "issuer": identity.issuer}
    if kind is CardType.RESIDENT:
        layout = RESIDENT_LAYOUT
        values["nation"] = _NATION_CODES[identity.nation]
    elif kind is CardType.HMT_RESIDENT:
        layout = HMT_LAYOUT
        values |= {"permit_number": x.get("permit_number", ""), "issue_count": x.get("issue_count", "")}
    elif kind is CardType.FOREIGNER_2017:
        layout = FOREIGNER_2017_LAYOUT
        values |= {k: x.get(k, "") for k in ("name_en", "nationality", "card_version", "authority_code")}
        values["name_zh"] = x.get("name_zh", identity.name)
    elif kind is CardType.FOREIGNER_2023:
        layout = FOREIGNER_2023_LAYOUT
        name_en = x.get("name_en", "")
        values |= {k: x.get(k, "") for k in ("renewals", "nationality", "previous_link")}
        values |= {"name_zh": x.get("name_zh", identity.name), "name_en_1": name_en[:35],
                   "name_en_2": name_en[35:]}
    else:
        raise ValueError(f"card type {kind} has no text block")
    block = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    for name, off, size in layout:
        raw = values[name].encode("utf-16-le")
        if len(raw) > size:
            raise ValueError(f"{name} does not fit in {size // 2} characters")
        block[off:off + len(raw)] = raw
    block[FLAG_OFFSET:FLAG_OFFSET + 2] = _FLAGS[kind].encode("utf-16-le")
    return bytes(block)


def _ymd(date: dt.date | None) -> str:
    return date.strftime("%Y%m%d") if date else ""
