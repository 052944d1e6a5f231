"""HTTP client of the central service platform (网上办事大厅 API v1).

Every call has a connect and a read timeout; idempotent GETs are retried a bounded number of
times with a short backoff on connection failures and 5xx answers (a dropped keep-alive
connection or a restarting server should not reach the citizen); every answer is validated
against the shared contract in central.models. Whatever goes wrong - refused connection, TLS,
timeout, 5xx, HTML from a captive portal, JSON of the wrong shape - the caller gets exactly one
exception type, CentralError, carrying a precise ``message`` for logs and staff and a plain
``zh`` sentence for the citizen.

Only the contract (central.models, pydantic only) is imported from central/, never the server.
"""

from __future__ import annotations

import http.client
import logging
import time
from typing import TypeVar
from urllib.parse import quote, urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter

from central.models import API_PREFIX, DepartmentList, ErrorResponse, Guide, GuidePage, Health

log = logging.getLogger("kiosk.central_client")

ZH_UNAVAILABLE = "暂时无法连接服务平台，请稍后再试"
ZH_NOT_FOUND = "没有找到这个事项，请返回重新查找"

Timeout = float | tuple[float, float]
M = TypeVar("M", bound=BaseModel)


class CentralError(Exception):
    """Any failure talking to the central platform.

    ``code``: not_found | unreachable | timeout | server_error | http_error | bad_response |
    invalid_request | error; ``message``: for logs and staff; ``zh``: for the citizen's screen;
    ``status``: the HTTP status if an answer arrived; ``url``: what was asked.
    """

    def __init__(self, message: str, *, code: str = "error", zh: str = ZH_UNAVAILABLE,
                 status: int | None = None, url: str = ""):
        super().__init__(message)
        self.message, self.code, self.zh, self.status, self.url = message, code, zh, status, url

    def __repr__(self) -> str:
        return f"CentralError(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class CentralClient:
    """Talks to one central platform at ``base_url`` (``https://...``; ``http://`` for 127.0.0.1).

    One pooled requests.Session serves all calls; TLS certificates are verified (``verify`` may
    name a CA bundle for a province's private CA, never ``False`` silently). ``timeout`` is
    (connect, read) seconds per attempt; GETs make at most ``retries`` attempts, sleeping
    ``backoff``, 2×``backoff``, ... between them. Read timeouts are not retried: the server may
    still be working, and a citizen should not wait three read timeouts.
    """

    def __init__(self, base_url: str, timeout: Timeout = (3.05, 10), *, retries: int = 3,
                 backoff: float = 0.25, verify: bool | str = True, user_agent: str = "hall-kiosk/0.1"):
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

    # -- plumbing ----------------------------------------------------------------------------
    def _get(self, path: str, model: type[M], params: dict | None = None) -> M:
        url = self.base_url + path
        resp = self._send(url, params)
        if resp.status_code != 200:
            raise self._http_error(url, resp)
        ctype = resp.headers.get("Content-Type", "")
        if "json" not in ctype.lower():
            raise CentralError(f"GET {url}: expected JSON, got {ctype or 'no content type'} "
                               f"({_snippet(resp.content)})", code="bad_response", status=200, url=url)
        try:
            return model.model_validate_json(resp.content)
        except ValidationError as exc:
            raise CentralError(f"GET {url}: answer does not match {model.__name__}: {_first_error(exc)}",
                               code="bad_response", status=200, url=url) from None

    def _send(self, url: str, params: dict | None) -> requests.Response:
        last: CentralError | None = None
        for attempt in range(1, self.retries + 1):
            if attempt > 1:
                time.sleep(self.backoff * 2 ** (attempt - 2))
            try:
                resp = self.session.get(url, params=params, timeout=self.timeout)  # body read here too
            except requests.exceptions.ReadTimeout as exc:
                raise CentralError(f"GET {url}: no answer within the read timeout ({exc})",
                                   code="timeout", url=url) from None
            except requests.exceptions.SSLError as exc:
                # A certificate problem will not fix itself in a second: do not retry.
                raise CentralError(f"GET {url}: TLS error: {exc}", code="unreachable", url=url) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                last = CentralError(f"GET {url}: connection failed after {attempt} attempt(s): {exc}",
                                    code="unreachable", url=url)
            except (requests.RequestException, http.client.HTTPException, OSError, ValueError) as exc:
                raise CentralError(f"GET {url}: {type(exc).__name__}: {exc}", code="unreachable",
                                   url=url) from None
            else:
                if resp.status_code < 500:
                    return resp
                last = self._http_error(url, resp, attempt)
            if attempt < self.retries:
                log.warning("%s; retrying", last.message)
        assert last is not None
        raise last

    @staticmethod
    def _http_error(url: str, resp: requests.Response, attempts: int = 1) -> CentralError:
        status = resp.status_code
        try:
            err = ErrorResponse.model_validate_json(resp.content).error
            detail = f"{err.code}: {err.message}"
        except ValidationError:
            err, detail = None, _snippet(resp.content)
        tries = f" after {attempts} attempt(s)" if status >= 500 else ""
        message = f"GET {url}: HTTP {status}{tries}: {detail}"
        if status >= 500:
            return CentralError(message, code="server_error", status=status, url=url)
        if status == 404 and err is not None and err.code == "not_found":
            # Only a 404 in the platform's own error format means "no such item"; a bare 404 page
            # means the base URL is wrong, which the citizen must not read as "not found".
            return CentralError(message, code="not_found", zh=ZH_NOT_FOUND, status=status, url=url)
        code = "invalid_request" if status in (400, 422) else "http_error"
        return CentralError(message, code=code, status=status, url=url)


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else "")) if body else "empty body"


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    e = errors[0]
    loc = ".".join(str(p) for p in e["loc"]) or "(body)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {e['msg']}{more}"
