"""`POST /analysis`: zonal statistics of a drawn area over chosen layers.

Like Global Forest Watch's custom areas: a GeoJSON polygon in, per layer the coverage-weighted
mean, min, max, p50, p90, the share of area in each risk class and, for count layers, totals.
The body is read up to a size limit (413 past it) and a nesting depth (400) before it is
parsed; only checks that cost little run in the serving worker, and validation, repair and the
statistics run in a work process under the request's time and memory budget
(`geo_service.workpool`).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from data_catalog.problems import InvalidParameter, PayloadTooLarge
from geo_service import jobs
from geo_service.auth import Principal, PrincipalDep
from geo_service.deps import RegistryDep, SettingsDep, WorkPoolDep
from geo_service.features.errors import CollectionNotFound
from geo_service.features.model import FeatureStore, Interval
from geo_service.features.query import parse_datetime
from geo_service.features.zonal import AnalysisLimits, drawn_area
from geo_service.routers.features import FeatureStoreDep
from layers.models import Layer
from layers.registry import Registry, default_overlay

router = APIRouter(tags=["analysis"])

MAX_JSON_DEPTH = 16
"""Deepest nesting of arrays and objects in a request body (a GeoJSON MultiPolygon Feature
in the body nests 6)."""


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
        max_body_bytes=settings.analysis_max_body_bytes, max_layers=settings.analysis_max_layers,
        max_repair_vertices=settings.analysis_max_repair_vertices,
        max_cells=settings.analysis_max_cells)


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


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0)."""
    depth, level = 0, [value]
    while level:
        nested: list[Any] = []
        for item in level:
            if isinstance(item, list):
                nested.extend(item)
            elif isinstance(item, dict):
                nested.extend(item.values())
        if not nested and not any(isinstance(i, list | dict) for i in level):
            break
        depth += 1
        level = nested
    return depth


def parse_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A JSON body, refused (400 naming `body`) when it is not JSON or nests deeper than
    `max_depth` arrays and objects."""
    try:
        data = json.loads(body)
    except RecursionError:
        data = None
        depth = max_depth + 1
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the body is not JSON", parameter="body") from None
    else:
        depth = json_depth(data)
    if depth > max_depth:
        raise InvalidParameter(f"the body nests arrays and objects more than {max_depth} "
                               "deep", parameter="body")
    return data


def _parse_request(body: bytes) -> AnalysisRequest:
    data = parse_json(body)
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
               422: {"description": "Area over the maximum area or vertex count, or an "
                                    "invalid polygon with too many vertices to repair"},
               503: {"description": "The work ran out of time or memory, or every work "
                                    "process is busy"}})
async def post_analysis(request: Request, registry: RegistryDep, store: FeatureStoreDep,
                        limits: LimitsDep, principal: PrincipalDep, settings: SettingsDep,
                        pool: WorkPoolDep) -> dict[str, Any]:
    """Per layer: coverage-weighted mean, min, max, p50, p90, share of area in each risk
    class, and for count layers totals (people crossing, events) from the protected data.
    Raster statistics say the `resolution` they used: large areas are read from overviews.

    Parsing and the cheap checks (vertex count, coordinates, validity) come first; repairing
    an invalid polygon and the statistics run in a work process under the time limit and
    the memory limit (503 past either; the work is stopped)."""
    started = time.monotonic()
    body = await read_body(request, limits.max_body_bytes)
    spec = await run_in_threadpool(_parse_request, body)
    drawn = await run_in_threadpool(drawn_area, spec.geometry, limits)
    interval: Interval | None = None
    if spec.datetime is not None:
        interval = parse_datetime(spec.datetime)
    default = default_overlay(registry.layers())
    chosen = spec.layers if spec.layers is not None else [default.id] if default else []
    if not chosen:
        raise InvalidParameter("no default layer: name the layers", parameter="layers")
    layers, collections = _resolve(chosen, registry, store, limits, principal)
    classes = classes_of(registry)
    left = settings.raster_timeout_s - (time.monotonic() - started)
    result = await pool.arun(max(left, 0.0), jobs.analyse_drawn,
                             jobs.StoreSpec.of(settings, registry.region), drawn, limits,
                             layers, classes, collections, interval)
    manifest = registry.run_manifest() or {}
    return {
        "area_km2": result["area_km2"], "vertices": result["vertices"],
        "repaired": result["repaired"], "datetime": spec.datetime,
        "run_id": manifest.get("run_id"),
        "classes": [{k: c.get(k) for k in ("name", "label", "label_es", "min", "max")}
                    for c in classes],
        "layers": result["layers"],
    }
