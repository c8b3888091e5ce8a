"""Every failure answers ``{"error": {"code", "message"}}`` with a stable code."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.api.models import ErrorOut
from central.errors import CentralError

log = logging.getLogger("central.api")

_ERROR = {"model": ErrorOut, "description": "an error with a stable code and a message"}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _ERROR for status in (400, 401, 403, 404, 409, 422, 500, 503)
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _describe(err: RequestValidationError) -> tuple[int, str, str]:
    problems = err.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return 400, "malformed_json", "the request body is not valid JSON"
    parts = []
    for p in problems[:5]:
        where = ".".join(str(x) for x in p.get("loc", ()) if x != "body")
        parts.append(f"{where or 'body'}: {p.get('msg', 'invalid')}")
    return 422, "malformed_request", "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(CentralError)
    async def _central(request: Request, err: CentralError) -> JSONResponse:
        log.info(
            "refused",
            extra={"path": request.url.path, "code": err.code, "status": err.status},
        )
        return error_response(err.status, err.code, err.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        status, code, message = _describe(err)
        return error_response(status, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(
            err.status_code, codes.get(err.status_code, "http_error"), str(err.detail)
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, err: Exception) -> JSONResponse:
        log.exception("internal error", extra={"path": request.url.path})
        return error_response(
            500, "internal_error", "the server failed; the request was not applied"
        )
