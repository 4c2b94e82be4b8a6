"""`create_app(settings)`: the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from geo_service.areas_store import AreasStore
from geo_service.auth import PrivateResponses
from geo_service.errors import install_error_handlers
from geo_service.routers import analysis, areas, features, landing, layers, maps, stac, tiles
from geo_service.settings import Settings
from layers.registry import Registry

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for one data dir.

    Args:
        settings: service settings; read from `CMRISK_*` environment variables when None.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        features.close_store(app)

    app = FastAPI(
        lifespan=lifespan,
        title="cmrisk",
        summary="Climate-mobility risk: tiles, OGC API - Features, areas and planning maps.",
        version="0.1.0",
        openapi_url="/api",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.registry = Registry(settings.data)
    app.state.areas = AreasStore(app.state.registry, lambda: features.shared_store(app))
    install_error_handlers(app)
    app.add_middleware(PrivateResponses)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization"])
    for module in (landing, layers, areas, maps, analysis, tiles, stac):
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(title=app.title, version=app.version,
                                             summary=app.summary, routes=app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    features.install(app)
    return app
