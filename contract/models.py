"""The HTTP contract of the central platform, API version 1 (``/api/v1``).

These pydantic models are shared: the server declares them as response models (so /openapi.json
documents them) and the kiosk's client validates every answer against them, so a malformed or
half-upgraded server is caught at the boundary instead of deep inside a screen.

Rules for changing them: adding an optional field is compatible (unknown fields are ignored on
both sides); renaming, removing or narrowing a field is a new API version. The upper bounds on
what a terminal sends (MAX_* below) are the exception that proves it: they lie far beyond what any
hall sends and only turn a crash into a 422.
This module imports nothing but pydantic, so the kiosk can use it without the server's packages.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict

API_PREFIX = "/api/v1"

# -- bounds of what a terminal may send ---------------------------------------------------------
# Far above anything a real hall sends, low enough that no request overflows a database column or
# holds a worker (docs/central-api.md, "Limits"). Request models only: answers the kiosk validates
# stay as they were, so a platform that stores more is not refused by the kiosk.
# Integers are strict: JSON ``true`` or ``3.0`` is not a count or a command id.
MAX_OUTBOX_DEPTH = 1_000_000
MAX_COMMAND_ID = 2**63 - 1  # a signed 64-bit column: larger ones overflowed SQLite (500)
MAX_LIST = 100  # materials, form fields, acknowledged commands, devices
MAX_FORM_KEY, MAX_FORM_VALUE = 100, 1000
MAX_NAME = 500  # a material's name: some guides spell out whole conditions
MAX_NOTE = 500
MAX_COMMAND_ARGS, MAX_COMMAND_ARG = 20, 1000

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

    @property
    def is_required(self) -> bool:
        return self.required == "必要"


# The languages a guide may carry a translation into, by the kiosk's language codes; Simplified
# Chinese is the guide itself.
GuideLanguage = Literal["zh_TW", "en"]


class MaterialText(BaseModel):
    """A material's name and note in another language; form, copies and need are codes."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    note: str = ""


class GuideText(BaseModel):
    """A guide's words in another language, where the platform has them: every field optional,
    an empty one is shown from the Chinese guide. ``materials`` follow the guide's materials in
    order; a list of another length is not used (it would put a name beside the wrong need)."""

    name: str = ""
    department: str = ""
    fee: str = ""
    place: str = ""
    hours: str = ""
    conditions: str = ""
    limit_note: str = ""
    materials: list[MaterialText] = Field(default_factory=list)


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
    translations: dict[GuideLanguage, GuideText] = Field(
        default_factory=dict, description="the guide's words in other languages, where the platform has them "
                                          "(zh_TW: Traditional Chinese, en: English)")


class GuideSummary(BaseModel):
    """One line of a search result. ``item_code`` is opaque: never parse it."""

    item_code: str = Field(min_length=1, max_length=100)
    name: str
    department: str
    main_item: str = ""
    task_type: str = Field("", description="the provincial portal's item-type code, opaque")
    detail_complete: bool = False
    matched: Literal["", "name", "keyword", "code", "department", "material"] = Field(
        "", description="in a search result: where the query was found. 'material' results (only "
                        "a material mentions it) are shown as a group of their own")


class Guide(GuideDetail, GuideSummary):
    """A full 办事指南: the catalogue entry plus its details, flat for easy rendering."""

    keywords: list[str] = Field(default_factory=list,
                                description="everyday words for this item (社保, 开公司) that its name lacks")
    popularity: int = Field(0, ge=0, le=63, description="how much the item is used: bit length of its "
                            "case count over the last year (0 = none); ranks equal results")
    area_code: str = ""
    link: str = Field("", description="the guide on the provincial portal (for a QR code)")
    updated_at: dt.datetime


class GuidePage(BaseModel):
    total: int = Field(ge=0, description="matches found, at most SEARCH_COUNT_CAP (then 'more')")
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=0)
    items: list[GuideSummary]
    suggestions: list[str] = Field(default_factory=list,
                                   description="when nothing is found: look-alike everyday words to try instead")


SEARCH_COUNT_CAP = 1000


class SearchAlias(BaseModel):
    """Everyday words (``words``: 社保卡, 丢了) and what the catalogue calls them (``means``)."""

    words: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1)
    means: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1)
    source: str = ""


class SearchAliases(BaseModel):
    """GET /search/aliases: the platform's reviewed table of everyday words, for the kiosk's
    offline search to read queries as the platform does. ``fillers`` are words a query may hold
    that mean nothing to search (我要, 怎么办); ``hot`` are topics to offer when nothing is found."""

    version: str = Field(description="changes whenever the table does")
    fillers: list[str] = Field(default_factory=list)
    aliases: list[SearchAlias] = Field(default_factory=list)
    hot: list[str] = Field(default_factory=list)


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
    zh: str = Field("", description="a plain sentence for the citizen's screen, when the server has one")


