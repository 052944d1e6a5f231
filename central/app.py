"""The central platform's HTTP API (FastAPI), version 1 under /api/v1, plus the /fleet page.

Every answer has a pydantic response model from contract.models (the contract the kiosk client
validates against), and every error - unknown item, bad parameter, bad signature, unknown route,
crash - has the same JSON body ``{"error": {"code": ..., "message": ..., "zh": ...}}`` so clients
need one error path.

Authentication (docs/central-api.md): terminal calls are HMAC-signed (contract.auth); calls about
a person also carry X-Person-Token. Guide reads, life events, evaluation questions and proof checks
are open to integrators and the public; a signature on them is still checked when present.
"""

# No "from __future__ import annotations": FastAPI must resolve the local Depends aliases below.

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi import Path as InPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AfterValidator
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.db import GuideStore, iso
from central.errors import ApiError
from central.fleet import render_fleet
from central.platform import PlatformStore
from central.seed import load_life_events
from central.track import render_track
from contract import auth
from contract.models import (
    API_PREFIX,
    EVALUATION_LEVEL_LABELS,
    EVALUATION_QUESTIONS,
    EVALUATION_QUESTIONS_VERSION,
    MAX_COMMAND_ID,
    Case,
    CaseList,
    CaseSubmission,
    CertificateList,
    CertificateProof,
    CitizenCodeRequest,
    CitizenIdentity,
    CommandRequest,
    CommandResult,
    CommandState,
    DepartmentList,
    ErrorInfo,
    ErrorResponse,
    Evaluation,
    EvaluationQuestions,
    EvaluationSubmission,
    Guide,
    GuideChanges,
    GuidePage,
    Health,
    Heartbeat,
    HeartbeatAnswer,
    LifeEvent,
    LifeEventList,
    PersonPreferences,
    PersonToken,
    PersonTokenRequest,
    ProofCheck,
    QueueServiceList,
    QueueTicket,
    QueueTicketRequest,
    SearchAliases,
    SupplementSubmission,
    Terminal,
    TerminalCommand,
    TerminalList,
    TerminalRegistration,
)

__all__ = ["ApiError", "create_app"]

log = logging.getLogger("central.app")

