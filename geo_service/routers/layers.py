"""`/layers`: layer metadata, legends and links to tiles and downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from data_catalog.exchange.rules import load_config
from geo_service.auth import PrincipalDep, visible_layer, visible_layers
from geo_service.deps import BaseUrlDep, RegistryDep
from geo_service.routers.exchange import crossings_currency
from layers.models import Layer

router = APIRouter(tags=["layers"])


CURRENCY_FIELDS = ("country", "last_month", "submitted", "timeliness", "stale", "age_days")


def currency_of(layer: Layer, currency: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The currency of the exchange data a layer shows: its country's for a country's
    collection, every country's for a layer made from the crossings; None for others and
    while no country has submitted."""
    if layer.id.startswith("exchange_"):
        rows = [c for c in currency if f"exchange_{c['country'].lower()}" == layer.id]
    elif any(p.get("name") in load_config().feeds for p in layer.provenance):
        rows = currency
    else:
        return None
    return [{k: c.get(k) for k in CURRENCY_FIELDS} for c in rows] or None


def layer_json(layer: Layer, base: str,
               currency: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A layer in the API shape, with links (never a file path); `currency` (the exchange's
    status per country) marks the layers made from submitted data, stale ones included."""
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
    shown = currency_of(layer, currency or [])
    if shown is not None:
        body["currency"] = shown
        body["stale"] = any(c["stale"] for c in shown)
    return body


@router.get("/layers", summary="All layers")
def list_layers(registry: RegistryDep, base: BaseUrlDep,
                principal: PrincipalDep) -> dict[str, Any]:
    """Every layer of the current run and the user layers that the caller may see."""
    currency = crossings_currency(registry.data.root)
    layers = [layer_json(layer, base, currency)
              for layer in visible_layers(registry, principal).values()]
    return {"layers": layers, "numberReturned": len(layers),
            "links": [{"href": f"{base}/layers", "rel": "self", "type": "application/json"}]}


@router.get("/layers/{layer_id}", summary="One layer")
def get_layer(layer_id: str, registry: RegistryDep, base: BaseUrlDep,
              principal: PrincipalDep) -> dict[str, Any]:
    """One layer's metadata, legend and links; 404 problem+json when unknown or restricted."""
    layer = visible_layer(registry, principal, layer_id)
    return layer_json(layer, base, crossings_currency(registry.data.root))
