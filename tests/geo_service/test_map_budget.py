"""A region-sized planning map stays light: the vector layers it embeds stay within a vertex
budget (the corridor's map, every layer; its load time is measured in bench/map_load.py)."""

from __future__ import annotations

from pathlib import Path

from data_catalog.i18n import language
from data_catalog.paths import DataDir
from geo_service.maps import risk_map
from geo_service.maps.budget import VERTEX_BUDGET, embedded_vertices
from layers.registry import Registry, by_role


def test_the_corridor_map_embeds_at_most_the_vertex_budget(two_regions: Path) -> None:
    registry = Registry(DataDir(two_regions), "corridor")
    counts = embedded_vertices(risk_map(registry, "/regions/corridor"))
    # Every vector layer of the map is counted (the budget checks something) ...
    english = language("en")
    layers = registry.layers()
    for role in ("basemap", "area_classes", "scored_areas", "scored_outlines", "lines"):
        for layer in by_role(layers, role):
            assert counts.get(layer.name_in(english), 0) > 0, (role, layer.id, counts)
    assert counts["Planning units (H3 r5, scored)"] > 10_000  # ~1,900 hexagons of 7 points
    # ... and together they stay within the budget.
    assert sum(counts.values()) <= VERTEX_BUDGET, counts


def test_vertices_are_counted_by_hand() -> None:
    import folium

    fmap = folium.Map(tiles=None)
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    line = {"type": "Feature", "properties": {},
            "geometry": {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]],
                                                                    [[2, 2], [3, 3], [4, 4]]]}}
    folium.GeoJson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": square}, line]},
        name="shapes").add_to(fmap)
    group = folium.FeatureGroup(name="areas")
    folium.GeoJson(square).add_to(group)
    folium.GeoJson(square).add_to(group)
    group.add_to(fmap)
    assert embedded_vertices(fmap) == {"shapes": 5 + 2 + 3, "areas": 10}
