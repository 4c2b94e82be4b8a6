"""The planning map page and the static assets it loads (offline: no other host)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from data_catalog.i18n import language
from data_catalog.paths import DataDir
from data_catalog.provenance import synthetic_banner
from geo_service.app import create_app
from geo_service.cli import app as cli_app
from geo_service.maps import native_zooms
from geo_service.maps.builder import layer_provenance_note, run_provenance
from geo_service.maps.embed import (
    EMBED_BASE,
    EMBED_MAX_ZOOM,
    MAX_FILE_BYTES,
    EmbedError,
    embedded_map,
    inline_assets,
    prerender,
)
from geo_service.maps.widgets import month_range, monthly_series, script_json
from geo_service.settings import Settings
from geo_service.static_assets import UnknownAsset, localize
from layers.registry import Registry

BASE = "http://testserver"
URL = re.compile(r"""(?:https?:)?//[^\s"'`<>()\\]+""", re.IGNORECASE)
ASSET_URL = re.compile(r"""(?:src|href)="([^"]+)\"""")


@pytest.fixture(scope="module")
def client(demo_run: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=demo_run)))


@pytest.fixture(scope="module")
def page_es(client: TestClient) -> str:
    response = client.get("/maps/risk", params={"lang": "es"})
    assert response.status_code == 200
    return response.text


def _hosts(html: str) -> set[str]:
    return {re.sub(r"^(?:https?:)?//", "", url).split("/")[0].lower()
            for url in URL.findall(html)}


def test_page_names_no_host_but_the_service(page_es: str) -> None:
    assert _hosts(page_es) == {"testserver"}


def test_every_script_and_stylesheet_is_served_by_us(client: TestClient, page_es: str) -> None:
    assets = [url for url in ASSET_URL.findall(page_es) if url.endswith((".js", ".css"))]
    assert {url.rsplit("/", 1)[1] for url in assets} >= {"leaflet.js", "leaflet.css"}
    for url in assets:
        assert url.startswith(f"{BASE}/static/"), url
        response = client.get(url.removeprefix(BASE))
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(
            "text/javascript" if url.endswith(".js") else "text/css")
        assert len(response.content) > 500


