"""`cmrisk ingest vector`: any GeoJSON, GeoPackage, Shapefile or GeoParquet becomes a user
layer in CRS84 with a STAC item, served by the registry and the features API."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pystac
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.cli import app as cli
from geo_service.settings import Settings
from layers.registry import Registry
from tests.ingesting import ingest_vector

BOW_TIE = shapely.Polygon([(-78, 8), (-77, 9), (-77, 8), (-78, 9), (-78, 8)])


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


def frame(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    polygons = gpd.GeoDataFrame(
        {"name": ["bow tie", "square", "empty"], "score": [1.5, 2.5, 3.5]},
        geometry=[BOW_TIE, shapely.box(-77.5, 7.0, -77.0, 7.5), shapely.Polygon()],
        crs="EPSG:4326")
    return polygons.to_crs(crs)


def test_geojson_becomes_a_served_layer(data: DataDir, tmp_path: Path) -> None:
    path = tmp_path / "areas.geojson"
    frame().to_file(path)
    report = ingest_vector(data, path, layer_id="my-areas", title="My areas")
    assert report["features_read"] == 3 and report["features_written"] == 2
    assert report["geometries_repaired"] == 1 and report["features_dropped"] == 1
    assert report["ids"] == "assigned" and report["reprojected_from"] is None
    folder = data.layers / "my-areas"
    written = gpd.read_parquet(folder / "data.parquet")
    assert written.crs.equals("OGC:CRS84")
    assert written["id"].tolist() == [1, 2]
    assert written.geometry.is_valid.all()
    assert written.geometry.iloc[0].geom_type == "MultiPolygon"
    item = pystac.Item.from_file(str(folder / "item.json"))
    assert item.properties["title"] == "My areas"
    assert item.properties["cmrisk:kind"] == "vector"
    assert item.properties["cmrisk:synthetic"] is False
    assert item.properties["cmrisk:access"] == "public"
    assert item.assets["data"].href == "./data.parquet"
    assert "/" not in json.dumps(item.to_dict()["assets"]["data"]["href"]).strip('"./')
    layer = Registry(data).get("my-areas")
    assert layer.kind == "vector" and layer.title == "My areas" and layer.run_id is None
    client = TestClient(create_app(Settings(data_dir=data.root)))
    body = client.get("/collections/my-areas/items").json()
    assert body["numberMatched"] == 2
    assert client.get("/layers/my-areas").json()["kind"] == "vector"


def test_shapefile_is_reprojected_and_ids_kept(data: DataDir, tmp_path: Path) -> None:
    path = tmp_path / "shp" / "areas.shp"
    path.parent.mkdir()
    source = frame("EPSG:32618").iloc[:2].assign(id=[101, 202])
    source.to_file(path)
    report = ingest_vector(data, path, layer_id="utm")
    assert report["reprojected_from"] == "EPSG:32618"
    assert report["ids"] == "kept"
    written = gpd.read_parquet(data.layers / "utm" / "data.parquet")
    assert written["id"].tolist() == [101, 202]
    assert written.total_bounds == pytest.approx((-78, 7, -77, 9), abs=1e-5)
    assert Registry(data).get("utm").title == "areas"


def test_geopackage_and_geoparquet(data: DataDir, tmp_path: Path) -> None:
    gpkg = tmp_path / "two.gpkg"
    frame().iloc[1:2].to_file(gpkg, layer="first", driver="GPKG")
    frame().iloc[:1].to_file(gpkg, layer="second", driver="GPKG")
    report = ingest_vector(data, gpkg, layer_id="gpkg")
    assert report["features_written"] == 1 and report["notes"]
    parquet = tmp_path / "dup.parquet"
    frame().iloc[:2].assign(id=["x", "x"]).to_parquet(parquet)
    report = ingest_vector(data, parquet, layer_id="dup")
    assert report["ids"].startswith("assigned")
    written = gpd.read_parquet(data.layers / "dup" / "data.parquet")
    assert written["source_id"].tolist() == ["x", "x"] and written["id"].tolist() == [1, 2]


def test_reingest_replaces_atomically(data: DataDir, tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    frame().iloc[1:2].to_file(path)
    ingest_vector(data, path, layer_id="same")
    client = TestClient(create_app(Settings(data_dir=data.root)))
    assert client.get("/collections/same/items").json()["numberMatched"] == 1
    frame().iloc[:2].to_file(path)
    ingest_vector(data, path, layer_id="same")
    assert client.get("/collections/same/items").json()["numberMatched"] == 2
    assert sorted(p.name for p in data.layers.iterdir()) == ["same"]
    assert not (data.root / ".tmp").exists()  # no leftover scratch folder, empty or not


@pytest.mark.parametrize("layer_id", ["Bad", "../x", "", "a" * 65, "a/b"])
def test_bad_ids(data: DataDir, tmp_path: Path, layer_id: str) -> None:
    path = tmp_path / "a.geojson"
    frame().to_file(path)
    with pytest.raises(ValueError, match="layer id"):
        ingest_vector(data, path, layer_id=layer_id)


def test_unreadable_files(data: DataDir, tmp_path: Path) -> None:
    text = tmp_path / "table.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a vector file"):
        ingest_vector(data, text, layer_id="csv")
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not geojson")
    with pytest.raises(ValueError, match="cannot open"):
        ingest_vector(data, broken, layer_id="broken")
    shp = tmp_path / "nocrs" / "x.shp"
    shp.parent.mkdir()
    frame().iloc[1:2].to_file(shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(ValueError, match="no coordinate reference system"):
        ingest_vector(data, shp, layer_id="nocrs")
    assert not (data.layers / "nocrs").exists()


def test_cli_ingest_vector(data: DataDir, tmp_path: Path) -> None:
    path = tmp_path / "cli.geojson"
    frame().to_file(path)
    result = CliRunner().invoke(cli, ["ingest", "vector", str(path), "--id", "from-cli",
                                      "--title", "From the CLI", "--data-dir", str(data.root)])
    assert result.exit_code == 0, result.output
    assert Registry(data).get("from-cli").title == "From the CLI"
    result = CliRunner().invoke(cli, ["ingest", "vector", str(path), "--id", "BAD",
                                      "--data-dir", str(data.root)])
    assert result.exit_code != 0
