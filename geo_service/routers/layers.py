"""`/layers`: layer metadata, legends and links to tiles and downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from geo_service.auth import PrincipalDep, visible_layer, visible_layers
from geo_service.deps import BaseUrlDep, RegistryDep
from layers.models import Layer

router = APIRouter(tags=["layers"])


def layer_json(layer: Layer, base: str) -> dict[str, Any]:
    """A layer in the API shape, with links (never a file path)."""
    body = layer.model_dump(mode="json", exclude={"style", "version", "provenance"})
    body["legend"] = layer.legend.model_dump(mode="json")
    links: list[dict[str, Any]] = [
        {"href": f"{base}/layers/{layer.id}", "rel": "self", "type": "application/json"}]
    if layer.kind == "raster":
        links += [
            {"href": f"{base}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.png", "rel": "item",
             "type": "image/png", "title": "XYZ tiles", "templated": True},
            {"href": f"{base}/tiles/{layer.id}/tilejson.json", "rel": "tilejson",
             "type": "application/json", "title": "TileJSON"},
        ]
    else:
        links += [
            {"href": f"{base}/collections/{layer.id}", "rel": "collection",
             "type": "application/json", "title": "OGC API - Features collection"},
            {"href": f"{base}/collections/{layer.id}/items", "rel": "items",
             "type": "application/geo+json"},
        ]
        for fmt, media in (("geojson", "application/geo+json"), ("csv", "text/csv"),
                           ("gpkg", "application/geopackage+sqlite3")):
            links.append({"href": f"{base}/collections/{layer.id}/download?f={fmt}",
                          "rel": "enclosure", "type": media, "title": f"Download ({fmt})"})
    body["inputs"] = [{"name": p.get("name"), "synthetic": p.get("synthetic")}
                      for p in layer.provenance]
    body["links"] = links
    return body


@router.get("/layers", summary="All layers")
def list_layers(registry: RegistryDep, base: BaseUrlDep,
                principal: PrincipalDep) -> dict[str, Any]:
    """Every layer of the current run and the user layers that the caller may see."""
    layers = [layer_json(layer, base) for layer in visible_layers(registry, principal).values()]
    return {"layers": layers, "numberReturned": len(layers),
            "links": [{"href": f"{base}/layers", "rel": "self", "type": "application/json"}]}


@router.get("/layers/{layer_id}", summary="One layer")
def get_layer(layer_id: str, registry: RegistryDep, base: BaseUrlDep,
              principal: PrincipalDep) -> dict[str, Any]:
    """One layer's metadata, legend and links; 404 problem+json when unknown or restricted."""
    return layer_json(visible_layer(registry, principal, layer_id), base)
