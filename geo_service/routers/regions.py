"""`/regions`: the regions the service serves, with their extents and links."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from data_catalog.paths import REGIONS_FOLDER
from data_catalog.runs import read_manifest
from geo_service.deps import service_url
from geo_service.regions import Regions

router = APIRouter(tags=["regions"])


def region_json(regions: Regions, region: str, base: str) -> dict[str, Any]:
    """A region as `/regions` lists it: id, title, extent, current run and links."""
    store = regions.data.region(region)
    current = store.current_run()
    manifest = read_manifest(current) if current is not None else {}
    config = manifest.get("config", {})
    href = f"{base}{'' if region == regions.default else f'/{REGIONS_FOLDER}/{region}'}"
    prefixed = f"{base}/{REGIONS_FOLDER}/{region}"
    return {
        "id": region, "default": region == regions.default,
        "title": (config.get("title") or {}).get("en", region),
        "title_es": (config.get("title") or {}).get("es"),
        "bbox": (manifest.get("grid") or {}).get("bounds_lonlat"),
        "crs": (manifest.get("grid") or {}).get("crs"),
        "run_id": manifest.get("run_id"), "synthetic": manifest.get("synthetic"),
        "links": [
            {"href": f"{prefixed}/", "rel": "self", "type": "application/json",
             "title": "Landing page of the region"},
            {"href": f"{href}/layers", "rel": "http://cmrisk.org/rel/layers",
             "type": "application/json", "title": "Map layers"},
            {"href": f"{href}/collections", "rel": "data", "type": "application/json",
             "title": "Feature collections"},
            {"href": f"{href}/areas", "rel": "http://cmrisk.org/rel/areas",
             "type": "application/json", "title": "Scored areas"},
            {"href": f"{href}/maps/risk", "rel": "http://cmrisk.org/rel/map",
             "type": "text/html", "title": "Planning map"},
        ],
    }


@router.get("/regions", summary="Regions served")
def list_regions(request: Request) -> dict[str, Any]:
    """Every region with a current run (the default region first), with its extent and links.

    The default region's routes are the unprefixed ones (`/layers`, `/tiles/…`); every region,
    the default included, is also served under `/regions/{region}/…`.
    """
    regions: Regions = request.app.state.regions
    base = service_url(request)
    items = [region_json(regions, region, base) for region in regions.served()]
    return {"regions": items, "default": regions.default, "numberReturned": len(items),
            "links": [{"href": f"{base}/regions", "rel": "self", "type": "application/json"}]}
