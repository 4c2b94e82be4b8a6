"""What a planning map embeds: the vertices of its vector layers (the page's size budget).

A map's vector layers travel inside the page as GeoJSON; their vertex count is what makes a
region-sized map heavy to send, parse and draw. `bench/map_load.py` reports it beside the load
time, and a test keeps the corridor's map within `VERTEX_BUDGET`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import folium
from branca.element import Element

VERTEX_BUDGET = 40_000
"""Most vertices the vector layers of a region's planning map may embed (the corridor's map,
every layer, embeds about half)."""


def _positions(coordinates: Any) -> int:
    """Number of positions in a GeoJSON `coordinates` array (any nesting)."""
    if not coordinates:
        return 0
    if isinstance(coordinates[0], (int, float)):
        return 1
    return sum(_positions(part) for part in coordinates)


def _geometries(data: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict):
        return
    kind = data.get("type")
    if kind == "FeatureCollection":
        for feature in data.get("features", []):
            yield from _geometries(feature)
    elif kind == "Feature":
        yield from _geometries(data.get("geometry"))
    elif kind == "GeometryCollection":
        for geometry in data.get("geometries", []):
            yield from _geometries(geometry)
    elif kind is not None:
        yield data


def embedded_vertices(fmap: folium.Map) -> dict[str, int]:
    """Vertices of every GeoJSON layer embedded in the map, by layer name (the name of the
    layer, or of the feature group holding it)."""
    counts: dict[str, int] = {}

    def walk(element: Element, name: str) -> None:
        own = getattr(element, "layer_name", None)
        if own and not str(own).startswith("macro_element_"):  # Folium's name of no name
            name = str(own)
        if isinstance(element, folium.GeoJson):
            total = sum(_positions(g.get("coordinates")) for g in _geometries(element.data))
            counts[name] = counts.get(name, 0) + total
        for child in element._children.values():
            walk(child, name)

    walk(fmap, "")
    return counts
