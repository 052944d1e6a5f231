"""The HTTP contract of the central platform, API version 1 (``/api/v1``).

These pydantic models are shared: the server declares them as response models (so /openapi.json
documents them) and the kiosk's client validates every answer against them, so a malformed or
half-upgraded server is caught at the boundary instead of deep inside a screen.

Rules for changing them: adding an optional field is compatible (unknown fields are ignored on
both sides); renaming, removing or narrowing a field is a new API version.
This module imports nothing but pydantic, so the kiosk can use it without the server's packages.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

API_PREFIX = "/api/v1"

# 材料形式. "原件及复印件" is common enough in real guides to deserve its own value.
MaterialForm = Literal["原件", "复印件", "原件及复印件", "电子"]
# 材料必要性
MaterialNeed = Literal["必要", "非必要"]
# 办件类型
HandlingType = Literal["即办件", "承诺件"]


class Material(BaseModel):
    """One entry of 申请材料: what to bring, in which form, how many paper copies, whether required."""

    name: str = Field(min_length=1)
    form: MaterialForm
    copies: int = Field(ge=0, le=99, description="纸质材料份数; 0 for electronic material")
    required: MaterialNeed
    note: str = ""


class GuideDetail(BaseModel):
    """The part of a 办事指南 beyond the catalogue entry (stored as one JSON column).

    ``detail_complete`` is false when the platform has no verified details for the item: the
    kiosk then shows only the catalogue entry and asks the citizen to consult a window.
    Time limits are in working days (工作日); ``None`` means not stated in working days - a
    statutory limit counted in calendar days (e.g. 居民身份证 60 日) goes into ``limit_note``.
    """

    detail_complete: bool = False
    materials: list[Material] = Field(default_factory=list)
    legal_limit_days: int | None = Field(None, ge=0, description="法定办结时限（工作日）")
    promised_limit_days: int | None = Field(None, ge=0, description="承诺办结时限（工作日）; 0 = 当场办结")
    limit_note: str = Field("", description="时限说明, e.g. a statutory limit counted in calendar days")
    handling_type: HandlingType | None = Field(None, description="办件类型")
    visits: int | None = Field(None, ge=0, description="到办事现场次数")
    fee: str = Field("不收费", description="是否收费 / 收费标准")
    place: str = Field("", description="办理地点")
    hours: str = Field("", description="办理时间")
    phone: str = Field("", description="咨询电话")
    basis: str = Field("", description="设定依据")
    conditions: str = Field("", description="受理条件")
    source: str = Field("", description="where the details come from / how far to trust them")


class GuideSummary(BaseModel):
    """One line of a search result. ``item_code`` is opaque: never parse it."""

    item_code: str = Field(min_length=1, max_length=100)
    name: str
    department: str
    main_item: str = ""
    task_type: str = Field("", description="the provincial portal's item-type code, opaque")
    detail_complete: bool = False


class Guide(GuideDetail, GuideSummary):
    """A full 办事指南: the catalogue entry plus its details, flat for easy rendering."""

    area_code: str = ""
    link: str = Field("", description="the guide on the provincial portal (for a QR code)")
    updated_at: dt.datetime


class GuidePage(BaseModel):
    total: int = Field(ge=0)
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=0)
    items: list[GuideSummary]


class Department(BaseModel):
    name: str
    count: int = Field(ge=0)


class DepartmentList(BaseModel):
    items: list[Department]


class Health(BaseModel):
    status: Literal["ok"]
    guides: int = Field(ge=0)


class ErrorInfo(BaseModel):
    code: str = Field(description="machine-readable: not_found, invalid_request, internal, ...")
    message: str = Field(description="for logs and staff, not for citizens")


class ErrorResponse(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorInfo
