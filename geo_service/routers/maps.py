"""`/maps/risk`: the Folium planning map."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from geo_service.deps import BaseUrlDep, RegistryDep
from geo_service.errors import ServiceUnavailable
from geo_service.maps import risk_map

router = APIRouter(tags=["maps"])


@router.get("/maps/risk", response_class=HTMLResponse, summary="Planning map")
def risk_map_page(
    registry: RegistryDep,
    base: BaseUrlDep,
    lang: Annotated[Literal["en", "es"], Query(description="Language of labels")] = "en",
) -> HTMLResponse:
    """The planning map of the current run as an HTML page."""
    if not registry.layers():
        raise ServiceUnavailable("no pipeline run is current yet; run `cmrisk run`")
    return HTMLResponse(risk_map(registry, base, lang).get_root().render())
