"""`/maps/risk`: the Folium planning map, and `/static/...`: the JS/CSS it loads."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, HTMLResponse

from geo_service.auth import PrincipalDep
from geo_service.deps import BaseUrlDep, RegistryDep
from geo_service.errors import NotFound, ServiceUnavailable
from geo_service.maps import risk_map
from geo_service.static_assets import asset_file, media_type

router = APIRouter(tags=["maps"])

STATIC_MAX_AGE_S = 86400


@router.get("/maps/risk", response_class=HTMLResponse, summary="Planning map")
def risk_map_page(
    registry: RegistryDep,
    base: BaseUrlDep,
    principal: PrincipalDep,
    lang: Annotated[Literal["en", "es"], Query(description="Language of labels")] = "en",
    basemaps: Annotated[Literal["offline", "online"], Query(
        description="`online` also offers OpenStreetMap (off by default) in the layer "
                    "control; `offline` (the default) names no other host")] = "offline",
) -> HTMLResponse:
    """The planning map of the current run as an HTML page."""
    if not registry.layers():
        raise ServiceUnavailable("no pipeline run is current yet; run `cmrisk run`")
    fmap = risk_map(registry, base, lang, online_basemaps=basemaps == "online",
                    principal=principal)
    return HTMLResponse(fmap.get_root().render())


@router.get("/static/{package}/{path:path}", response_class=FileResponse,
            summary="A JS/CSS/image asset of the planning map")
def static_asset(
    package: Annotated[str, Path(description="Static package, e.g. `leaflet`.")],
    path: Annotated[str, Path(description="File inside the package.")],
) -> FileResponse:
    """A file of an installed XStatic package (Leaflet, jQuery, …) the map pages load."""
    found = asset_file(package, path)
    if found is None:
        raise NotFound(f"no static asset {package}/{path[:200]}")
    return FileResponse(found, media_type=media_type(found),
                        headers={"Cache-Control": f"public, max-age={STATIC_MAX_AGE_S}"})
