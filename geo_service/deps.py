"""Dependencies shared by the routers: settings, the region's registry, areas and URLs, the
work pool.

A request's region is its `{region}` path parameter under `/regions/{region}/…`, else the
default region (`geo_service.regions`); every dependency below answers for that region.
"""

from __future__ import annotations

import threading
import weakref
from typing import Annotated

from fastapi import Depends, Query, Request

from data_catalog.i18n import LANGUAGES, Language, language, negotiate
from geo_service.areas_store import AreasStore
from geo_service.regions import region_prefix, region_services
from geo_service.settings import Settings
from geo_service.workpool import WorkPool
from layers.registry import Registry

WORK_PRELOAD = ("geo_service.jobs",)
"""Modules every work process imports before its first job."""
_pool_lock = threading.Lock()


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_registry(request: Request) -> Registry:
    """The layer registry of the request's region."""
    return region_services(request).registry


def get_areas(request: Request) -> AreasStore:
    """The scored-areas store of the request's region."""
    return region_services(request).areas


def service_url(request: Request) -> str:
    """The URL clients reach the service at, without a trailing slash."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def base_url(request: Request) -> str:
    """The URL of the request's region: the service's, plus `/regions/<region>` for a request
    made under a region's prefix, so that every link of a region stays in it."""
    return service_url(request) + region_prefix(request)


def get_work_pool(request: Request) -> WorkPool:
    """The app's work pool (made on first use; its processes start when a job needs one)."""
    pool: WorkPool | None = getattr(request.app.state, "work_pool", None)
    if pool is None:
        with _pool_lock:
            pool = getattr(request.app.state, "work_pool", None)
            if pool is None:
                settings: Settings = request.app.state.settings
                pool = WorkPool(processes=settings.work_processes,
                                memory_mb=settings.work_memory_mb, queue=settings.work_queue,
                                preload=WORK_PRELOAD)
                request.app.state.work_pool = pool
                weakref.finalize(request.app, pool.close)  # also for apps never shut down
    return pool


def get_language(
    request: Request,
    lang: Annotated[str | None, Query(
        max_length=35, description=f"Language ({', '.join(LANGUAGES)}) or locale (`es-CO`, "
        "`pt-BR`) of every word and number; a bare language takes the locale the deployment "
        "configures. Without it, the request's `Accept-Language` decides (else English). "
        "Any other language is a 400 naming `lang`.")] = None,
) -> Language:
    """The reader's language and locale: `lang`, else `Accept-Language`, else English."""
    settings: Settings = request.app.state.settings
    if lang is not None:
        return language(lang, settings.locales)
    return negotiate(request.headers.get("accept-language"), settings.locales)


SettingsDep = Annotated[Settings, Depends(get_settings)]
LanguageDep = Annotated[Language, Depends(get_language)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
AreasDep = Annotated[AreasStore, Depends(get_areas)]
BaseUrlDep = Annotated[str, Depends(base_url)]
ServiceUrlDep = Annotated[str, Depends(service_url)]
WorkPoolDep = Annotated[WorkPool, Depends(get_work_pool)]
