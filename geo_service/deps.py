"""Dependencies shared by the routers: settings, the registry, the areas table, URLs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from geo_service.areas_store import AreasStore
from geo_service.settings import Settings
from layers.registry import Registry


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_registry(request: Request) -> Registry:
    """The app's layer registry."""
    registry: Registry = request.app.state.registry
    return registry


def get_areas(request: Request) -> AreasStore:
    """The app's scored-areas store."""
    store: AreasStore = request.app.state.areas
    return store


def base_url(request: Request) -> str:
    """The URL clients reach the service at, without a trailing slash."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
AreasDep = Annotated[AreasStore, Depends(get_areas)]
BaseUrlDep = Annotated[str, Depends(base_url)]
