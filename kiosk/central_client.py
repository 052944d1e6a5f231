"""HTTP client of the central service platform (网上办事大厅 API v1).

Every call has a connect and a read timeout; idempotent GETs are retried a bounded number of
times with a short backoff on connection failures and 5xx answers (a dropped keep-alive
connection or a restarting server should not reach the citizen); every answer is validated
against the shared contract in contract.models. Whatever goes wrong - refused connection, TLS,
timeout, 5xx, HTML from a captive portal, JSON of the wrong shape - the caller gets exactly one
exception type, CentralError, carrying a precise ``message`` for logs and staff and a plain
``zh`` sentence for the citizen.

Requests are signed when the client is given a terminal id and secret (contract.auth: HMAC over
method, path, timestamp, nonce and body hash; re-signed on every retry). Calls about a person take
the person token as an argument: the kiosk's session owns it, not the client.

Only the contract (contract.models, pydantic only) and contract.auth (stdlib only) are imported
from central/, never the server.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from contract import auth
from contract.models import (
    API_PREFIX,
    Case,
    CaseList,
    CaseSubmission,
    CertificateList,
    CertificateProof,
    CitizenIdentity,
    CommandState,
    DepartmentList,
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
    QueueServiceList,
    QueueTicket,
    SearchAliases,
    SupplementSubmission,
    Terminal,
)

log = logging.getLogger("kiosk.central_client")

ZH_UNAVAILABLE = "暂时无法连接服务平台，请稍后再试"
ZH_NOT_FOUND = "没有找到这个事项，请返回重新查找"

Timeout = float | tuple[float, float]
M = TypeVar("M", bound=BaseModel)


class CentralError(Exception):
    """Any failure talking to the central platform.

    ``code``: not_found | unreachable | timeout | server_error | http_error | bad_response |
    invalid_request | error, or for a 4xx the platform's own error code (bad_signature,
    idempotency_conflict, person_token_expired, code_expired, ...); ``message``: for logs and staff; ``zh``: for the citizen's screen;
    ``status``: the HTTP status if an answer arrived; ``url``: what was asked; ``from_platform``:
    the answer carried the contract's error body, so it is the platform's own word (a proxy's bare
    404 page or a wrong URL prefix is not).
    """

    def __init__(self, message: str, *, code: str = "error", zh: str = ZH_UNAVAILABLE,
                 status: int | None = None, url: str = "", from_platform: bool = False):
        super().__init__(message)
        self.message, self.code, self.zh, self.status, self.url = message, code, zh, status, url
        self.from_platform = from_platform

    def __repr__(self) -> str:
        return f"CentralError(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class TerminalSigner(AuthBase):
    """requests auth hook: signs the prepared request - the exact path, query and body bytes
    that go on the wire - so every retry gets a fresh timestamp, nonce and signature."""

    def __init__(self, terminal_id: str, secret: str, clock: Callable[[], float] = time.time):
        self.terminal_id, self.secret, self.clock = terminal_id, secret, clock

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        r.headers.update(auth.signed_headers(self.terminal_id, self.secret, r.method or "GET", r.path_url, body,
                                             now=self.clock()))
        return r


class CentralClient:
    """Talks to one central platform at ``base_url`` (``https://...``; ``http://`` for 127.0.0.1).

    One pooled requests.Session serves all calls; TLS certificates are verified (``verify`` may
    name a CA bundle for a province's private CA, never ``False`` silently). ``timeout`` is
    (connect, read) seconds per attempt; GETs make at most ``retries`` attempts, sleeping
    ``backoff``, 2×``backoff``, ... between them. Read timeouts are not retried: the server may
    still be working, and a citizen should not wait three read timeouts. POSTs are retried only
    when they carry an Idempotency-Key. With ``terminal_id`` and ``secret`` every request is signed
    with timestamps from ``clock`` (a terminal may correct its clock by the heartbeat's server_time).
    """

    def __init__(self, base_url: str, timeout: Timeout = (3.05, 10), *, retries: int = 3,
                 backoff: float = 0.25, verify: bool | str = True, user_agent: str = "hall-kiosk/0.1",
                 terminal_id: str | None = None, secret: str | None = None,
                 clock: Callable[[], float] = time.time):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"central platform URL must be http(s)://host[:port][/path], got {base_url!r}")
        if verify is False:
            log.warning("TLS certificate verification is OFF for %s", base_url)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if bool(terminal_id) != bool(secret):
            raise ValueError("terminal_id and secret go together")
        self.terminal_id = terminal_id
        if terminal_id and secret:
            self.session.auth = TerminalSigner(terminal_id, secret, clock)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CentralClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- API ---------------------------------------------------------------------------------
    def health(self) -> Health:
        return self._get("/health", Health)

    def search_guides(self, q: str = "", limit: int = 20, offset: int = 0,
                      department: str | None = None) -> GuidePage:
        params: dict[str, str | int] = {"q": q, "limit": limit, "offset": offset}
        if department:
            params["department"] = department
        return self._get(f"{API_PREFIX}/guides", GuidePage, params)

    def get_guide(self, item_code: str) -> Guide:
        if not item_code:
            raise CentralError("empty item code", code="invalid_request", zh=ZH_NOT_FOUND)
        # The code is opaque: quote everything, so "/" or "?" in a code cannot change the route.
        return self._get(f"{API_PREFIX}/guides/{quote(item_code, safe='')}", Guide)

    def departments(self) -> DepartmentList:
        return self._get(f"{API_PREFIX}/departments", DepartmentList)

    def guide_changes(self, since: dt.datetime | None = None, after: str = "", limit: int = 200) -> GuideChanges:
        """One page of incremental sync; pass the answer's next_since/next_after while ``more``."""
        params: dict[str, str | int] = {"limit": limit}
        if since is not None:
            params["since"] = since.isoformat()
        if after:
            params["after"] = after
        return self._get(f"{API_PREFIX}/guides/changes", GuideChanges, params)

    def search_aliases(self) -> SearchAliases:
        """The platform's table of everyday words (社保卡 → 社会保障卡) its search reads queries with."""
        return self._get(f"{API_PREFIX}/search/aliases", SearchAliases)

    # -- terminal ------------------------------------------------------------------------------
    def register(self, name: str = "", hall: str = "", version: str = "") -> Terminal:
        return self._post(f"{API_PREFIX}/terminals/register", Terminal,
                          {"name": name, "hall": hall, "version": version})

    def heartbeat(self, beat: Heartbeat) -> HeartbeatAnswer:
        return self._post(f"{API_PREFIX}/terminals/heartbeat", HeartbeatAnswer, beat.model_dump(mode="json"))

    def command_result(self, command_id: int, ok: bool, result: str) -> CommandState:
        """What became of a platform command (kiosk.commands resends it until this answers)."""
        return self._post(f"{API_PREFIX}/terminals/commands/{command_id}/result", CommandState,
                          {"ok": ok, "result": result})

    # -- persons -------------------------------------------------------------------------------
    def person_token(self, id_number: str, name: str, source: str = "id_card") -> PersonToken:
        return self._post(f"{API_PREFIX}/persons/token", PersonToken,
                          {"id_number": id_number, "name": name, "source": source})

    def revoke_person_token(self, person_token: str) -> None:
        """Sign-out: the platform deletes the token and the identity behind it. Retried like a
        GET (revoking twice is harmless)."""
        url = self.base_url + f"{API_PREFIX}/persons/token"
        resp = self._send("DELETE", url, headers=_person(person_token), retry=True)
        if resp.status_code not in (200, 204):
            raise self._http_error(url, resp, method="DELETE")

    def person_preferences(self, person_token: str) -> PersonPreferences:
        """The person's own settings (长辈模式, language) the platform keeps for every terminal."""
        return self._get(f"{API_PREFIX}/persons/preferences", PersonPreferences, headers=_person(person_token))

    def verify_citizen_code(self, code: str) -> CitizenIdentity:
        return self._post(f"{API_PREFIX}/citizen-codes/verify", CitizenIdentity, {"code": code})

    # -- cases ---------------------------------------------------------------------------------
    def submit_case(self, person_token: str, submission: CaseSubmission, idempotency_key: str) -> Case:
        """Retried like a GET: the key makes a repeat return the same case."""
        return self._post(f"{API_PREFIX}/cases", Case, submission.model_dump(mode="json"),
                          person_token=person_token, idempotency_key=idempotency_key)

    def get_case(self, case_no: str, person_token: str | None = None) -> Case:
        return self._get(f"{API_PREFIX}/cases/{quote(case_no, safe='')}", Case,
                         headers=_person(person_token))

    def my_cases(self, person_token: str, limit: int = 100, offset: int = 0) -> CaseList:
        return self._get(f"{API_PREFIX}/cases", CaseList, params={"limit": limit, "offset": offset},
                         headers=_person(person_token))

    def submit_supplement(self, person_token: str, case_no: str, materials: list[str], note: str = "",
                          idempotency_key: str | None = None) -> Case:
        """With a key, retried like a GET: a repeat answers the case instead of 409."""
        body = SupplementSubmission(materials=materials, note=note).model_dump(mode="json")
        return self._post(f"{API_PREFIX}/cases/{quote(case_no, safe='')}/supplements", Case, body,
                          person_token=person_token, idempotency_key=idempotency_key)

    # -- certificates, evaluations, queue --------------------------------------------------------
    def certificates(self, person_token: str, limit: int = 100, offset: int = 0) -> CertificateList:
        return self._get(f"{API_PREFIX}/certificates", CertificateList, {"limit": limit, "offset": offset},
                         headers=_person(person_token))

    def certificate_proof(self, person_token: str, cert_id: str) -> CertificateProof:
        return self._post(f"{API_PREFIX}/certificates/{quote(cert_id, safe='')}/proof", CertificateProof,
                          None, person_token=person_token)

    def evaluation_questions(self) -> EvaluationQuestions:
        return self._get(f"{API_PREFIX}/evaluations/questions", EvaluationQuestions)

    def evaluate(self, evaluation: EvaluationSubmission, idempotency_key: str | None = None, *,
                 person_token: str | None = None, rating_code: str | None = None) -> Evaluation:
        """A rating of a case needs the applicant's token or the case's rating code (the one the
        case answer carried, e.g. printed on the receipt); a rating of the hall's service neither."""
        headers = {auth.HEADER_RATING_CODE: rating_code} if rating_code else None
        return self._post(f"{API_PREFIX}/evaluations", Evaluation, evaluation.model_dump(mode="json"),
                          person_token=person_token, idempotency_key=idempotency_key, headers=headers)

    def queue_services(self) -> QueueServiceList:
        return self._get(f"{API_PREFIX}/queue/services", QueueServiceList)

    def take_ticket(self, service: str) -> QueueTicket:
        return self._post(f"{API_PREFIX}/queue/tickets", QueueTicket, {"service": service})

    # -- plumbing ----------------------------------------------------------------------------
    def _get(self, path: str, model: type[M], params: dict | None = None,
             headers: dict[str, str] | None = None) -> M:
        url = self.base_url + path
        resp = self._send("GET", url, params=params, headers=headers, retry=True)
        return self._parse("GET", url, resp, model)

    def _post(self, path: str, model: type[M], body: Any, *, person_token: str | None = None,
              idempotency_key: str | None = None, headers: dict[str, str] | None = None) -> M:
        url = self.base_url + path
        headers = {"Content-Type": "application/json", **_person(person_token), **(headers or {})}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else b""
        resp = self._send("POST", url, data=data, headers=headers, retry=bool(idempotency_key))
        return self._parse("POST", url, resp, model)

    def _parse(self, method: str, url: str, resp: requests.Response, model: type[M]) -> M:
        if resp.status_code not in (200, 201):
            raise self._http_error(url, resp, method=method)
        ctype = resp.headers.get("Content-Type", "")
        if "json" not in ctype.lower():
            raise CentralError(f"{method} {url}: expected JSON, got {ctype or 'no content type'} "
                               f"({_snippet(resp.content)})", code="bad_response", status=resp.status_code, url=url)
        try:
            return model.model_validate_json(resp.content)
        except ValidationError as exc:
            raise CentralError(f"{method} {url}: answer does not match {model.__name__}: {_first_error(exc)}",
                               code="bad_response", status=resp.status_code, url=url) from None

    def _send(self, method: str, url: str, *, params: dict | None = None, data: bytes | None = None,
              headers: dict[str, str] | None = None, retry: bool = True) -> requests.Response:
        last: CentralError | None = None
        tries = self.retries if retry else 1
        for attempt in range(1, tries + 1):
            if attempt > 1:
                time.sleep(self.backoff * 2 ** (attempt - 2))
            try:
                resp = self.session.request(method, url, params=params, data=data, headers=headers,
                                            timeout=self.timeout)  # body read here too
            except requests.exceptions.ReadTimeout as exc:
                raise CentralError(f"{method} {url}: no answer within the read timeout ({exc})",
                                   code="timeout", url=url) from None
            except requests.exceptions.SSLError as exc:
                # A certificate problem will not fix itself in a second: do not retry.
                raise CentralError(f"{method} {url}: TLS error: {exc}", code="unreachable", url=url) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                last = CentralError(f"{method} {url}: connection failed after {attempt} attempt(s): {exc}",
                                    code="unreachable", url=url)
            except (requests.RequestException, http.client.HTTPException, OSError, ValueError) as exc:
                raise CentralError(f"{method} {url}: {type(exc).__name__}: {exc}", code="unreachable",
                                   url=url) from None
            else:
                if resp.status_code < 500:
                    return resp
                last = self._http_error(url, resp, attempt, method=method)
            if attempt < tries:
                log.warning("%s; retrying", last.message)
        assert last is not None
        raise last

    @staticmethod
    def _http_error(url: str, resp: requests.Response, attempts: int = 1, method: str = "GET") -> CentralError:
        status = resp.status_code
        try:
            err = ErrorResponse.model_validate_json(resp.content).error
            detail = f"{err.code}: {err.message}"
        except ValidationError:
            err, detail = None, _snippet(resp.content)
        tries = f" after {attempts} attempt(s)" if status >= 500 else ""
        message = f"{method} {url}: HTTP {status}{tries}: {detail}"
        ours = err is not None
        if status >= 500:
            return CentralError(message, code="server_error", status=status, url=url, from_platform=ours)
        if status == 404 and ours and err.code == "not_found":
            # Only a 404 in the platform's own error format means "no such item"; a bare 404 page
            # means the base URL is wrong, which the citizen must not read as "not found".
            return CentralError(message, code="not_found", zh=err.zh or ZH_NOT_FOUND, status=status, url=url,
                                from_platform=True)
        if ours and status in (400, 401, 403, 409, 413):
            # The platform's own code (bad_signature, code_expired, ...) and its sentence, if any.
            return CentralError(message, code=err.code, zh=err.zh or ZH_UNAVAILABLE, status=status, url=url,
                                from_platform=True)
        code = "invalid_request" if status in (400, 422) else "http_error"
        return CentralError(message, code=code, status=status, url=url, from_platform=ours)

    # -- life events (一件事) --------------------------------------------------------------------
    def life_events(self) -> LifeEventList:
        return self._get(f"{API_PREFIX}/life-events", LifeEventList)

    def life_event(self, code: str) -> LifeEvent:
        return self._get(f"{API_PREFIX}/life-events/{quote(code, safe='')}", LifeEvent)


def _person(token: str | None) -> dict[str, str]:
    return {auth.HEADER_PERSON: token} if token else {}


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else "")) if body else "empty body"


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    e = errors[0]
    loc = ".".join(str(p) for p in e["loc"]) or "(body)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {e['msg']}{more}"


@contextmanager
def person_session(client: CentralClient, id_number: str, name: str):
    """A person token for one piece of work (in the thread pool), revoked when it is done, whatever
    happens: the platform keeps no identity for the token's remaining lifetime. A failed revoke
    only logs (the token expires by itself within minutes)."""
    token = client.person_token(id_number, name).token
    try:
        yield token
    finally:
        try:
            client.revoke_person_token(token)
        except CentralError as exc:
            log.warning("person token not revoked (%s)", exc.code)
