"""`create_app(settings)`: the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from geo_service import metrics
from geo_service.auth import PrivateResponses
from geo_service.errors import install_error_handlers
from geo_service.guards import Guards
from geo_service.metrics import RequestMetrics, worker_stopped
from geo_service.regions import REGION_PREFIX, Regions, region_path
from geo_service.routers import (
    analysis,
    areas,
    exchange,
    features,
    landing,
    layers,
    maps,
    regions,
    stac,
    tiles,
)
from geo_service.settings import Settings
from geo_service.workpool import WorkPool

REGION_ROUTERS = (landing, layers, areas, maps, analysis, tiles, stac, features)
"""Route groups served for the default region and, under `/regions/{region}`, for any."""

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.1"


def allowed_hosts(settings: Settings) -> list[str]:
    """The hosts requests may name: the configured ones and the host of `public_url`."""
    hosts = list(settings.allowed_hosts)
    if settings.public_url:
        public = urlsplit(settings.public_url).hostname
        if public:
            hosts.append(public)
    return hosts


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start nothing; at shutdown, stop the work processes, close the feature stores'
    database connections and retire this worker's metrics."""
    yield
    pool: WorkPool | None = getattr(app.state, "work_pool", None)
    if pool is not None:
        pool.close()
    app.state.regions.close()
    worker_stopped()


def regions_of(settings: Settings) -> Regions:
    """The regions of the settings' data dir, their features in PostGIS when a database URL
    is set (one connection pool for every region), else in the embedded store."""
    if not settings.database_url:
        return Regions(settings.data, settings.default_region)
    from geo_service.features.postgis import FeatureDatabase

    database = FeatureDatabase(settings.database_url,
                               max_connections=settings.database_pool_size,
                               timeout_s=settings.database_timeout_s)
    return Regions(settings.data, settings.default_region,
                   make_store=lambda registry: database.store(registry.region),
                   close=database.close)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for one data dir.

    Args:
        settings: service settings; read from `CMRISK_*` environment variables when None.
    """
    settings = settings or Settings()
    app = FastAPI(
        title="cmrisk",
        summary="Climate-mobility risk: tiles, OGC API - Features, areas and planning maps.",
        version="0.1.0",
        openapi_url="/api",
        docs_url=None,  # served offline, with its own CSP: routers/landing.py
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.regions = regions_of(settings)
    install_error_handlers(app)
    app.add_middleware(PrivateResponses)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization"])
    app.add_middleware(Guards, allowed_hosts=allowed_hosts(settings),
                       body_timeout_s=settings.body_timeout_s)
    app.add_middleware(RequestMetrics)  # outermost: every answer is counted
    for module in (landing, layers, areas, maps, analysis, tiles, stac, regions, metrics,
                   exchange):
        app.include_router(module.router)
    app.include_router(maps.static_router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(title=app.title, version=app.version,
                                             summary=app.summary, routes=app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    features.install(app)
    by_region = APIRouter(prefix=REGION_PREFIX, dependencies=[Depends(region_path)])
    for module in REGION_ROUTERS:
        by_region.include_router(module.router)
    app.include_router(by_region)
    return app
