"""`/maps/risk`: the Folium planning map, and `/static/...`: the JS/CSS it loads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from data_catalog.problems import InvalidParameter, NotFound
from geo_service.auth import PrincipalDep, visible_layers
from geo_service.deps import BaseUrlDep, LanguageDep, RegistryDep, ServiceUrlDep
from geo_service.errors import NoData
from geo_service.features.query import parse_bbox
from geo_service.guards import page_csp
from geo_service.maps import NothingToMap, page_html, risk_map
from geo_service.maps.extract import MAX_PIXELS, MIN_PIXELS, View, png_bytes, render_extract
from geo_service.metrics import MAP_PAGE_CACHE
from geo_service.static_assets import asset_file, media_type, patched_asset

router = APIRouter(tags=["maps"])
static_router = APIRouter(tags=["maps"])
"""The planning map's JS/CSS, the same for every region (served once, unprefixed)."""

STATIC_MAX_AGE_S = 86400
ONLINE_BASEMAP_IMAGES = ("https://tile.openstreetmap.org",)
"""Image sources the page may load with `basemaps=online` (OpenStreetMap's tiles)."""
PAGES_KEPT = 16
"""Rendered map pages kept per app (by run, visible layers, language, base URL)."""


class PageCache:
    """A small LRU of rendered pages, one per app."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pages: OrderedDict[tuple[object, ...], tuple[str, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> tuple[str, str] | None:
        """The page and its Content-Security-Policy for `key`, if kept."""
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    def put(self, key: tuple[object, ...], page: tuple[str, str]) -> None:
        """Keep a page, dropping the least recently used beyond `size`."""
        with self.lock:
            self.pages[key] = page
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


def page_cache(request: Request) -> PageCache:
    """The app's page cache (made on first use)."""
    cache: PageCache | None = getattr(request.app.state, "map_pages", None)
    if cache is None:
        cache = request.app.state.map_pages = PageCache(PAGES_KEPT)
    return cache


@router.get("/maps/risk", response_class=HTMLResponse, summary="Planning map")
def risk_map_page(
    request: Request,
    registry: RegistryDep,
    base: BaseUrlDep,
    service: ServiceUrlDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    basemaps: Annotated[Literal["offline", "online"], Query(
        description="`online` also offers OpenStreetMap (off by default) in the layer "
                    "control; `offline` (the default) names no other host")] = "offline",
) -> HTMLResponse:
    """The planning map of the region's current run as an HTML page.

    Building it takes about a second, so each page is kept per worker for its run, layers,
    language and address (`PAGES_KEPT` of them); a new run or ingest makes a new page. The
    page's Content-Security-Policy allows its own inline scripts (by hash) and this origin.
    """
    if not registry.layers():
        raise NoData("no pipeline run is current yet; run `cmrisk run`")
    versions = tuple(sorted((k, v.version) for k, v in visible_layers(registry, principal).items()))
    key = (base, lang.tag, basemaps, versions)
    cache = page_cache(request)
    kept = cache.get(key)
    MAP_PAGE_CACHE.labels("miss" if kept is None else "hit").inc()
    if kept is None:
        try:
            fmap = risk_map(registry, base, lang, online_basemaps=basemaps == "online",
                            principal=principal, static_url=service)
        except NothingToMap as exc:
            raise NoData(f"{exc}; run `cmrisk run`") from None
        page = page_html(fmap, lang)
        images = ONLINE_BASEMAP_IMAGES if basemaps == "online" else ()
        kept = (page, page_csp(page, images=images))
        cache.put(key, kept)
    page, policy = kept
    return HTMLResponse(page, headers={"Content-Security-Policy": policy,
                                       "Content-Language": lang.tag,
                                       "Vary": "Accept-Language"})


@router.get("/maps/risk.png", response_class=Response, summary="The planning map as a PNG",
            responses={200: {"content": {"image/png": {}}, "description": "The image"}})
async def risk_map_png(
    registry: RegistryDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    bbox: Annotated[str, Query(description="west,south,east,north (degrees) of the view")],
    width: Annotated[int, Query(ge=MIN_PIXELS, le=MAX_PIXELS, description="Pixels")] = 1024,
    height: Annotated[int, Query(ge=MIN_PIXELS, le=MAX_PIXELS, description="Pixels")] = 768,
) -> Response:
    """The view of the planning map (its bbox and size) as a PNG drawn by the service from the
    run's own layers: the shown overlay, basemap, areas, routes and stations, with legend,
    scale bar, north arrow and attribution (the map's "save as PNG" button)."""
    if not registry.layers():
        raise NoData("no pipeline run is current yet; run `cmrisk run`")
    box = parse_bbox(bbox)
    if box.west >= box.east:
        raise InvalidParameter("bbox must not cross the antimeridian", parameter="bbox")
    view = View(box.west, box.south, box.east, box.north, width, height)
    layers = visible_layers(registry, principal)
    image = await run_in_threadpool(render_extract, layers, registry.bbox(), view, lang)
    return Response(png_bytes(image), media_type="image/png", headers={
        "Content-Disposition": f'attachment; filename="cmrisk-{registry.region}.png"'})


@static_router.get("/static/{package}/{path:path}", response_class=Response,
            summary="A JS/CSS/image asset of the planning map")
def static_asset(
    package: Annotated[str, Path(description="Static package, e.g. `leaflet`.")],
    path: Annotated[str, Path(description="File inside the package.")],
) -> Response:
    """A file of an installed XStatic package (Leaflet, jQuery, …) the map pages load."""
    found = asset_file(package, path)
    if found is None:
        raise NotFound(f"no static asset {package}/{path[:200]}")
    headers = {"Cache-Control": f"public, max-age={STATIC_MAX_AGE_S}"}
    patched = patched_asset(package, path)
    if patched is not None:
        return Response(patched, media_type=media_type(found), headers=headers)
    return FileResponse(found, media_type=media_type(found), headers=headers)
