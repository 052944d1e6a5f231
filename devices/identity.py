"""The identity read from a card or a citizen code, and the masking rules for showing it.

Personal data rule: the number shows as the first 6 and last 4 characters everywhere it is
shown or logged; the full value is only reachable by asking for it by name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def is_valid_id_number(number: str) -> bool:
    return (
        len(number) == 18
        # isdigit() alone takes '²' and other Unicode digits, which int() then refuses.
        and number[:17].isascii() and number[:17].isdigit()
        and number[17].upper() == check_digit(number[:17])
    )


def mask_number(number: str) -> str:
    """First 6 + last 4, the rest as '*': 110105********002X."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


MASKED_NAME_MAX = 5  # characters: a long foreign name masks to "J****", which fits wherever a name is shown


def mask_name(name: str) -> str:
    """Keep the surname character only: 张*, 张** (shoulder-surfing protection on screen); at most
    ``MASKED_NAME_MAX`` characters, so a long name neither runs off a page nor tells its length."""
    name = name.strip()
    return name[:1] + "*" * min(max(len(name) - 1, 0), MASKED_NAME_MAX - 1)


class CardType(StrEnum):
    RESIDENT = "resident"  # 居民身份证
    FOREIGNER_2017 = "foreigner_2017"  # 外国人永久居留身份证 (2017)
    FOREIGNER_2023 = "foreigner_2023"  # 外国人永久居留身份证 (2023)
    HMT_RESIDENT = "hmt_resident"  # 港澳台居民居住证
    CITIZEN_CODE = "citizen_code"  # QR code from the province's app


@dataclass(frozen=True, repr=False)
class Identity:
    card_type: CardType
    name: str
    id_number: str
    gender: str = ""  # 男 / 女 / 未知 / 未说明
    birth_date: dt.date | None = None
    nation: str = ""
    address: str = ""
    issuer: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None  # None with long_term=True means 长期
    long_term: bool = False
    extra: dict = field(default_factory=dict, compare=False)
    # Raw WLT photo bytes: kept in memory for a vendor decoder, never written anywhere.
    photo: bytes = field(default=b"", compare=False)

    @property
    def masked_number(self) -> str:
        return mask_number(self.id_number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def __repr__(self) -> str:
        return f"Identity({self.card_type.value}, {self.masked_name}, {self.masked_number})"

    __str__ = __repr__

    def log_form(self) -> str:
        return repr(self)
