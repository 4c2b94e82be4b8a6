"""The second region, the northbound corridor from Necoclí to Tapachula, end to end.

Its demo and its run are made by the command line with no code of its own (`two_regions`:
`cmrisk demo --region corridor`, then `cmrisk run` of a three-line file that runs the corridor
at 5 km); one service then serves Darién (default URLs, unchanged) and the corridor (under
`/regions/corridor/`): layers, tiles, features, areas and the planning map. The full 1 km
run is measured in `bench/regions.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import h3
import morecantile
import numpy as np
import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient
from pyproj import CRS, Geod, Transformer

from data_catalog.paths import DataDir
from data_catalog.runs import RUN_MANIFEST
from geo_service.app import create_app
from geo_service.settings import Settings
from pipelines.config import load_region
from pipelines.mobility import segment_people
from pipelines.outputs import published_layers
from tests.live import live_service
from tests.pngs import decode as decode_png

pytestmark = pytest.mark.e2e

CORRIDOR = load_region("corridor")
CLI = (sys.executable, "-m", "geo_service.cli")
TMS = morecantile.tms.get("WebMercatorQuad")
GEOD = Geod(ellps="WGS84")
HONDURAS_2023 = 545_043
"""People Honduras' National Migration Institute counted entering in 2023 (real)."""
PANAMA_2023 = 520_085
"""People Panama's National Migration Service counted crossing the Darién in 2023 (real)."""


@pytest.fixture(scope="module")
def corridor_run(two_regions: Path) -> Path:
    run = DataDir(two_regions).region("corridor").current_run()
    assert run is not None
    return run


@pytest.fixture(scope="module")
def client(two_regions: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=two_regions)))


# --- the run ----------------------------------------------------------------------------------


def test_the_corridor_runs_at_5_km_in_its_equal_area_grid(corridor_run: Path) -> None:
    manifest = json.loads((corridor_run / RUN_MANIFEST).read_text(encoding="utf-8"))
    assert manifest["region"] == "corridor" and manifest["grid"]["resolution_m"] == 5000
    assert CRS.from_user_input(manifest["grid"]["crs"]) == CRS.from_user_input(
        CORRIDOR.grid.crs)
    expected = {layer.id for layer in published_layers(CORRIDOR)}
    assert set(manifest["layers"]) == expected
    with rasterio.open(corridor_run / "risk.tif") as src:
        assert CRS.from_user_input(src.crs.to_wkt()).equals(
            CRS.from_user_input(CORRIDOR.grid.crs))
        risk = src.read(1, masked=True)
        transform = src.transform
        height = src.height
    assert risk.count() > 10_000
    item = json.loads((corridor_run / "items" / "risk.json").read_text(encoding="utf-8"))
    assert item["properties"]["proj:code"] is None  # no EPSG code: the CRS goes as WKT2
    assert item["properties"]["proj:wkt2"].startswith("PROJCRS[")
    assert CRS.from_wkt(item["properties"]["proj:wkt2"]).equals(CRS.from_user_input(
        CORRIDOR.grid.crs))
    # Equal area: a 5 km cell is 25 km² on the ellipsoid at both ends of the corridor (in UTM a
    # cell 2,000 km from the central meridian would be off by several per cent).
    to_lonlat = Transformer.from_crs(CORRIDOR.grid.crs, "EPSG:4326", always_xy=True)
    for row, col in ((2, 3), (height - 3, 340)):
        corners = [transform * (col + dx, row + dy)
                   for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1))]
        cell = shapely.Polygon([to_lonlat.transform(x, y) for x, y in corners])
        area_km2 = abs(GEOD.geometry_area_perimeter(cell)[0]) / 1e6
        assert area_km2 == pytest.approx(25.0, rel=1e-3), (row, col)


def test_each_stretch_carries_the_flow_its_country_counted(corridor_run: Path) -> None:
    segments = gpd.read_parquet(corridor_run / "route_segments.parquet")
    crossings = gpd.read_parquet(corridor_run / "crossings.parquet")
    people = dict(zip(segments["segment_id"], segment_people(segments, crossings, 2023),
                      strict=True))
    # Through Costa Rica: the Darién count; through Honduras and Guatemala: Honduras' count
    # (larger: many fly to Nicaragua and never cross the Darién). Both are the real totals.
    assert people["C3"] == PANAMA_2023
    assert people["C6"] == people["C9"] == HONDURAS_2023
    assert people["N3"] == PANAMA_2023  # Las Banderas to Bajo Chiquito: the whole flow
    with rasterio.open(corridor_run / "transit.tif") as src:
        transit = src.read(1, masked=True)
    assert float(transit.max()) > 0


