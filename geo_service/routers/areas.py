"""`/areas`: scored areas (protected areas, planning units) with the reasons for each score."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from geo_service.areas_store import AREA_LAYERS
from geo_service.auth import PrincipalDep
from geo_service.deps import AreasDep, BaseUrlDep, RegistryDep, SettingsDep
from geo_service.errors import InvalidParameter, NotFound, ServiceUnavailable
from geo_service.features.errors import CollectionNotFound, FeatureNotFound
from geo_service.features.model import FeatureStore
from geo_service.features.zonal import analyse, stored_area
from geo_service.routers.features import FeatureStoreDep
from geo_service.timeouts import raster_work
from layers.registry import Registry

router = APIRouter(tags=["areas"])


def _classes(registry: RegistryDep) -> list[dict[str, Any]]:
    manifest = registry.run_manifest() or {}
    return list(manifest.get("config", {}).get("classes", []))


@router.get("/areas", summary="Scored areas")
def list_areas(
    areas: AreasDep,
    registry: RegistryDep,
    base: BaseUrlDep,
    principal: PrincipalDep,
    kind: Annotated[str | None, Query(description="protected_area or planning_unit")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Case-insensitive name match")]
    = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="Areas to return")] = 100,
) -> dict[str, Any]:
    """Areas sorted by risk rank within their kind (1 = highest risk)."""
    if areas.frame().empty:
        raise ServiceUnavailable("no pipeline run is current yet; run `cmrisk run`")
    frame = areas.visible_frame(principal)
    if frame.empty:
        raise ServiceUnavailable("no pipeline run is current yet; run `cmrisk run`")
    if kind is not None:
        kinds = set(frame["kind"])
        if kind not in kinds:
            raise InvalidParameter(f"kind must be one of {sorted(kinds)}", parameter="kind")
        frame = frame[frame["kind"] == kind]
    if q:
        frame = frame[frame["name"].str.contains(q, case=False, regex=False)]
    frame = frame.sort_values(["kind", "rank", "id"], na_position="last")
    classes = _classes(registry)
    items = [areas.as_json(row, classes) for _, row in frame.head(limit).iterrows()]
    for item in items:
        item["links"] = [{"href": f"{base}/areas/{item['id']}", "rel": "self"}]
    return {"areas": items, "numberMatched": len(frame), "numberReturned": len(items)}


STATS_LAYERS = ("risk", "hazard", "vulnerability", "coping", "environment",
                "environmental_pressure")
"""Layers whose statistics `/areas/{id}` adds (as `POST /analysis` gives them)."""


def area_stats(area_id: str, registry: Registry, store: FeatureStore) -> dict[str, Any] | None:
    """The `/analysis` statistics of a stored area over `STATS_LAYERS`, or None without shape."""
    for collection in AREA_LAYERS:
        try:
            batch = store.feature(collection, area_id)
        except (CollectionNotFound, FeatureNotFound):
            continue
        layers = registry.layers()
        chosen = [layers[name] for name in STATS_LAYERS if name in layers]
        return analyse(stored_area(batch.geometry[0]), chosen, store, _classes(registry))
    return None


@router.get("/areas/{area_id}", summary="One scored area")
async def get_area(area_id: str, areas: AreasDep, registry: RegistryDep,
                   store: FeatureStoreDep, principal: PrincipalDep,
                   settings: SettingsDep) -> dict[str, Any]:
    """An area's score card: score, class, dimensions, ranks and interval, top indicator, and
    `stats`: the same per-layer statistics as `POST /analysis` for the score layers."""
    frame = await run_in_threadpool(areas.visible_frame, principal)
    if frame.empty or area_id not in frame.index:
        raise NotFound(f"no area {area_id[:80]!r}", parameter="area_id")
    body = areas.as_json(frame.loc[area_id], _classes(registry))
    body["stats"] = await raster_work(settings, area_stats, area_id, registry, store)
    return body
