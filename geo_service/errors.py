"""One error model: every 4xx/5xx is `application/problem+json` (RFC 9457), handled here."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo_service.features.errors import (
    AreaRejected,
    CollectionNotFound,
    FeatureNotFound,
    InvalidQuery,
    StoreUnavailable,
)
from layers.registry import LayerNotFound

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("cmrisk.service")


class ApiError(Exception):
    """Base of the service's named errors: status, title and the parameter at fault."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


class InvalidParameter(ApiError):
    """A query or path parameter with a value the service cannot use."""

    status = 400
    title = "Invalid parameter"


class NotFound(ApiError):
    """A resource that does not exist (or is not visible to the caller)."""

    status = 404
    title = "Not found"


class TileOutsideMatrix(NotFound):
    """A z/x/y outside the tile matrix set, or deeper than a layer is served."""

    title = "Tile outside the tile matrix set"


class Unprocessable(ApiError):
    """A well-formed request whose content cannot be processed (e.g. an area too large)."""

    status = 422
    title = "Unprocessable content"


class PayloadTooLarge(ApiError):
    """A request body over the configured size limit."""

    status = 413
    title = "Content too large"


class RequestTimeout(ApiError):
    """Raster work that ran past the configured time limit."""

    status = 503
    title = "Request took too long"


class ServiceUnavailable(ApiError):
    """The service has no data to serve yet."""

    status = 503
    title = "No data yet"


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


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception the service raises to one problem+json shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, parameter=exc.parameter,
                       instance=request.url.path)

    @app.exception_handler(LayerNotFound)
    async def _layer_missing(request: Request, exc: LayerNotFound) -> JSONResponse:
        return problem(404, "Not found", str(exc), parameter="layer", instance=request.url.path)

    @app.exception_handler(CollectionNotFound)
    async def _collection_missing(request: Request, exc: CollectionNotFound) -> JSONResponse:
        return problem(404, "Not found", str(exc), parameter="collectionId",
                       instance=request.url.path[:200])

    @app.exception_handler(FeatureNotFound)
    async def _feature_missing(request: Request, exc: FeatureNotFound) -> JSONResponse:
        return problem(404, "Not found", str(exc), parameter="featureId",
                       instance=request.url.path[:200])

    @app.exception_handler(InvalidQuery)
    async def _bad_query(request: Request, exc: InvalidQuery) -> JSONResponse:
        return problem(400, "Invalid parameter", exc.detail, parameter=exc.parameter,
                       instance=request.url.path[:200])

    @app.exception_handler(AreaRejected)
    async def _area_rejected(request: Request, exc: AreaRejected) -> JSONResponse:
        return problem(422, "Unprocessable content", exc.detail, parameter=exc.parameter,
                       instance=request.url.path[:200])

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        return problem(503, "Feature store unavailable", exc.detail,
                       instance=request.url.path[:200])

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        names = sorted({_location(tuple(e.get("loc", ()))) for e in errors})
        detail = "; ".join(f"{_location(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}"
                           for e in errors)
        return problem(422, "Invalid request", detail, parameter=", ".join(names),
                       instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = "Not found" if exc.status_code == 404 else "HTTP error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path[:200]}"
        return problem(exc.status_code, title, detail, instance=request.url.path[:200])

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        request_id = uuid.uuid4().hex
        log.exception("unhandled error, request id %s", request_id)
        response = problem(500, "Internal error",
                           f"the request failed; request id {request_id}",
                           extra={"request_id": request_id})
        response.headers["X-Request-ID"] = request_id
        return response
