"""Admin units (ADM1, ADM2) on the planning map: outlines of the style's colour and width, off
until turned on, with the score cards of protected areas; outlines simplified to a pixel at
`OUTLINE_ZOOM`, so any boundary file stays within the map's vertex budget."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pytest
import shapely
from branca.element import Element

from data_catalog.i18n import language
from data_catalog.paths import DataDir
from geo_service.areas_store import AreasStore
from geo_service.maps import risk_map
from geo_service.maps.budget import VERTEX_BUDGET, embedded_vertices
from geo_service.maps.builder import page_html
from geo_service.maps.outlines import (
    OUTLINE_ZOOM,
    map_outlines,
    metres_per_pixel,
    outline_tolerance_m,
)
from layers.registry import Registry, by_role

BASE = "http://svc/regions/darien"


@pytest.fixture(scope="module")
def registry(demo_run: Path) -> Registry:
    return Registry(DataDir(demo_run))


@pytest.fixture(scope="module")
def map_es(registry: Registry) -> folium.Map:
    return risk_map(registry, BASE, language("es"))


@pytest.fixture(scope="module")
def page_es(map_es: folium.Map) -> str:
    return page_html(map_es, language("es"))


def _groups(element: Element) -> dict[str, folium.FeatureGroup]:
    """Every feature group of the map by its name."""
    found: dict[str, folium.FeatureGroup] = {}
    for child in element._children.values():
        if isinstance(child, folium.FeatureGroup):
            found[str(child.layer_name)] = child
        found |= _groups(child)
    return found


def _shapes(group: folium.FeatureGroup) -> list[folium.GeoJson]:
    return [c for c in group._children.values() if isinstance(c, folium.GeoJson)]


def test_admin_units_are_outlines_off_by_default(registry: Registry, map_es: folium.Map,
                                                 page_es: str) -> None:
    spanish = language("es")
    admin = by_role(registry.layers(), "scored_outlines")
    assert [layer.id for layer in admin] == ["admin1", "admin2"]
    groups = _groups(map_es)
    weights: dict[str, set[float]] = {}
    for layer in admin:
        group = groups[layer.name_in(spanish)]
        assert group.show is False  # in the layer control, not on the map
        assert f"{group.get_name()}.addTo(" not in page_es
        assert f'"{layer.name_in(spanish)}" : {group.get_name()}' in page_es  # the control
        shapes = _shapes(group)
        assert len(shapes) == len(gpd.read_parquet(layer.asset))
        for shape in shapes:
            style: dict[str, Any] = shape.style_function({})
            assert style["color"] == layer.style.color
            assert style["fillOpacity"] == 0  # outline only: the risk below stays readable
            assert shape.options["pane"] == "outlines"
            weights.setdefault(layer.id, set()).add(style["weight"])
    assert weights == {"admin1": {3.0}, "admin2": {1.5}}  # darien.yaml: ADM1 thicker
    # Protected areas stay on when the map opens.
    assert _groups(map_es)[registry.get("protected_areas").name_in(spanish)].show is True
    # Their legends are bound to them (shown only while they are on).
    blocks = re.findall(r'class="cmrisk-legend-layer" data-layer="([^"]+)"', page_es)
    assert blocks[-3:] == ["admin1", "admin2", "outside"]
    bound = re.search(r"cmrisk\.legends\(\w+, (\[\[.*?\]\])\);", page_es)
    assert bound is not None
    assert f'["admin1", {groups[admin[0].name_in(spanish)].get_name()}]' in bound.group(1)


def test_admin_cards_tooltips_and_legend_in_the_readers_language(
        registry: Registry, page_es: str, demo_run: Path) -> None:
    store = AreasStore(registry)
    records = store.frame()
    classes = {str(c["name"]): c for c in registry.classes()}
    pinogana = records.loc["adm2:PAN-ADM2-Pinogana"]
    label = classes[str(pinogana["risk_class"])]["label_es"]
    # The card: name, class of the ranking value, rank, hazard levels, what is synthetic,
    # the link to the brief in the reader's language.
    start = page_es.index("<strong>Pinogana</strong>")
    card = page_es[start:page_es.index("</a>", start)]
    assert f"Riesgo: <b>{pinogana['ranking_value']:.2f}</b> / 10" in card
    assert f"({label})" in card
    assert f"Posición · Intervalo de posición 5–95%: {pinogana['rank']:.0f} (" in card
    assert "Niveles de amenaza" in card
    assert "sintético: contornos de las unidades administrativas" in card
    assert f'href="{BASE}/areas/adm2:PAN-ADM2-Pinogana/brief?lang=es-PA"' in card
    assert "Ficha del área" in card
    # ADM1 cards say their hazard levels are the highest of their ADM2 units'.
    start = page_es.index("<strong>Darién</strong>")
    card = page_es[start:page_es.index("</a>", start)]
    assert ("Niveles de amenaza: el más alto de sus unidades en «Distritos, municipios (ADM2)» "
            "(ThinkHazard!).") in card
    # Tooltip: name, score and class.
    assert f"Pinogana · Riesgo {pinogana['ranking_value']:.2f} ({label})" in page_es
    # Legend: the outline in the layer's colour and width, and what is synthetic in it.
    start = page_es.index('data-layer="admin1"')
    block = page_es[start:page_es.index("</div></div>", start)]
    assert "border-color:#862e9c;border-width:3px" in block
    assert "sintético: contornos de las unidades administrativas" in block
    assert "Provincias, comarcas, departamentos (ADM1)" in block  # its short name on the map
    english = page_html(risk_map(registry, BASE, language("en")), language("en"))
    assert f'href="{BASE}/areas/adm2:PAN-ADM2-Pinogana/brief?lang=en"' in english
    assert "synthetic: admin-unit outlines; real: admin-unit names and nesting" in english
    portuguese = page_html(risk_map(registry, BASE, language("pt")), language("pt"))
    assert "Níveis de ameaça: o mais alto de suas unidades" in portuguese


def test_the_darien_map_with_admin_units_keeps_the_vertex_budget(
        registry: Registry, map_es: folium.Map) -> None:
    counts = embedded_vertices(map_es)
    spanish = language("es")
    for layer in by_role(registry.layers(), "scored_outlines"):
        drawn = counts.get(layer.name_in(spanish), 0)
        stored = int(shapely.get_num_coordinates(
            gpd.read_parquet(layer.asset).geometry.values).sum())
        assert 0 < drawn <= stored, (layer.id, drawn, stored)
    assert sum(counts.values()) <= VERTEX_BUDGET, counts


def test_a_pixel_at_a_zoom_by_hand() -> None:
    # 40,075,016.686 m / (256 × 2^11) = 76.437 m at the equator; half of it at 60°.
    assert metres_per_pixel(11, 0.0) == pytest.approx(76.437, abs=0.001)
    assert metres_per_pixel(11, 60.0) == pytest.approx(38.218, abs=0.001)
    assert metres_per_pixel(12, 0.0) == pytest.approx(38.218, abs=0.001)


def _utm_frame(polygons: list[shapely.Polygon]) -> gpd.GeoDataFrame:
    """Polygons drawn in metres in UTM 18N (EPSG:32618), as a WGS 84 frame."""
    return gpd.GeoDataFrame({"id": range(len(polygons))}, geometry=polygons,
                            crs="EPSG:32618").to_crs("EPSG:4326")


def test_outlines_drop_what_moves_them_less_than_a_pixel() -> None:
    # A 10 km square near the equator (UTM 18N, 500 km east, 100 km north: latitude 0.9°),
    # its top edge with one vertex 40 m out (under a pixel at zoom 11, 76.4 m) and another
    # 150 m out (over it). The vertex between them stays: the line from the far vertex to the
    # corner passes 100 m from it.
    x0, y0 = 500_000.0, 100_000.0
    square = shapely.Polygon([(x0, y0), (x0 + 10_000, y0), (x0 + 10_000, y0 + 10_000),
                              (x0 + 7_500, y0 + 10_150), (x0 + 5_000, y0 + 10_000),
                              (x0 + 2_500, y0 + 10_040), (x0, y0 + 10_000)])
    frame = _utm_frame([square])
    assert outline_tolerance_m(frame) == pytest.approx(metres_per_pixel(OUTLINE_ZOOM, 0.95),
                                                       rel=1e-3)
    simple = map_outlines(frame).to_crs("EPSG:32618").geometry.iloc[0]
    ring = [(round(x), round(y)) for x, y in simple.exterior.coords]
    assert (round(x0 + 7_500), round(y0 + 10_150)) in ring
    assert (round(x0 + 2_500), round(y0 + 10_040)) not in ring
    assert (round(x0 + 5_000), round(y0 + 10_000)) in ring
    assert len(ring) == 7  # 4 corners, the far vertex, the one before it, the ring closed
    # Coordinates are rounded to 1e-5° (about 1 m).
    lonlat = map_outlines(frame).geometry.iloc[0]
    assert all(abs(v * 1e5 - round(v * 1e5)) < 1e-6 for xy in lonlat.exterior.coords for v in xy)


def test_a_dense_boundary_is_thinned_to_what_a_pixel_shows() -> None:
    # A district drawn as a circle of 20 km radius with 20,000 vertices. No chord may pass
    # farther than the tolerance t (76.4 m × cos 0.9° = 76.43 m) from the arc: a chord spanning
    # angle θ lies R(1 − cos θ/2) inside it, so θ ≤ 2 acos(1 − t/R) = 0.1749 rad and the
    # outline keeps at least 2π/0.1749 = 35.9, so 36 vertices; Douglas–Peucker keeps fewer than
    # a few times that.
    centre = shapely.Point(500_000.0, 100_000.0)
    circle = shapely.Polygon([(centre.x + 20_000 * math.cos(a), centre.y + 20_000 * math.sin(a))
                              for a in (2 * math.pi * k / 20_000 for k in range(20_000))])
    frame = _utm_frame([circle])
    t = outline_tolerance_m(frame)
    assert t == pytest.approx(76.43, abs=0.01)
    least = math.ceil(2 * math.pi / (2 * math.acos(1 - t / 20_000)))
    assert least == 36
    kept = shapely.get_num_coordinates(map_outlines(frame).geometry.iloc[0]) - 1
    assert least <= kept <= 4 * least, kept
    assert map_outlines(frame).geometry.iloc[0].is_valid


def test_neighbours_stay_valid_and_part_by_less_than_a_pixel() -> None:
    # Two units sharing a wiggly edge (vertices 30 m off a straight line, under a pixel): each
    # is simplified on its own, stays valid, and their overlap or gap is under t × length.
    x0, y0, side = 500_000.0, 100_000.0, 10_000.0
    wiggle = [(x0 + side, y0 + k * 250.0 + 0.0) if k % 2 == 0 else
              (x0 + side + 30.0, y0 + k * 250.0) for k in range(41)]
    west = shapely.Polygon([(x0, y0), *wiggle, (x0, y0 + side)])
    east = shapely.Polygon([(x0 + 2 * side, y0), (x0 + 2 * side, y0 + side),
                            *reversed(wiggle)])
    frame = _utm_frame([west, east])
    simple = map_outlines(frame).to_crs("EPSG:32618")
    assert simple.is_valid.all()
    t = outline_tolerance_m(frame)
    a, b = simple.geometry.iloc[0], simple.geometry.iloc[1]
    assert a.intersection(b).area <= t * side
    assert shapely.box(x0, y0, x0 + 2 * side, y0 + side).difference(a.union(b)).area <= t * side


def test_outlines_need_a_scored_area_set_and_a_sane_width() -> None:
    from pydantic import ValidationError

    from pipelines.config import OutputSpec

    spec = {"id": "units", "kind": "vector", "title": {"en": "Units"},
            "description": {"en": "Units."}, "value_type": "continuous",
            "style": {"kind": "vector", "color": "#862e9c", "weight": 3},
            "map": {"role": "scored_outlines"}}
    assert OutputSpec.model_validate({**spec, "areas": "admin1"}).style.weight == 3  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="scored_outlines shows a scored area set"):
        OutputSpec.model_validate({**spec, "from": "admin1"})
    with pytest.raises(ValidationError, match="weight"):
        OutputSpec.model_validate({**spec, "areas": "admin1",
                                   "style": {"kind": "vector", "color": "#862e9c",
                                             "weight": 0}})


def test_a_unit_at_both_levels_is_named_once(page_es: str) -> None:
    # The district Guna Yala is the whole Comarca Guna Yala: with both levels on, one name is
    # written at one point (the two labels are the same text at the same place).
    calls = re.findall(r"cmrisk\.labels\(\w+, \w+, (\[.*?\]), 70\)", page_es)
    named = [re.findall(r'"name": "([^"]*Guna Yala)", "lat": ([-\d.]+), "lon": ([-\d.]+)', c)
             for c in calls]
    found = [n for n in named if n]
    assert len(found) == 2 and found[0] == found[1] and found[0][0][0] == "Comarca Guna Yala"
