"""Domain errors to HTTP: one table, one handler.

Responses carry a stable ``code`` and a zh-TW ``message``; English details go to the log only.
"""

from __future__ import annotations

import html
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo import errors as geo_errors
from geo import layers as geo_layers
from workflow import auth as wf_auth
from workflow import errors as wf_errors
from workflow import evaluation as wf_evaluation
from workflow import idempotency as wf_idempotency
from workflow import resident_reports as wf_reports
from workflow import service_states as wf_service_states
from workflow import states as wf_states

log = logging.getLogger(__name__)

# Most specific class first: the first match wins.
STATUS: list[tuple[type[geo_errors.SafemapError], int]] = [
    (wf_auth.AuthenticationFailed, 401),
    (wf_auth.InvalidToken, 401),
    (geo_errors.NotAuthenticated, 401),
    (geo_errors.PermissionDenied, 403),
    (geo_errors.NotFound, 404),
    (geo_layers.VersionConflict, 412),
    (geo_layers.VersionRequired, 428),
    (wf_states.InvalidTransition, 409),
    (wf_states.QuotaExceeded, 409),
    (wf_service_states.InvalidServiceTransition, 409),
    (wf_errors.WorkflowConflict, 409),
    (wf_evaluation.TooManyNominations, 409),
    (wf_evaluation.DuplicateNomination, 409),
    (wf_evaluation.ScorerNotOnPanel, 403),
    (wf_errors.IncompleteSubmission, 422),
    (wf_idempotency.IdempotencyKeyReused, 422),
    (geo_errors.ImportRowsRejected, 422),
    (geo_errors.InputTooLarge, 413),
    (wf_reports.RateLimited, 429),
    (geo_errors.GeometryOutOfBounds, 422),
    (geo_errors.InvalidGeometry, 422),
    (geo_errors.InvalidInput, 400),
    (geo_errors.DatabaseUnavailable, 503),
    (geo_errors.SafemapError, 500),
]

_HTTP_MESSAGES = {
    401: ("not_authenticated", "請先登入。"),
    403: ("permission_denied", "您沒有權限執行此操作。"),
    404: ("not_found", "找不到此頁面或資料。"),
    405: ("method_not_allowed", "不支援此操作方式。"),
}


def status_for(exc: geo_errors.SafemapError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


async def _domain_error(request: Request, exc: geo_errors.SafemapError) -> JSONResponse:
    status = status_for(exc)
    if status >= 500:
        log.error("%s: %s", exc.code, exc.detail or exc.message)
    else:
        log.info("%s %s -> %s %s", request.method, request.url.path, status, exc.detail or exc.code)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    extra = {}
    if exc.context.get("problems"):
        # Which rows of an import could not be placed, and why: the user fixes them all at once.
        extra["problems"] = [
            {
                "row": p.row,
                "layer": p.layer,
                "where": p.where_zh,
                "reason": p.reason_zh,
                "code": p.code,
                "field": p.field,
            }
            for p in exc.context["problems"]
        ]
    if _wants_html(request):
        return _html_error(status, exc.message)
    return JSONResponse(
        error_body(exc.code, exc.message, **extra), status_code=status, headers=headers
    )


def _wants_html(request: Request) -> bool:
    # A person in a browser on a page gets a page; API and OGC clients get JSON.
    machine = request.url.path.startswith(
        ("/api/", "/ogc", "/tiles/", "/health", "/docs", "/openapi")
    )
    return not machine and "text/html" in request.headers.get("accept", "")


def _html_error(status: int, message: str) -> HTMLResponse:
    body = (
        '<!doctype html><html lang="zh-Hant-TW"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/app/app.css"><title>無法完成</title></head>'
        f'<body><main><section class="card narrow"><h1>無法完成</h1><p class="error">{html.escape(message)}</p>'
        '<p><a href="/app">回首頁</a></p></section></main></body></html>'
    )
    return HTMLResponse(body, status_code=status)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")}
        for err in exc.errors()
    ]
    return JSONResponse(
        error_body("validation_error", "輸入資料格式不正確，請檢查標示的欄位。", fields=fields),
        status_code=422,
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "要求無法處理。"))
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(geo_errors.SafemapError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