def test_the_corridor_scores_its_own_areas(corridor_run: Path) -> None:
    units = gpd.read_parquet(corridor_run / "planning_units.parquet")
    assert len(units) > 1000 and units["id"].str.startswith("h3:").all()
    assert {h3.get_resolution(cell.removeprefix("h3:")) for cell in units["id"]} == {5}
    assert units.total_bounds[0] < -90 and units.total_bounds[2] > -78  # Chiapas to Urabá
    parks = gpd.read_parquet(corridor_run / "protected_areas.parquet")
    assert "Darién National Park" in set(parks["name"])


def test_runs_are_kept_per_region(two_regions: Path) -> None:
    data = DataDir(two_regions)
    assert data.served_regions() == ["darien", "corridor"]
    corridor = data.region("corridor")
    assert corridor.root == two_regions / "regions" / "corridor"
    assert data.current_run() is not None and data.current_run() != corridor.current_run()
    listing = subprocess.run(
        [*CLI, "runs", "list", "--region", "corridor", "--data-dir", str(two_regions)],
        capture_output=True, text=True, timeout=300)
    assert listing.returncode == 0 and "corridor" in listing.stdout


# --- one service, both regions ------------------------------------------------------------------


def test_regions_lists_both_with_darien_first(client: TestClient) -> None:
    body = client.get("/regions").json()
    assert [r["id"] for r in body["regions"]] == ["darien", "corridor"]
    assert body["default"] == "darien"
    corridor = body["regions"][1]
    assert corridor["title"] == CORRIDOR.title["en"]
    west, south, east, north = corridor["bbox"]
    assert west < -92 and east > -77 and south < 7.5 and north > 15
    assert any(link["href"].endswith("/regions/corridor/maps/risk") for link in corridor["links"])


def test_default_urls_still_serve_darien(client: TestClient) -> None:
    darien = client.get("/layers/risk").json()
    prefixed = client.get("/regions/darien/layers/risk").json()
    corridor = client.get("/regions/corridor/layers/risk").json()
    assert darien["run_id"] == prefixed["run_id"] != corridor["run_id"]
    assert darien["bbox"][0] > -80 and corridor["bbox"][0] < -92
    assert corridor["links"][0]["href"].endswith("/regions/corridor/layers/risk")
    assert "/regions/corridor/tiles/risk/" in corridor["links"][1]["href"]


def _tile(lon: float, lat: float, z: int) -> str:
    tile = TMS.tile(lon, lat, z)
    return f"{z}/{tile.x}/{tile.y}.png"


def test_tiles_of_each_region(client: TestClient) -> None:
    # Danlí, Honduras: in the corridor, far from the Darién.
    danli = _tile(-86.58, 14.03, 7)
    corridor = client.get(f"/regions/corridor/tiles/risk/{danli}")
    darien = client.get(f"/tiles/risk/{danli}")
    assert corridor.status_code == darien.status_code == 200
    assert decode_png(corridor.content)[..., 3].any()       # drawn
    assert not decode_png(darien.content)[..., 3].any()     # Darién has nothing there
    tilejson = client.get("/regions/corridor/tiles/risk/tilejson.json").json()
    assert "/regions/corridor/tiles/risk/" in tilejson["tiles"][0]


def test_features_of_each_region(client: TestClient) -> None:
    honduras = client.get("/regions/corridor/collections/crossings/items",
                          params={"point_id": "HN-DAN", "limit": 5}).json()
    assert honduras["numberMatched"] == 48  # one record a month, 2021-2024
    assert all("/regions/corridor/" in link["href"] for link in honduras["links"])
    darien = client.get("/collections/crossings/items", params={"point_id": "HN-DAN"}).json()
    assert darien["numberMatched"] == 0
    stations = client.get("/regions/corridor/collections/stations/items",
                          params={"station_id": "CATEM-S"}).json()
    (catem,) = stations["features"]
    assert catem["properties"]["capacity"] == 300
    assert catem["geometry"]["coordinates"] == pytest.approx([-82.86, 8.55])