MAX_PAGE = 100
# A request body over this is refused (413 body_too_large). A case at every bound of its model
# (contract.models), all in Chinese written as \uXXXX escapes, is still under 0.8 MiB of JSON.
MAX_BODY_BYTES = 1024 * 1024
_ERRORS = {404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
_SIGNED = {401: {"model": ErrorResponse}, **_ERRORS}
_TOO_LARGE = {413: {"model": ErrorResponse, "description": "body_too_large: the request body is over the "
                                                           "platform's limit (1 MiB by default)"}}
_JSON_BODY = {400: {"model": ErrorResponse, "description": "invalid_request: the body is not UTF-8 JSON"},
              **_TOO_LARGE}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Path parameters are opaque keys; a bound keeps a 5,000-character one out of the database.
Key = Annotated[str, InPath(max_length=100)]


def _utc_representable(t: dt.datetime) -> dt.datetime:
    """The store keeps UTC: a time with no UTC equivalent (0001-01-01 at +01:00) is a bad
    parameter, not a crash in the date arithmetic."""
    try:
        iso(t)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None
    return t


def _has_nul(doc: object) -> bool:
    """Any string of a parsed JSON document with NUL in it (iterative: nesting depth is the client's)."""
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack += [*value, *value.values()]
        elif isinstance(value, list):
            stack += value
    return False


async def _refuse_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL and no hall ever sends one: a NUL in the path, the query or
    a JSON string is refused here instead of failing in the database (500)."""
    try:
        doc = await request.json() if await request.body() else None
    except (ValueError, RecursionError):  # not JSON (or nested past the parser): the body's validation answers
        doc = None
    if ("\x00" in request.scope["path"] or any("\x00" in k + v for k, v in request.query_params.multi_items())
            or _has_nul(doc)):
        raise ApiError(422, "invalid_request", "NUL characters are not accepted in the path, query or body")


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body over the limit of {limit} bytes")


class _BodyLimit:
    """Refuses a request body over ``limit`` bytes before it is held in memory: on its
    Content-Length alone, or (a chunked body) as soon as the bytes streamed in pass the limit.
    The latter is raised from ``receive`` as an HTTPException, which FastAPI's body parsing
    passes on to the error handlers unchanged. uvicorn discards the unread rest of the body."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await _error(413, "body_too_large", BodyTooLarge(self.limit).detail)(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


def _error(status: int, code: str, message: str, zh: str = "") -> JSONResponse:
    body = ErrorResponse(error=ErrorInfo(code=code, message=message, zh=zh))
    return JSONResponse(body.model_dump(), status_code=status)


def _target(request: Request) -> str:
    """The request target exactly as the client sent it (what it signed)."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def create_app(db: str | Path | Engine, *, clock: Callable[[], float] = time.time, step_seconds: float = 20.0,
               admin_key: str = auth.DEMO_ADMIN_KEY, citizen_code_key: str = auth.DEMO_CITIZEN_CODE_KEY,
               staff_login: tuple[str, str] = (auth.DEMO_STAFF_USER, auth.DEMO_STAFF_PASSWORD),
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The API over the database ``db`` (path or URL; tables created if missing; not seeded here).

    ``clock`` drives signatures' time window, token expiry and the simulated back office, whose
    cases take one step every ``step_seconds``. ``staff_login`` (user, password) opens /fleet. A
    request body over ``max_body_bytes`` is 413.
    """
    platform = PlatformStore(db, clock=clock, step_seconds=step_seconds)
    store: GuideStore = platform.guides
    app = FastAPI(title="Hall kiosk central platform (reference)", version="1.1.0",
                  description="Service guides (办事指南), cases (办件), e-certificates, evaluations (好差评), "
                              "queue tickets and terminal management for government-service hall kiosks. "
                              "See docs/central-api.md for authentication.",
                  dependencies=[Depends(_refuse_nul)])
    app.state.store = store
    app.state.platform = platform
    app.add_middleware(_BodyLimit, limit=max_body_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.zh)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # A route that does not exist is not "no such item": a client with a wrong URL prefix must
        # not read it as the platform's verdict on what it sent.
        code = {400: "invalid_request", 404: "no_such_route", 405: "method_not_allowed",
                413: "body_too_large"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _error(422, "invalid_request", "; ".join(parts))

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(500, "internal", f"internal error ({type(exc).__name__})")

    # -- authentication dependencies (their Header parameters document the headers in OpenAPI) --
    async def terminal(request: Request,
                       x_terminal_id: Annotated[str, Header(description="terminal id")] = "",
                       x_timestamp: Annotated[str, Header(description="Unix seconds")] = "",
                       x_nonce: Annotated[str, Header(description="random, unique per request")] = "",
                       x_signature: Annotated[str, Header(description="hex HMAC-SHA256, see docs")] = "") -> str:
        body = await request.body()
        request.state.body = body  # for idempotency: the same bytes that were signed
        # The check reads and writes the database: in the thread pool, as the endpoints run, not on
        # the event loop, where each of its round trips held up every other request (bench/FLEET.md).
        return await run_in_threadpool(platform.authenticate, request.method, _target(request), request.headers,
                                       body)

    async def maybe_terminal(request: Request) -> str | None:
        if auth.HEADER_SIGNATURE not in request.headers:
            return None
        return await terminal(request)

    def person(tid: Annotated[str, Depends(terminal)],
               x_person_token: Annotated[str, Header(description="from POST /persons/token")] = "",
               ) -> tuple[str, str]:
        return platform.person(tid, x_person_token)

    def admin(x_admin_key: Annotated[str, Header(description="staff key of the reference server")] = "") -> None:
        if x_admin_key != admin_key:
            raise ApiError(401, "admin_key_required", f"this call needs a valid {auth.HEADER_ADMIN}")

    Signed = Annotated[str, Depends(terminal)]
    Person = Annotated[tuple[str, str], Depends(person)]
    Open = Depends(maybe_terminal)

    # -- ops ---------------------------------------------------------------------------------
    @app.get("/health", response_model=Health, tags=["ops"])
    def health() -> Health:
        """Liveness plus the catalogue size, so a monitor sees an empty database too."""
        return Health(status="ok", guides=store.count())

    @app.get("/fleet", response_class=HTMLResponse, tags=["ops"], include_in_schema=False)
    def fleet(request: Request) -> Response:
        """Every terminal of the hall, for staff only (HTTP Basic: a browser asks for the login)."""
        if not auth.basic_auth_ok(request.headers.get("authorization", ""), *staff_login):
            resp = _error(401, "staff_login_required", "the fleet page needs the staff login (HTTP Basic)",
                          "请使用工作人员账号登录")
            resp.headers["WWW-Authenticate"] = 'Basic realm="fleet", charset="UTF-8"'
            return resp
        return HTMLResponse(render_fleet(platform.terminals(), platform.daily_stats(), clock()),
                            headers={"Cache-Control": "no-store"})

    @app.get("/track/{number}", response_class=HTMLResponse, tags=["ops"], include_in_schema=False)
    def track(number: str) -> HTMLResponse:
        """The receipt's QR: a case's progress for the citizen's phone (see central.track)."""
        try:
            case = platform.case_by_number_or_ref(number, None)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return HTMLResponse(render_track(number, None), status_code=404)
        return HTMLResponse(render_track(number, case))

    # -- guides (open) -----------------------------------------------------------------------
    @app.get(f"{API_PREFIX}/guides", response_model=GuidePage, responses=_ERRORS, tags=["guides"],
             dependencies=[Open])
    def search_guides(
        q: Annotated[str, Query(max_length=100, description="what a citizen typed: words (简/繁), "
                                                            "pinyin, initials or an item code")] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
        department: Annotated[str | None, Query(max_length=100)] = None,
    ) -> GuidePage:
        """Search (the same reading and ranking as a kiosk's offline copy: contract.guide_index), or
        browse the catalogue or a department when ``q`` is empty."""
        if q.strip():
            return platform.search.search(q, limit=limit, offset=offset, department=department or None)
        total, items = store.browse(limit=limit, offset=offset, department=department or None)
        return GuidePage.model_validate({"total": total, "offset": offset, "limit": limit, "items": items})

    @app.get(f"{API_PREFIX}/search/aliases", response_model=SearchAliases, responses=_ERRORS, tags=["guides"],
             dependencies=[Open])
    def search_aliases() -> SearchAliases:
        """Everyday words and what the catalogue calls them: kiosks read offline queries with it."""
        return platform.search.aliases

    @app.get(f"{API_PREFIX}/guides/changes", response_model=GuideChanges, responses=_ERRORS, tags=["guides"],
             dependencies=[Open])
    def guide_changes(
        since: Annotated[dt.datetime, AfterValidator(_utc_representable),
                         Query(description="ISO 8601; changes at or after it")] = EPOCH,
        after: Annotated[str, Query(max_length=100, description="next_after of the previous page")] = "",
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> GuideChanges:
        """Incremental sync: guides changed and item codes deleted since a point in time."""
        return GuideChanges.model_validate(store.changes(iso(since), after, limit))

    # ":path": item codes are opaque, and one with a "/" must still be answered as a guide (or its
    # absence), not as a route that does not exist.
    @app.get(f"{API_PREFIX}/guides/{{item_code:path}}", response_model=Guide, responses=_ERRORS,
             tags=["guides"], dependencies=[Open])
    def get_guide(item_code: Key) -> Guide:
        row = store.get(item_code)
        if row is None:
            raise ApiError(404, "not_found", f"no guide with item code {item_code!r}")
        return Guide.model_validate(row)

    @app.get(f"{API_PREFIX}/departments", response_model=DepartmentList, tags=["guides"], dependencies=[Open])
    def departments() -> DepartmentList:
        return DepartmentList.model_validate({"items": store.departments()})

    # -- terminals ---------------------------------------------------------------------------
    @app.post(f"{API_PREFIX}/terminals/register", response_model=Terminal, responses={**_SIGNED, **_JSON_BODY},
              tags=["terminals"])
    def register(reg: TerminalRegistration, tid: Signed) -> Terminal:
        """A provisioned terminal announces itself (name, hall, software version)."""
        return Terminal.model_validate(platform.register(tid, reg))

    @app.post(f"{API_PREFIX}/terminals/heartbeat", response_model=HeartbeatAnswer,
              responses={**_SIGNED, **_JSON_BODY}, tags=["terminals"])
    def heartbeat(hb: Heartbeat, tid: Signed) -> HeartbeatAnswer:
        """Device statuses and outbox depth in; pending commands out (until acknowledged)."""
        return HeartbeatAnswer.model_validate(platform.heartbeat(tid, hb))

    @app.get(f"{API_PREFIX}/terminals", response_model=TerminalList, responses=_SIGNED, tags=["terminals"],
             dependencies=[Depends(admin)])
    def list_terminals() -> TerminalList:
        return TerminalList.model_validate({"items": platform.terminals()})

    @app.post(f"{API_PREFIX}/terminals/{{terminal_id}}/commands", response_model=TerminalCommand,
              responses={**_SIGNED, **_JSON_BODY}, tags=["terminals"], dependencies=[Depends(admin)],
              status_code=201)
    def queue_command(terminal_id: Key, cmd: CommandRequest) -> TerminalCommand:
        """Staff queue a command; the terminal gets it with its next heartbeat."""
        return TerminalCommand.model_validate(platform.queue_command(terminal_id, cmd.command, cmd.args))

    @app.post(f"{API_PREFIX}/terminals/commands/{{command_id}}/result", response_model=CommandState,
              responses={**_SIGNED, **_JSON_BODY}, tags=["terminals"])
    def command_result(command_id: Annotated[int, InPath(ge=1, le=MAX_COMMAND_ID)], res: CommandResult,
                       tid: Signed) -> CommandState:
        """The terminal says what became of one of its commands (it is delivered no more). The
        first result stands; sending it again answers the stored state."""
        return CommandState.model_validate(platform.command_result(tid, command_id, res.ok, res.result))

    # -- persons -------------------------------------------------------------------------------
    @app.post(f"{API_PREFIX}/persons/token", response_model=PersonToken, responses={**_SIGNED, **_JSON_BODY},
              tags=["persons"])
    def person_token(req: PersonTokenRequest, tid: Signed) -> PersonToken:
        """A short-lived token (15 min) for the identity the terminal read; bound to this terminal."""
        return PersonToken.model_validate(platform.issue_token(tid, req.id_number, req.name))

    @app.delete(f"{API_PREFIX}/persons/token", responses=_SIGNED, tags=["persons"], status_code=204,
                response_class=Response)
    def revoke_person_token(tid: Signed,
                            x_person_token: Annotated[str, Header(description="the token to revoke")] = "",
                            ) -> Response:
        """Sign-out: the token stops working at once and the platform forgets the identity behind it
        (204 also for a token already revoked or expired, so a retry is harmless)."""
        platform.revoke_token(tid, x_person_token)
        return Response(status_code=204)

    @app.get(f"{API_PREFIX}/persons/preferences", response_model=PersonPreferences, responses=_SIGNED,
             tags=["persons"])
    def person_preferences(who: Person) -> PersonPreferences:
        """The person's own settings (长辈模式, language), for the terminal to apply after identification."""
        return PersonPreferences.model_validate(platform.preferences(who[0]))

    @app.post(f"{API_PREFIX}/citizen-codes/verify", response_model=CitizenIdentity, tags=["persons"],
              responses={**_SIGNED, **_JSON_BODY, 400: {
                  "model": ErrorResponse, "description": "code_invalid (not a citizen code, or forged) or "
                                                         "code_expired; invalid_request: the body is not UTF-8 JSON"}})
    def verify_citizen_code(req: CitizenCodeRequest, tid: Signed) -> CitizenIdentity:
        """The identity in a code scanned from the province's app (400 code_invalid / code_expired)."""
        try:
            payload = auth.verify_citizen_code(req.code, citizen_code_key, now=clock())
        except auth.CitizenCodeError as exc:
            raise ApiError(400, exc.code, str(exc), exc.zh) from None
        return CitizenIdentity.model_validate({"id_number": payload["id"], "name": payload["name"],
                                               "expires_at": iso(payload["exp"])})

    # -- cases ---------------------------------------------------------------------------------
    @app.post(f"{API_PREFIX}/cases", response_model=Case, tags=["cases"], status_code=201, responses={
        200: {"model": Case, "description": "a replay: the same Idempotency-Key and body as an earlier "
                                            "submission answer its case"},
        409: {"model": ErrorResponse}, **_SIGNED, **_JSON_BODY})
    def submit_case(sub: CaseSubmission, request: Request, response: Response, tid: Signed, who: Person,
                    idempotency_key: Annotated[str, Header(min_length=8, max_length=100)]) -> Case:
        """Submit (申报). The same Idempotency-Key with the same body returns the first case (200);
        with a different body, 409."""
        case, created = platform.submit_case(tid, who, sub, idempotency_key, request.state.body)
        if not created:
            response.status_code = 200
        return Case.model_validate(case)

    @app.get(f"{API_PREFIX}/cases", response_model=CaseList, responses=_SIGNED, tags=["cases"])
    def my_cases(who: Person, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
                 offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> CaseList:
        """Newest first; ``total`` says how many there are in all (a business agent may have hundreds)."""
        items, total = platform.cases_of(who[0], limit, offset)
        return CaseList.model_validate({"items": items, "total": total})

    @app.get(f"{API_PREFIX}/cases/{{case_no}}", response_model=Case, responses=_SIGNED, tags=["cases"])
    def get_case(case_no: Key, tid: Signed,
                 x_person_token: Annotated[str, Header()] = "") -> Case:
        """By case number (printed on the receipt) or by the terminal reference of an offline
        receipt. With a person token, only that person's case."""
        owner = platform.person(tid, x_person_token)[0] if x_person_token else None
        return Case.model_validate(platform.case_by_number_or_ref(case_no, tid, owner))

    @app.post(f"{API_PREFIX}/cases/{{case_no}}/supplements", response_model=Case, tags=["cases"], responses={
        200: {"description": "the case, back in 预审; also the answer to a replay with the same "
                             "Idempotency-Key and body, even after the case moved on"},
        409: {"model": ErrorResponse}, **_SIGNED, **_JSON_BODY})
    def supplement(case_no: Key, sup: SupplementSubmission, request: Request, tid: Signed, who: Person,
                   idempotency_key: Annotated[str | None, Header(min_length=8, max_length=100)] = None) -> Case:
        """Hand in what 补齐补正 asked for; the case goes back to 预审. A repeat with the same
        Idempotency-Key and body answers the case again instead of 409 (the first one was applied)."""
        return Case.model_validate(platform.supplement(tid, case_no, who[0], sup, idempotency_key,
                                                       request.state.body))

    # -- certificates ----------------------------------------------------------------------------
    @app.get(f"{API_PREFIX}/certificates", response_model=CertificateList, responses=_SIGNED,
             tags=["certificates"])
    def certificates(who: Person, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
                     offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> CertificateList:
        """In the order they were issued (the identity card's first); ``total`` says how many there
        are in all (a business may hold hundreds of licences and results)."""
        items, total = platform.certificates(who[0], limit, offset)
        return CertificateList.model_validate({"items": items, "total": total})

    @app.post(f"{API_PREFIX}/certificates/{{cert_id}}/proof", response_model=CertificateProof,
              responses={**_SIGNED, **_TOO_LARGE}, tags=["certificates"], status_code=201)
    def certificate_proof(cert_id: Key, request: Request, who: Person) -> CertificateProof:
        """A printable proof with a verification code anyone can check at /proofs/{code}."""
        return CertificateProof.model_validate(platform.proof(cert_id, who[0], str(request.base_url)))

    @app.get(f"{API_PREFIX}/proofs/{{code}}", response_model=ProofCheck, responses=_ERRORS,
             tags=["certificates"])
    def check_proof(code: Key) -> ProofCheck:
        return ProofCheck.model_validate(platform.check_proof(code))

    # -- evaluations -----------------------------------------------------------------------------
    @app.get(f"{API_PREFIX}/evaluations/questions", response_model=EvaluationQuestions, tags=["evaluations"])
    def evaluation_questions() -> EvaluationQuestions:
        return EvaluationQuestions.model_validate({
            "version": EVALUATION_QUESTIONS_VERSION, "levels": EVALUATION_LEVEL_LABELS,
            "questions": [{"code": c, "text": t} for c, t in EVALUATION_QUESTIONS.items()]})

    @app.post(f"{API_PREFIX}/evaluations", response_model=Evaluation, tags=["evaluations"], status_code=201,
              responses={200: {"model": Evaluation, "description": "a replay: the same Idempotency-Key and body "
                                                                   "as an earlier rating answer that rating"},
                         403: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, **_SIGNED, **_JSON_BODY})
    def evaluate(ev: EvaluationSubmission, request: Request, response: Response, tid: Signed,
                 idempotency_key: Annotated[str | None, Header(min_length=8, max_length=100)] = None,
                 x_person_token: Annotated[str, Header(description="the applicant, for a rating of a case")] = "",
                 x_rating_code: Annotated[str, Header(max_length=32,
                                                      description="instead of the applicant: the case's "
                                                                  "rating_code")] = "") -> Evaluation:
        """好差评: five levels on the fixed questions; levels 1-2 are flagged for follow-up. A case is
        rated once, by its applicant (X-Person-Token) or with its rating code (X-Rating-Code);
        a rating of the hall's service (no case_no) needs neither."""
        who = platform.person(tid, x_person_token) if x_person_token else None
        result, created = platform.evaluate(tid, ev, idempotency_key, request.state.body, who, x_rating_code)
        if not created:
            response.status_code = 200
        return Evaluation.model_validate(result)

    # -- queue -------------------------------------------------------------------------------------
    @app.get(f"{API_PREFIX}/queue/services", response_model=QueueServiceList, responses=_SIGNED, tags=["queue"])
    def queue_services(_tid: Signed) -> QueueServiceList:
        return QueueServiceList.model_validate({"items": platform.queue_services()})

    @app.post(f"{API_PREFIX}/queue/tickets", response_model=QueueTicket, responses={**_SIGNED, **_JSON_BODY},
              tags=["queue"], status_code=201)
    def take_ticket(req: QueueTicketRequest, tid: Signed) -> QueueTicket:
        return QueueTicket.model_validate(platform.take_ticket(tid, req.service))

    # -- life events (一件事, open like guide reads) ------------------------------------------------
    life_events = load_life_events()

    def _life_event(event: dict) -> LifeEvent:
        # An item the database no longer has (withdrawn since the file was reviewed) is left out.
        items = [row for code in event["items"] if (row := store.get(code)) is not None]
        return LifeEvent.model_validate({**event, "items": items})

    @app.get(f"{API_PREFIX}/life-events", response_model=LifeEventList, responses=_ERRORS,
             tags=["life events"], dependencies=[Open])
    def list_life_events() -> LifeEventList:
        """出生, 上学, 就业, ...: each with the items a citizen needs for it."""
        return LifeEventList(items=[_life_event(e) for e in life_events["events"]], source=life_events["source"])

    @app.get(f"{API_PREFIX}/life-events/{{code}}", response_model=LifeEvent, responses=_ERRORS,
             tags=["life events"], dependencies=[Open])
    def get_life_event(code: Key) -> LifeEvent:
        event = next((e for e in life_events["events"] if e["code"] == code), None)
        if event is None:
            raise ApiError(404, "not_found", f"no life event {code!r}", "没有找到这件事")
        return _life_event(event)

    return app
