"""`/areas`: scored areas (protected areas, planning units) with the reasons for each score."""

from __future__ import annotations

from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from data_catalog.problems import InvalidParameter, NotFound
from geo_service import jobs
from geo_service.areas_store import area_layers
from geo_service.auth import PrincipalDep
from geo_service.deps import AreasDep, BaseUrlDep, RegistryDep, SettingsDep, WorkPoolDep
from geo_service.errors import NoData
from geo_service.features.errors import CollectionNotFound, FeatureNotFound
from geo_service.features.model import FeatureStore
from geo_service.routers.features import FeatureStoreDep
from layers.registry import Registry, by_role
from pipelines import area_record as col

router = APIRouter(tags=["areas"])


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
        raise NoData("no pipeline run is current yet; run `cmrisk run`")
    frame = areas.visible_frame(principal)
    if frame.empty:
        raise NoData("no pipeline run is current yet; run `cmrisk run`")
    if kind is not None:
        kinds = set(frame[col.KIND])
        if kind not in kinds:
            raise InvalidParameter(f"kind must be one of {sorted(kinds)}", parameter="kind")
        frame = frame[frame[col.KIND] == kind]
    if q:
        frame = frame[frame[col.NAME].str.contains(q, case=False, regex=False)]
    frame = frame.sort_values([col.KIND, col.RANK, col.ID], na_position="last")
    classes = registry.classes()
    items = [areas.as_json(row, classes) for _, row in frame.head(limit).iterrows()]
    for item in items:
        item["links"] = [{"href": f"{base}/areas/{item['id']}", "rel": "self"}]
    return {"areas": items, "numberMatched": len(frame), "numberReturned": len(items)}


def area_geometry(area_id: str, registry: Registry,
                  store: FeatureStore) -> shapely.Geometry | None:
    """The shape of a stored area (from the area layers the caller may read), or None."""
    for layer in area_layers(registry):
        try:
            return store.feature(layer.id, area_id).geometry[0]
        except (CollectionNotFound, FeatureNotFound):
            continue
    return None


@router.get("/areas/{area_id}", summary="One scored area",
            responses={503: {"description": "The statistics ran out of time or memory"}})
async def get_area(area_id: str, areas: AreasDep, registry: RegistryDep,
                   store: FeatureStoreDep, principal: PrincipalDep,
                   settings: SettingsDep, pool: WorkPoolDep) -> dict[str, Any]:
    """An area's score card: score, class, dimensions, ranks and interval, top indicator, and
    `stats`: the same per-layer statistics as `POST /analysis` for the score layers."""
    frame = await run_in_threadpool(areas.visible_frame, principal)
    if frame.empty or area_id not in frame.index:
        raise NotFound(f"no area {area_id[:80]!r}", parameter="area_id")
    body = areas.as_json(frame.loc[area_id], registry.classes())
    geometry = await run_in_threadpool(area_geometry, area_id, registry, store)
    body["stats"] = None
    if geometry is not None:
        # The statistics of the map's overlays (the layers whose role is `overlay`).
        chosen = by_role(registry.layers(), "overlay")
        body["stats"] = await pool.arun(settings.raster_timeout_s, jobs.analyse_stored,
                                        jobs.StoreSpec.of(settings, registry.region),
                                        geometry, chosen, registry.classes(),
                                        settings.analysis_max_cells)
    return body