def test_leaflet_css_images_are_served(client: TestClient) -> None:
    response = client.get("/static/leaflet/images/layers.png")
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("path", [
    "/static/leaflet/../../../__init__.py",
    "/static/leaflet/%2e%2e/__init__.py",
    "/static/leaflet/missing.js",
    "/static/nopackage/leaflet.js",
    "/static/leaflet/",
])
def test_static_refuses_unknown_files_and_escapes(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_spanish_page_has_spanish_legend_and_banner(page_es: str) -> None:
    for label in ("Muy bajo", "Bajo", "Medio", "Alto", "Muy alto", "Riesgo clima-movilidad",
                  "Datos de demostración"):
        assert label in page_es


def test_score_cards_in_both_languages(client: TestClient, page_es: str) -> None:
    assert "Darién National Park" in page_es
    for label in ("Intervalo de posición 5–95%", "Indicador principal", "Ejecución", "Pesos",
                  "Vulnerabilidad", "Falta de capacidad de respuesta", "Sensibilidad ambiental"):
        assert label in page_es, label
    english = client.get("/maps/risk").text
    for label in ("5–95% rank interval", "Top indicator", "Weights", "Vulnerability"):
        assert label in english, label


def test_raster_overlays_use_native_zoom_of_their_tilejson(
        client: TestClient, page_es: str) -> None:
    tilejson = client.get("/tiles/risk/tilejson.json").json()
    match = re.search(r'L\.tileLayer\(\s*"[^"]*/tiles/risk/[^"]*",\s*(\{.*?\})\s*\)', page_es,
                      re.DOTALL)
    assert match is not None
    options = match.group(1)
    assert re.search(rf'"maxNativeZoom": {tilejson["maxzoom"]}\b', options), options
    assert re.search(rf'"minNativeZoom": {tilejson["minzoom"]}\b', options), options


def test_online_basemap_is_an_opt_in(client: TestClient, page_es: str) -> None:
    assert "openstreetmap" not in page_es.lower()
    online = client.get("/maps/risk", params={"basemaps": "online"}).text
    assert "tile.openstreetmap.org" in online
    assert _hosts(online) - {"testserver"} <= {"tile.openstreetmap.org", "openstreetmap.org",
                                               "www.openstreetmap.org"}


def test_localize_rewrites_and_refuses_unknown_assets() -> None:
    fmap = folium.Map(tiles=None)
    localize(fmap, BASE)
    assert fmap.default_js == [("leaflet", f"{BASE}/static/leaflet/leaflet.js"),
                               ("jquery", f"{BASE}/static/jquery/jquery.min.js")]
    element = folium.Map(tiles=None)
    element.default_js = [("some_plugin", "https://cdn.example.org/plugin.js")]
    with pytest.raises(UnknownAsset, match="some_plugin"):
        localize(element, BASE)


# --- crossings slider, drawing, clusters, planning units, legends per overlay ---------------


@pytest.fixture(scope="module")
def registry(demo_run: Path) -> Registry:
    return Registry(DataDir(demo_run))


def test_crossings_series_covers_2021_to_2024_per_point(registry: Registry) -> None:
    frame = gpd.read_parquet(registry.get("crossings").asset)
    series = monthly_series(frame, key="point_id", time="month", count="total", label="name")
    months = series["months"]
    assert len(months) == 48 and months[0] == "2021-01" and months[-1] == "2024-12"
    assert [p["id"] for p in series["points"]] == sorted(frame["point_id"].unique())
    for point in series["points"]:
        assert len(point["totals"]) == 48
        rows = frame[frame["point_id"] == point["id"]]
        for _, row in rows.iterrows():
            slot = months.index(row["month"])
            expected = None if pd.isna(row["total"]) else int(row["total"])
            assert point["totals"][slot] == expected
        reported = set(rows["month"])
        assert all(point["totals"][i] is None for i, m in enumerate(months)
                   if m not in reported)


OFFICIAL_NORTHBOUND = {"2021": 133_726, "2022": 248_284, "2023": 520_085, "2024": 302_203}
"""Northbound crossings of the Darién counted by Panama's SNM (METHOD.md, `data_catalog.demo
.flows`): what the slider's yearly sums of people going north must equal, exactly."""


def test_crossings_series_sums_each_direction_apart(registry: Registry) -> None:
    """North-bound yearly sums are the official totals; the south-bound return flow of 2024
    (2,800 people at Necoclí in the demo) is its own group, never added to them (it was:
    2024 summed to 305,003)."""
    frame = gpd.read_parquet(registry.get("crossings").asset)
    series = monthly_series(frame, key="point_id", time="month", count="total", label="name",
                            split="direction")
    groups = {g["id"]: g for g in series["groups"]}
    assert set(groups) == {"northbound", "southbound"}
    assert groups["northbound"]["yearly"] == OFFICIAL_NORTHBOUND
    assert groups["southbound"]["yearly"] == {"2024": 2_800}
    assert {p["group"] for p in series["points"] if p["id"] == "CO-NEC"} == {"southbound"}
    # Each month's group sum is the sum of its places' published counts.
    december = series["months"].index("2024-12")
    north = [p["totals"][december] for p in series["points"] if p["group"] == "northbound"]
    assert groups["northbound"]["monthly"][december] == sum(v for v in north if v is not None)


def test_banner_and_popups_name_what_is_synthetic(registry: Registry) -> None:
    """The banner lists exactly the synthetic parts the inputs' provenance names (not a fixed
    sentence), and the crossings' provenance keeps their real yearly totals apart."""
    layers = dict(registry.layers())
    records = run_provenance(layers)
    crossings = next(r for r in records if r["name"] == "crossings")
    assert crossings["synthetic_parts"] == ["monthly_breakdown", "demographic_breakdown"]
    assert crossings["real_parts"] == ["yearly_totals"]
    english = synthetic_banner(records, language("en"))
    assert english.startswith("Demonstration data. Synthetic: hazard and climate rasters, ")
    for part in ("deaths and disappearances", "monthly crossings",
                 "reception-station capacities", "protected-area and territory outlines",
                 "disaster displacement events", "forest cover"):
        assert part in english.split(" Real: ")[0], part
    assert english.split(" Real: ")[1].startswith("route waypoints, places, yearly crossing")
    assert "country borders (Natural Earth)" in english.split(" Real: ")[1]
    spanish = synthetic_banner(records, language("es"))
    assert "muertes y desapariciones" in spanish and "Sintético" in spanish
    assert layer_provenance_note(registry.get("crossings"), language("en")) == (
        "synthetic: monthly crossings, crossings by point, sex, age group and nationality; "
        "real: yearly crossing totals")
    assert layer_provenance_note(registry.get("incidents"), language("en")) == (
        "synthetic: deaths and disappearances")
    assert layer_provenance_note(registry.get("countries"), language("en")) == ""


def test_month_range_is_inclusive() -> None:
    assert month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]