class ErrorResponse(BaseModel):
    """The body of every non-2xx answer."""

    error: ErrorInfo


# == Everything beyond guides =================================================================
# Identifiers that a citizen may see (case numbers, ticket numbers) are opaque strings.
CaseNo = Annotated[str, Field(min_length=1, max_length=50, description="办件编号, opaque, ≤50 chars")]
IdNumber = Annotated[str, Field(pattern=r"^[0-9A-Z]{15,18}$",
                                 description="证件号码 as read from the card (居民身份证: 18 chars)")]


class CaseState(StrEnum):
    """Canonical citizen-facing 办件 states (specs/gov-services.md §3). ASCII codes are the
    contract; ``CASE_STATE_LABELS`` gives the Chinese a kiosk shows."""

    SUBMITTED = "submitted"
    PRE_REVIEW = "pre_review"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    SUPPLEMENT = "supplement"
    PROCESSING = "processing"
    SPECIAL = "special"
    CONCLUDED = "concluded"
    DELIVERED = "delivered"
    AWAITING_RATING = "awaiting_rating"


CASE_STATE_LABELS: dict[CaseState, str] = {
    CaseState.SUBMITTED: "已申报",
    CaseState.PRE_REVIEW: "预审",
    CaseState.ACCEPTED: "已受理",
    CaseState.NOT_ACCEPTED: "不予受理",
    CaseState.SUPPLEMENT: "补齐补正",
    CaseState.PROCESSING: "办理中",
    CaseState.SPECIAL: "特别程序（计时暂停）",
    CaseState.CONCLUDED: "办结",
    CaseState.DELIVERED: "送达/领取",
    CaseState.AWAITING_RATING: "待评价",
}
# 办结 result: 准予 / 不予
CaseResult = Literal["approved", "denied"]
CASE_RESULT_LABELS = {"approved": "准予", "denied": "不予"}


class CaseEvent(BaseModel):
    """One step of the timeline (national 过程 data: 环节, 时间, 意见)."""

    state: CaseState
    label: str = Field(description="Chinese label of the state")
    at: dt.datetime
    note: str = Field("", description="意见 / what happens next, for the citizen")


class SupplementRequest(BaseModel):
    """一次性告知补正: everything to fix, told once."""

    materials: list[str] = Field(min_length=1)
    note: str = ""
    due: dt.datetime | None = None


FormKey = Annotated[str, Field(max_length=MAX_FORM_KEY)]
FormValue = Annotated[str, Field(max_length=MAX_FORM_VALUE)]
MaterialName = Annotated[str, Field(max_length=MAX_NAME)]


class CaseSubmission(BaseModel):
    """POST /cases. The applicant is the person of the X-Person-Token, never the body."""

    item_code: str = Field(min_length=1, max_length=100)
    form: dict[FormKey, FormValue] = Field(default_factory=dict, max_length=MAX_LIST,
                                           description="answers of the case form, by field")
    materials: list[MaterialName] = Field(default_factory=list, max_length=MAX_LIST,
                                          description="names of the materials handed in")
    phone: str = Field("", max_length=20)
    terminal_ref: str = Field("", max_length=64, pattern=r"^[0-9A-Za-z_-]*$",
                              description="the terminal's own reference, printed on an offline receipt; "
                                          "unique per terminal, and GET /cases/{ref} finds the case by it")


class Case(BaseModel):
    case_no: CaseNo
    terminal_ref: str = ""
    item_code: str
    item_name: str
    applicant_masked: str = Field(description="ID number masked 6+4")
    terminal_id: str
    state: CaseState
    state_label: str
    result: CaseResult | None = None
    submitted_at: dt.datetime
    updated_at: dt.datetime
    promised_by: dt.datetime | None = Field(None, description="承诺办结时间")
    supplement: SupplementRequest | None = Field(None, description="set while 补齐补正 is pending")
    timeline: list[CaseEvent]
    evaluated: bool = False
    rating_code: str | None = Field(None, description="authorises the one rating of this case (X-Rating-Code), "
                                                      "e.g. printed on the receipt; only for the applicant and "
                                                      "the submitting terminal, until the case is rated")


class CaseList(BaseModel):
    """GET /cases: a person's cases, newest first, a page at a time."""

    items: list[Case]
    total: int = Field(0, ge=0, description="all the person's cases, of which ``items`` is the page asked for")


