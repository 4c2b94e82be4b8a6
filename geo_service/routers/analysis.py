"""`POST /analysis`: zonal statistics of a drawn area over chosen layers.

Like Global Forest Watch's custom areas: a GeoJSON polygon in, per layer the coverage-weighted
mean, min, max, p50, p90, the share of area in each risk class and, for count layers, totals.
The body is read up to a size limit (413 past it) before it is parsed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError

from geo_service.auth import Principal, PrincipalDep
from geo_service.deps import RegistryDep, SettingsDep
from geo_service.errors import InvalidParameter, PayloadTooLarge
from geo_service.features.errors import CollectionNotFound
from geo_service.features.model import FeatureStore, Interval
from geo_service.features.query import parse_datetime
from geo_service.features.zonal import AnalysisLimits, analyse, parse_area
from geo_service.routers.features import FeatureStoreDep
from geo_service.timeouts import raster_work
from layers.models import Layer
from layers.registry import Registry, default_overlay

router = APIRouter(tags=["analysis"])


class AnalysisRequest(BaseModel):
    """The body of `POST /analysis`."""

    geometry: dict[str, Any] = Field(
        description="A GeoJSON Polygon or MultiPolygon (CRS84), or a Feature holding one.")
    layers: list[str] | None = Field(
        default=None, min_length=1,
        description="Layer ids (rasters or vector layers); by default the layer the planning "
                    "map shows first (the composite risk).")
    datetime: str | None = Field(
        default=None, description="Restricts time-enabled vector layers: an instant, a date or "
                                  "an interval `start/end` (`..` for an open end).")


def analysis_limits(settings: SettingsDep) -> AnalysisLimits:
    """The limits of `/analysis` from the `CMRISK_ANALYSIS_*` settings."""
    return AnalysisLimits(
        max_area_km2=settings.analysis_max_area_km2, max_vertices=settings.analysis_max_vertices,
        max_body_bytes=settings.analysis_max_body_bytes, max_layers=settings.analysis_max_layers)


LimitsDep = Annotated[AnalysisLimits, Depends(analysis_limits)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {int(declared)} bytes; the limit is {limit}",
                              parameter="body")
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes",
                                  parameter="body")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_request(body: bytes) -> AnalysisRequest:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the body is not JSON", parameter="body") from None
    try:
        return AnalysisRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "body"
        raise InvalidParameter(f"{name}: {first.get('msg', 'invalid')}",
                               parameter=name) from None


def _resolve(ids: list[str], registry: Registry, store: FeatureStore,
             limits: AnalysisLimits, principal: Principal) -> tuple[list[Layer], dict[str, str]]:
    if len(ids) > limits.max_layers:
        raise InvalidParameter(f"at most {limits.max_layers} layers per request",
                               parameter="layers")
    known = registry.layers()
    layers: list[Layer] = []
    collections: dict[str, str] = {}
    for layer_id in dict.fromkeys(ids):
        layer = known.get(layer_id)
        if layer is not None and principal.can_read(layer):
            layers.append(layer)
            continue
        try:
            collections[layer_id] = store.collection(layer_id).value_type
        except CollectionNotFound:
            raise InvalidParameter(f"no layer {layer_id[:80]!r}", parameter="layers") from None
    return layers, collections


def classes_of(registry: Registry) -> list[dict[str, Any]]:
    """The current run's risk classes (name, label, label_es, min, max, color)."""
    manifest = registry.run_manifest() or {}
    return list(manifest.get("config", {}).get("classes", []))


@router.post(
    "/analysis", summary="Zonal statistics of an area",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": AnalysisRequest.model_json_schema()}}}},
    responses={400: {"description": "Invalid GeoJSON, layer or datetime"},
               413: {"description": "Body over the size limit"},
               422: {"description": "Area over the maximum area or vertex count"}})
async def post_analysis(request: Request, registry: RegistryDep, store: FeatureStoreDep,
                        limits: LimitsDep, principal: PrincipalDep) -> dict[str, Any]:
    """Per layer: coverage-weighted mean, min, max, p50, p90, share of area in each risk
    class, and for count layers totals (people crossing, events) from the protected data."""
    body = await read_body(request, limits.max_body_bytes)
    spec = _parse_request(body)
    area = parse_area(spec.geometry, limits)
    interval: Interval | None = None
    if spec.datetime is not None:
        interval = parse_datetime(spec.datetime)
    default = default_overlay(registry.layers())
    chosen = spec.layers if spec.layers is not None else [default.id] if default else []
    if not chosen:
        raise InvalidParameter("no default layer: name the layers", parameter="layers")
    layers, collections = _resolve(chosen, registry, store, limits, principal)
    classes = classes_of(registry)
    stats = await raster_work(request.app.state.settings, analyse, area, layers, store,
                              classes, collections=collections, interval=interval)
    manifest = registry.run_manifest() or {}
    return {
        "area_km2": round(area.area_km2, 4), "vertices": area.vertices,
        "repaired": area.repaired, "datetime": spec.datetime, "run_id": manifest.get("run_id"),
        "classes": [{k: c.get(k) for k in ("name", "label", "label_es", "min", "max")}
                    for c in classes],
        "layers": stats,
    }
