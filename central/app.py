"""The central platform's HTTP API (FastAPI), version 1 under /api/v1.

Every answer has a pydantic response model from central.models (the contract the kiosk client
validates against), and every error - unknown item, bad parameter, unknown route, crash - has
the same JSON body ``{"error": {"code": ..., "message": ...}}`` so clients need one error path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.db import GuideStore
from central.models import (
    API_PREFIX,
    DepartmentList,
    ErrorInfo,
    ErrorResponse,
    Guide,
    GuidePage,
    Health,
)

log = logging.getLogger("central.app")

MAX_PAGE = 100
_ERRORS = {404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


class ApiError(Exception):
    """Raised by an endpoint to answer with the error envelope."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    body = ErrorResponse(error=ErrorInfo(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status)


def create_app(db_path: str | Path) -> FastAPI:
    """The API over the guide database at ``db_path`` (created if missing; not seeded here)."""
    store = GuideStore(db_path)
    app = FastAPI(title="Hall kiosk central platform (reference)", version="1.0.0",
                  description="Service guides (办事指南) for government-service hall kiosks.")
    app.state.store = store

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _error(422, "invalid_request", "; ".join(parts))

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(500, "internal", f"internal error ({type(exc).__name__})")

    @app.get("/health", response_model=Health, tags=["ops"])
    def health() -> Health:
        """Liveness plus the catalogue size, so a monitor sees an empty database too."""
        return Health(status="ok", guides=store.count())

    @app.get(f"{API_PREFIX}/guides", response_model=GuidePage, responses=_ERRORS, tags=["guides"])
    def search_guides(
        q: Annotated[str, Query(max_length=100, description="name, pinyin, initials or item code")] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
        department: Annotated[str | None, Query(max_length=100)] = None,
    ) -> GuidePage:
        total, items = store.search(q, limit=limit, offset=offset, department=department or None)
        return GuidePage.model_validate({"total": total, "offset": offset, "limit": limit, "items": items})

    @app.get(f"{API_PREFIX}/guides/{{item_code}}", response_model=Guide, responses=_ERRORS,
             tags=["guides"])
    def get_guide(item_code: str) -> Guide:
        row = store.get(item_code)
        if row is None:
            raise ApiError(404, "not_found", f"no guide with item code {item_code!r}")
        return Guide.model_validate(row)

    @app.get(f"{API_PREFIX}/departments", response_model=DepartmentList, tags=["guides"])
    def departments() -> DepartmentList:
        return DepartmentList.model_validate({"items": store.departments()})

    return app