class SupplementSubmission(BaseModel):
    """POST /cases/{case_no}/supplements: the materials handed in after 补正."""

    materials: list[MaterialName] = Field(min_length=1, max_length=MAX_LIST)
    note: str = Field("", max_length=MAX_NOTE)


# -- persons and citizen codes ------------------------------------------------------------------
class PersonTokenRequest(BaseModel):
    id_number: IdNumber
    name: str = Field(min_length=1, max_length=50)
    source: Literal["id_card", "citizen_code"] = "id_card"


class PersonToken(BaseModel):
    token: str
    expires_at: dt.datetime
    id_masked: str


class CitizenCodeRequest(BaseModel):
    code: str = Field(min_length=1, max_length=2000, description="the QR payload as scanned")


class PersonPreferences(BaseModel):
    """What a person asked the platform to remember for every terminal they use: 长辈模式 (larger
    text and targets, voice) and their language; a terminal applies them after identification."""

    elder_mode: bool = False
    language: Literal["zh_CN", "zh_TW", "en"] | None = Field(None, description="null: the terminal's own")


class CitizenIdentity(BaseModel):
    id_number: IdNumber
    name: str
    expires_at: dt.datetime = Field(description="when the scanned code stops being valid")


# -- e-certificates -----------------------------------------------------------------------------
class Certificate(BaseModel):
    cert_id: str
    name: str = Field(description="证照名称")
    number: str = Field(description="证照编号")
    issuer: str
    holder_masked: str
    issued_at: dt.datetime
    valid_until: dt.datetime | None = None


class CertificateList(BaseModel):
    """GET /certificates: a person's e-certificates in the order they were issued, a page at a time."""

    items: list[Certificate]
    total: int = Field(0, ge=0, description="all the person's certificates, of which ``items`` is the page asked for")


class CertificateProof(BaseModel):
    """A printable proof of an e-certificate: anyone can check it with the code or the URL."""

    certificate: Certificate
    verification_code: str = Field(description="printed on the proof; GET /proofs/{code} checks it")
    verify_url: str
    issued_at: dt.datetime
    valid_until: dt.datetime


class ProofCheck(BaseModel):
    valid: bool
    certificate_name: str
    holder_masked: str
    valid_until: dt.datetime


# -- evaluations (好差评) ------------------------------------------------------------------------
EvaluationLevel = Annotated[int, Field(ge=1, le=5)]
# What a terminal sends: strictly an integer (JSON true is not 非常不满意).
SubmittedLevel = Annotated[int, Strict(), Field(ge=1, le=5)]
EVALUATION_LEVEL_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# The fixed offline question set (一次一评), versioned: a new set is a new version string.
EVALUATION_QUESTIONS_VERSION = "offline-v1"
EVALUATION_QUESTIONS = {"overall": "整体满意度", "efficiency": "服务效率", "competence": "服务水平",
                        "attitude": "服务态度"}
QuestionCode = Literal[tuple(EVALUATION_QUESTIONS)]  # the contract names the keys scores must have
BAD_RATING_MAX = 2  # levels 1-2 are 差评 and go to follow-up


class EvaluationQuestion(BaseModel):
    code: str
    text: str


class EvaluationQuestions(BaseModel):
    version: str
    questions: list[EvaluationQuestion]
    levels: dict[int, str]


class EvaluationSubmission(BaseModel):
    """``scores`` answers every question of ``questions_version``; ``scores['overall']`` is the level."""

    case_no: CaseNo | None = None
    item_code: str = Field("", max_length=100)
    questions_version: Literal["offline-v1"] = EVALUATION_QUESTIONS_VERSION
    scores: dict[QuestionCode, SubmittedLevel] = Field(min_length=len(EVALUATION_QUESTIONS),
                                                       max_length=len(EVALUATION_QUESTIONS),
                                                       description="one level per question, every question")
    comment: str = Field("", max_length=MAX_NOTE)


class Evaluation(BaseModel):
    evaluation_id: str
    case_no: str | None = None
    level: EvaluationLevel
    level_label: str
    scores: dict[str, EvaluationLevel]
    flagged: bool = Field(description="差评 (level ≤ 2): queued for callback and correction")
    follow_up_due: dt.datetime | None = None
    created_at: dt.datetime


# -- queue tickets (取号) ------------------------------------------------------------------------
class QueueService(BaseModel):
    code: str = Field(description="one letter, the ticket prefix")
    name: str
    waiting: int = Field(ge=0)


class QueueServiceList(BaseModel):
    items: list[QueueService]


class QueueTicketRequest(BaseModel):
    service: str = Field(min_length=1, max_length=1)


class QueueTicket(BaseModel):
    ticket_no: str = Field(description="per-service, per-day numbering: A001, A002, ...")
    service: str
    service_name: str
    waiting_ahead: int = Field(ge=0)
    issued_at: dt.datetime