def test_script_json_cannot_close_the_script() -> None:
    assert script_json({"name": "</script><b>"}) == '{"name": "<\\/script><b>"}'


def test_page_has_slider_drawing_clusters_and_planning_units(page_es: str) -> None:
    assert "cmrisk.slider(" in page_es and '"months": ["2021-01"' in page_es
    assert '"labels": ["ene. 2021", "feb. 2021"' in page_es  # months as es-PA writes them
    assert "Cruces mensuales" in page_es
    assert '"url": "http://testserver/analysis"' in page_es
    assert "An\\u00e1lisis del \\u00e1rea dibujada" in page_es
    assert "L.markerClusterGroup" in page_es and "cmrisk-incident" in page_es
    assert "Muertes y desapariciones" in page_es or "incident" in page_es
    assert '"risk_class": "very_low"' in page_es and "#1a9641" in page_es


def test_one_legend_per_overlay_bound_to_its_layer(page_es: str) -> None:
    blocks = re.findall(r'class="cmrisk-legend-layer" data-layer="([^"]+)"', page_es)
    assert blocks == ["risk", "hazard", "vulnerability", "coping", "environment",
                      "environmental_pressure", "planning_units", "admin1", "admin2", "outside"]
    bound = re.search(r"cmrisk\.legends\(\w+, (\[\[\"risk\", tile_layer_\w+\].*?\])\);",
                      page_es)
    assert bound is not None
    assert bound.group(1).count("tile_layer_") == 6 and '"planning_units", geo_json_' in \
        bound.group(1)


def test_legend_classes_are_those_of_the_layer_api(client: TestClient, page_es: str) -> None:
    legend = client.get("/layers/hazard").json()["legend"]
    start = page_es.index('data-layer="hazard"')
    block = page_es[start:page_es.index("</div></div>", start)]
    for klass in legend["classes"]:
        assert klass["color"] in block and klass["label_es"] in block


# --- the self-contained file (`cmrisk map --embed`) -------------------------------------------


@pytest.fixture(scope="module")
def embedded(registry: Registry) -> str:
    return embedded_map(registry, language("es"))


def test_embedded_map_is_one_file_under_10_mb(embedded: str) -> None:
    assert len(embedded.encode()) < MAX_FILE_BYTES
    assert "<script src=" not in embedded
    assert '<link rel="stylesheet"' not in embedded
    assert EMBED_BASE not in embedded
    assert not re.search(r"""src=["']?(?:https?:)?//""", embedded)
    assert not re.search(r"url\(['\"]?(?:https?:)?//", embedded)
    assert 'url("data:image/png;base64,' in embedded  # Leaflet's CSS images
    assert re.search(r"\* Leaflet \d+\.\d+", embedded)  # the JS is inline
    assert "MarkerClusterGroup" in embedded and "jQuery" in embedded


def test_embedded_map_inlines_data_and_disables_drawing(embedded: str) -> None:
    assert "Darién National Park" in embedded and '"months": ["2021-01"' in embedded
    assert embedded.count('"url": null') == 2  # drawing and the PNG export need the service
    assert "no disponible en este archivo sin conexi\\u00f3n" in embedded
    assert "Parque Nacional Dari\\u00e9n" in embedded or "Parque Nacional Darién" in embedded
    for label in ("Muy bajo", "Muy alto", "Datos de demostración"):
        assert label in embedded
    assert "/tiles/" not in embedded


