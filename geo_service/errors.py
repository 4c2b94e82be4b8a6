"""One error model: every 4xx/5xx is `application/problem+json` (RFC 9457), from one handler.

The errors themselves are `data_catalog.problems.Problem` subclasses, each with its status
(the named errors of the feature store and the layer registry are among them); this module adds
the service's own few and `problem_response`, the one handler every exception goes through:
a `Problem` gives its status, title, detail and parameter; FastAPI's validation errors and
Starlette's HTTP errors become problems of the same shape; a client that went away is one log
line; anything else is a 500 with a request id (logged with its traceback, never shown).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from data_catalog.problems import NotFound, Problem, Unavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("cmrisk.service")


class TileOutsideMatrix(NotFound):
    """A z/x/y outside the tile matrix set, or deeper than a layer is served."""

    title = "Tile outside the tile matrix set"


class NoData(Unavailable):
    """The service has no pipeline run to serve yet."""

    title = "No data yet"


class WorkTimeout(Unavailable):
    """Work that ran past its time limit; it was stopped."""

    title = "Request took too long"


class WorkOutOfMemory(Unavailable):
    """Work that ran past its memory limit; it was stopped."""

    title = "Request needed too much memory"


class Busy(Unavailable):
    """Every work process is taken and the queue is full (or waiting used up the budget)."""

    title = "Busy"


def problem(status: int, title: str, detail: str, *, parameter: str | None = None,
            instance: str | None = None, extra: dict[str, Any] | None = None) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    if parameter:
        body["parameter"] = parameter
    if instance:
        body["instance"] = instance[:200]  # never echo a whole hostile path back
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or "request"


def as_problem(exc: Exception, path: str) -> Problem | None:
    """The problem an exception stands for; None for an unexpected error (a 500)."""
    if isinstance(exc, Problem):
        return exc if exc.status < 500 or isinstance(exc, Unavailable) else None
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        names = sorted({_location(tuple(e.get("loc", ()))) for e in errors})
        detail = "; ".join(f"{_location(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}"
                           for e in errors)
        invalid = Problem(detail, parameter=", ".join(names))
        invalid.status, invalid.title = 422, "Invalid request"
        return invalid
    if isinstance(exc, StarletteHTTPException):
        title = "Not found" if exc.status_code == 404 else "HTTP error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {path[:200]}"
        http = Problem(detail)
        http.status, http.title = exc.status_code, title
        return http
    return None


async def problem_response(request: Request, exc: Exception) -> Response:
    """The one exception handler: every error as problem+json (see the module docstring)."""
    path = request.url.path
    if isinstance(exc, ClientDisconnect):
        log.info("client closed the connection during %s %s", request.method, path[:200])
        return Response(status_code=400)  # nobody is listening; sent nowhere
    found = as_problem(exc, path)
    if found is not None:
        response: Response = problem(found.status, found.title, found.detail,
                                     parameter=found.parameter, instance=path)
        if found.status == 503:
            response.headers["Retry-After"] = "5"
        return response
    request_id = uuid.uuid4().hex
    log.error("unhandled error, request id %s", request_id, exc_info=exc)
    response = problem(500, "Internal error", f"the request failed; request id {request_id}",
                       extra={"request_id": request_id})
    response.headers["X-Request-ID"] = request_id
    return response


HANDLED = (Problem, RequestValidationError, StarletteHTTPException, ClientDisconnect, Exception)
"""The exception classes `problem_response` is registered for."""


def install_error_handlers(app: FastAPI) -> None:
    """Send every exception the service meets through `problem_response`."""
    for cls in HANDLED:
        app.add_exception_handler(cls, problem_response)
