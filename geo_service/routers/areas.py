"""`/areas`: scored areas (protected areas, planning units) with the reasons for each score."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import shapely
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from data_catalog.problems import InvalidParameter, NotFound
from geo_service import jobs
from geo_service.areas_store import area_layers
from geo_service.auth import PrincipalDep
from geo_service.briefs.content import AreaNotFound, gather
from geo_service.briefs.render import brief_html, brief_pdf
from geo_service.deps import (
    AreasDep,
    BaseUrlDep,
    LanguageDep,
    RegistryDep,
    SettingsDep,
    WorkPoolDep,
)
from geo_service.errors import NoData
from geo_service.features.errors import CollectionNotFound, FeatureNotFound
from geo_service.features.model import FeatureStore
from geo_service.maps.search import fold
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
    q: Annotated[str | None, Query(max_length=200, description=(
        "Name match without regard to case or accents (`darien` finds `Parque Nacional "
        "Darién`), over every name of the area (its name, its official name)"))] = None,
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
        wanted = fold(q)
        names = [frame[c].fillna("").astype(str) for c in frame.columns
                 if c == col.NAME or c == col.OFFICIAL_NAME or str(c).startswith(f"{col.NAME}_")]
        hits = [any(wanted in fold(name) for name in row) for row in zip(*names, strict=True)]
        frame = frame[hits]
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


@router.get("/areas/{area_id}/brief", summary="One-page brief of an area (HTML or PDF)",
            response_class=Response,
            responses={200: {"content": {"text/html": {}, "application/pdf": {}},
                             "description": "The brief"}})
async def area_brief(
    area_id: str, areas: AreasDep, registry: RegistryDep, principal: PrincipalDep,
    lang: LanguageDep,
    f: Annotated[Literal["html", "pdf"], Query(
        description="`html` (one page, no script) or `pdf` (one A4 page)")] = "html",
) -> Response:
    """A one-page brief a ministry can take to a meeting: the area's map extract (drawn by the
    service from the run's own layers, with legend, scale bar and north arrow), its score,
    class and rank interval, dimensions, drivers, hazard levels where the run has them, people
    crossing it by month 2021–2024, deaths and disappearances by year, what is synthetic,
    sources, run date and method version; in the reader's language and locale."""
    try:
        brief = await run_in_threadpool(gather, registry, areas, area_id, lang, principal)
    except AreaNotFound:
        raise NotFound(f"no area {area_id[:80]!r}", parameter="area_id") from None
    if f == "pdf":
        body = await run_in_threadpool(brief_pdf, brief)
        safe = "".join(ch if ch.isalnum() else "-" for ch in area_id)[:80]
        return Response(body, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="cmrisk-brief-{safe}.pdf"',
            "Content-Language": lang.tag})
    return HTMLResponse(brief_html(brief), headers={"Content-Language": lang.tag})