# -- terminals ----------------------------------------------------------------------------------
DeviceState = Literal["online", "offline", "no_device", "hardware_error", "user_error", "busy", "unknown"]
PaperState = Literal["full", "low", "out", "jammed", "unknown"]


class DeviceStatus(BaseModel):
    """One device as the terminal's device manager sees it (XFS4IoT-style words)."""

    name: str = Field(min_length=1, max_length=50)
    kind: str = Field("", max_length=30, description="id_reader, printer, scanner, ...")
    status: DeviceState = "unknown"
    paper: PaperState | None = None
    detail: str = Field("", max_length=200)


class TerminalRegistration(BaseModel):
    name: str = Field("", max_length=100)
    hall: str = Field("", max_length=100)
    version: str = Field("", max_length=50)


class Terminal(BaseModel):
    terminal_id: str
    name: str
    hall: str
    version: str
    registered_at: dt.datetime | None = None
    last_heartbeat: dt.datetime | None = None
    online: bool
    outbox_depth: int
    devices: list[DeviceStatus]



# What staff may queue for a terminal (docs/central-api.md, "Remote commands"; kiosk/commands.py).
CommandName = Literal["reload_config", "sync_guides", "restart", "notice", "out_of_service"]
MAX_COMMAND_RESULT = 500


class TerminalCommand(BaseModel):
    command_id: int
    # A plain name, not CommandName: a terminal answers a command it does not know (a newer
    # platform's) with a failed result instead of refusing the whole heartbeat answer.
    command: str
    args: dict[str, str] = Field(default_factory=dict)
    created_at: dt.datetime


class CommandResult(BaseModel):
    """POST /terminals/commands/{command_id}/result: what became of a command on the terminal."""

    ok: bool = Field(strict=True)
    result: str = Field("", max_length=MAX_COMMAND_RESULT, description="one line: what was done, or why not")


class CommandState(TerminalCommand):
    """A command as staff see it: ``queued`` (no heartbeat has carried it yet), ``delivered``,
    then ``ok`` or ``failed`` with the terminal's result (``acknowledged``: acknowledged in a
    heartbeat's ``acked_commands``, without a result)."""

    state: Literal["queued", "delivered", "ok", "failed", "acknowledged"]
    delivered_at: dt.datetime | None = None
    acked_at: dt.datetime | None = None
    result: str = ""


class CommandRequest(BaseModel):
    command: CommandName
    args: dict[Annotated[str, Field(max_length=50)], Annotated[str, Field(max_length=MAX_COMMAND_ARG)]] = Field(
        default_factory=dict, max_length=MAX_COMMAND_ARGS)


class TerminalStatus(Terminal):
    commands: list[CommandState] = Field(default_factory=list,
                                         description="the latest commands queued for it, newest first")


class TerminalList(BaseModel):
    items: list[TerminalStatus]


CommandId = Annotated[int, Strict(), Field(ge=1, le=MAX_COMMAND_ID)]


class Heartbeat(BaseModel):
    version: str = Field("", max_length=50)
    outbox_depth: int = Field(0, ge=0, le=MAX_OUTBOX_DEPTH, strict=True)
    devices: list[DeviceStatus] = Field(default_factory=list, max_length=MAX_LIST)
    acked_commands: list[CommandId] = Field(default_factory=list, max_length=MAX_LIST,
                                            description="commands done since the last heartbeat")


class HeartbeatAnswer(BaseModel):
    server_time: dt.datetime
    commands: list[TerminalCommand] = Field(description="pending commands, until acknowledged")


# -- incremental guide sync ---------------------------------------------------------------------
class GuideChanges(BaseModel):
    """GET /guides/changes: changes in (updated_at, item_code) order after the cursor.

    Pass ``next_since`` and ``next_after`` back; while ``more`` is true there is another page.
    """

    guides: list[Guide]
    deleted: list[str] = Field(description="item codes removed from the catalogue")
    next_since: dt.datetime
    next_after: str = ""
    more: bool


# -- life events (一件事) ------------------------------------------------------------------------
class LifeEvent(BaseModel):
    """Something that happens in a citizen's life (出生, 上学, ...) and the items it takes."""

    code: str = Field(description="birth, school, work, business, marriage, housing, retirement, death, ...")
    name: str
    note: str = Field("", description="what the event also takes that is not in the catalogue")
    items: list[GuideSummary] = Field(description="the items, in the order a citizen usually needs them")


class LifeEventList(BaseModel):
    items: list[LifeEvent]
    source: str = Field("", description="where the grouping comes from")