def test_embedded_map_keeps_every_overlay(embedded: str, registry: Registry) -> None:
    """`--embed` draws every raster overlay it can (the composite and the five dimension
    layers), each with tiles inlined and its legend."""
    from layers.registry import by_role

    overlays = by_role(registry.layers(), "overlay")
    assert len(overlays) == 6
    assert embedded.count("cmriskTiles:") == len(overlays)
    for layer in overlays:
        assert f'data-layer="{layer.id}"' in embedded
        assert (layer.title_es or "") in embedded


def test_prerendered_tiles_are_the_services_tiles(client: TestClient,
                                                  registry: Registry) -> None:
    tiles = prerender(registry.get("risk"))
    zooms = {int(key.split("/")[0]) for key in tiles.tiles}
    assert max(zooms) == EMBED_MAX_ZOOM
    assert min(zooms) == native_zooms(registry.get("risk").asset)[0]
    for key in sorted(tiles.tiles)[:: max(1, len(tiles.tiles) // 6)]:
        served = client.get(f"/tiles/risk/{key}.png")
        assert served.status_code == 200
        assert tiles.tiles[key] == "data:image/png;base64," + base64.b64encode(
            served.content).decode()
    assert tiles.empty.startswith("data:image/png;base64,")


def test_prerender_stops_at_the_budget(registry: Registry) -> None:
    full = prerender(registry.get("risk"))
    small = prerender(registry.get("risk"), budget_bytes=1)
    first = min(int(key.split("/")[0]) for key in full.tiles)
    assert small.tiles and {int(k.split("/")[0]) for k in small.tiles} == {first}


def test_inline_assets_refuses_what_it_cannot_inline() -> None:
    with pytest.raises(EmbedError, match="not one of our static assets"):
        inline_assets('<script src="https://cdn.example.org/x.js"></script>')
    with pytest.raises(EmbedError, match="no static asset"):
        inline_assets(f'<script src="{EMBED_BASE}/static/leaflet/missing.js"></script>')


def test_cli_map_embed_writes_the_file(demo_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    result = CliRunner().invoke(cli_app, ["map", "--out", str(target), "--embed",
                                          "--data-dir", str(demo_run)])
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert "self-contained" in result.output
    assert "Climate-mobility risk" in html and "<script src=" not in html


def test_map_page_is_kept_per_run(demo_run: Path, copy_data_dir) -> None:
    from fastapi.testclient import TestClient

    from data_catalog.paths import DataDir
    from geo_service.app import create_app
    from geo_service.settings import Settings
    from pipelines.config import load_region
    from pipelines.run import run

    root = copy_data_dir(demo_run)
    client = TestClient(create_app(Settings(data_dir=root)))
    first = client.get("/maps/risk").text
    assert client.get("/maps/risk").text == first  # Folium ids are random: same page = kept
    assert client.get("/maps/risk", params={"lang": "es"}).text != first
    run(load_region("darien"), DataDir(root))
    after = client.get("/maps/risk").text
    assert after != first and "Darién National Park" in after


def test_the_map_follows_the_layer_metadata(demo_run: Path, copy_data_dir) -> None:
    """Names, roles, colours and tooltips come from each layer's STAC item, nothing else."""
    import json

    root = copy_data_dir(demo_run)
    current = DataDir(root).current_run()
    assert current is not None

    def edit(layer_id: str, change) -> None:
        path = current / "items" / f"{layer_id}.json"
        item = json.loads(path.read_text(encoding="utf-8"))
        change(item["properties"])
        path.write_text(json.dumps(item), encoding="utf-8")

    edit("hazard", lambda p: p.update({"cmrisk:map": None}))
    edit("vulnerability", lambda p: p.update({"cmrisk:title_es": "Fragilidad de prueba"}))
    edit("stations", lambda p: p["cmrisk:style"].update({"color": "#123456"}))
    edit("incidents", lambda p: p["cmrisk:map"]["tooltip"][1]["label"].update(
        {"es": "fallecidos"}))
    edit("roads", lambda p: p.update({"cmrisk:map": {"role": "lines"}}))
    page = TestClient(create_app(Settings(data_dir=root))).get(
        "/maps/risk", params={"lang": "es"}).text
    assert "/tiles/hazard/" not in page and 'data-layer="hazard"' not in page
    assert "Fragilidad de prueba" in page
    assert "#123456" in page and "fallecidos" in page and "Carreteras" in page