def test_areas_of_each_region(client: TestClient) -> None:
    listing = client.get("/regions/corridor/areas", params={"kind": "planning_unit",
                                                            "limit": 3}).json()
    first = listing["areas"][0]
    assert first["rank"] == 1 and listing["numberMatched"] > 1000
    assert first["links"][0]["href"].endswith(f"/regions/corridor/areas/{first['id']}")
    card = client.get(f"/regions/corridor/areas/{first['id']}")
    assert card.status_code == 200 and card.json()["risk"] == first["risk"]
    assert set(card.json()["stats"]) >= {"risk", "hazard", "vulnerability", "coping"}
    assert client.get(f"/areas/{first['id']}").status_code == 404  # not a Darién area


def test_analysis_reads_the_region_it_is_asked_of(client: TestClient) -> None:
    """The work process opens the rasters and collections of the request's region."""
    # Around CATEM Sur (Paso Canoas, Costa Rica): in the corridor, far outside Darién's grid.
    box = {"type": "Polygon", "coordinates": [[[-83.1, 8.3], [-82.6, 8.3], [-82.6, 8.8],
                                               [-83.1, 8.8], [-83.1, 8.3]]]}
    body = {"geometry": box, "layers": ["risk", "stations"]}
    corridor = client.post("/regions/corridor/analysis", json=body)
    assert corridor.status_code == 200, corridor.text
    risk, stations = (corridor.json()["layers"][k] for k in ("risk", "stations"))
    assert risk["cells"] > 0 and risk["mean"] is not None
    assert stations["features"] == 1  # CATEM Sur
    darien = client.post("/analysis", json=body)  # the same place, asked of Darién
    assert darien.status_code == 200, darien.text
    assert darien.json()["layers"]["risk"]["cells"] == 0
    assert darien.json()["layers"]["stations"]["features"] == 0


def test_the_map_of_the_corridor(client: TestClient) -> None:
    page = client.get("/regions/corridor/maps/risk").text
    assert "/regions/corridor/tiles/risk/" in page and "http://testserver/static/leaflet/" in page
    assert "Tapachula" in page or "Tecún Umán" in page
    assert "/regions/corridor/analysis" in page
    darien = client.get("/maps/risk").text
    assert "/regions/" not in darien.replace("/regions\"", "")


@pytest.mark.parametrize("url", [
    "/regions/atlantis/layers", "/regions/atlantis/tiles/risk/1/0/0.png",
    "/regions/..%2F..%2Fetc/layers", "/regions/regions/layers"])
def test_an_unknown_region_is_a_named_404(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json().get("parameter") in ("region", None)


def test_unknown_region_names_the_parameter(client: TestClient) -> None:
    problem = client.get("/regions/atlantis/areas").json()
    assert problem["parameter"] == "region" and "corridor" in problem["detail"]


# --- a real OGC client on the corridor's landing page -------------------------------------------


@pytest.fixture(scope="module")
def server(two_regions: Path) -> Iterator[str]:
    with live_service(two_regions) as url:
        yield url


def test_gdal_reads_the_corridor_as_its_own_ogc_api(server: str, corridor_run: Path) -> None:
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.fail("GDAL's ogrinfo is missing: apt-get install gdal-bin (`make test` does)")
    result = subprocess.run([ogrinfo, "-ro", "-so", f"OAPIF:{server}/regions/corridor",
                             "crossing_points"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    points = gpd.read_parquet(corridor_run / "crossing_points.parquet")
    assert f"Feature Count: {len(points)}" in result.stdout
    assert set(points["point_id"]) == {"PA-BCH", "PA-CAN", "HN-DAN", "HN-CHO", "CO-NEC"}
    assert np.isfinite(points.total_bounds).all()


def test_cmrisk_map_writes_the_corridor_map(two_regions: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from geo_service.cli import app as cli_app

    target = tmp_path / "corridor.html"
    result = CliRunner().invoke(cli_app, ["map", "--out", str(target), "--region", "corridor",
                                          "--data-dir", str(two_regions)])
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert "http://127.0.0.1:8000/regions/corridor/tiles/risk/" in html
    assert "http://127.0.0.1:8000/static/leaflet/leaflet.js" in html
