"""Safe downloads: every collection in every format opens in GDAL without a warning, holds one
type per property across GeoJSON, CSV and GeoPackage, describes every property, rounds numbers
as `/areas` does, and a spreadsheet never reads a cell or a header as a formula."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geo_service.app import create_app
from geo_service.cli import app as cli
from geo_service.settings import Settings

FORMULA = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1:A2)",
           "\tcmd", "\rcmd"]
OGR_TYPES = {"string": "String", "integer": "Integer64", "number": "Real",
             "boolean": "Integer(Boolean)", "datetime": "DateTime", "date": "Date"}
"""The GeoPackage field type of each property kind."""


@pytest.fixture(scope="module")
def data_dir(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run plus a user layer whose text and column names try formula injection."""
    root = tmp_path_factory.mktemp("downloads") / "data"
    shutil.copytree(demo_run, root, symlinks=True)
    hostile = gpd.GeoDataFrame(
        {"label": HOSTILE, "=cmd": ["x"] * 6, "longitude": [-77.8] * 6,
         "count": list(range(6))},
        geometry=[shapely.Point(-77.8, 8.0 + i / 10) for i in range(6)], crs="EPSG:4326")
    source = root.parent / "hostile.geojson"
    hostile.to_file(source)
    result = CliRunner().invoke(cli, ["ingest", "vector", str(source), "--id", "hostile",
                                      "--data-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def client(data_dir: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir)))


@pytest.fixture(scope="module")
def collections(client: TestClient) -> list[str]:
    ids = [c["id"] for c in client.get("/collections").json()["collections"]]
    assert {"protected_areas", "planning_units", "crossings", "incidents", "hostile"} <= set(ids)
    return ids


@pytest.fixture(scope="module")
def gpkgs(client: TestClient, collections: list[str],
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gpkg")
    out = {}
    for cid in collections:
        response = client.get(f"/collections/{cid}/download", params={"f": "gpkg"})
        assert response.status_code == 200, (cid, response.text[:300])
        assert response.headers["content-type"] == "application/geopackage+sqlite3"
        out[cid] = folder / f"{cid}.gpkg"
        out[cid].write_bytes(response.content)
    return out


def ogr_fields(path: Path) -> dict[str, str]:
    """Field name → type as GDAL's ogrinfo reports them (fails on any warning)."""
    done = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True,
                          text=True, check=True)
    assert done.stderr.strip() == "", done.stderr
    assert "Warning" not in done.stdout
    return dict(re.findall(r"^(\S[^:\n]*): ([\w()]+) \(\d+\.\d+\)$", done.stdout, re.M))


def test_every_collection_opens_in_gdal_without_warnings(gpkgs: dict[str, Path],
                                                         client: TestClient) -> None:
    for cid, path in gpkgs.items():
        fields = ogr_fields(path)
        names = [name.lower() for name in fields]
        assert len(names) == len(set(names)), cid  # unique ignoring case
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == 10200, cid  # 1.2.0
            described = dict(db.execute("SELECT column_name, title FROM gpkg_data_columns "
                                        "WHERE table_name = ?", (cid,)).fetchall())
        assert set(described) == set(fields), cid  # every column has a title
        assert all(described.values())
        count = client.get(f"/collections/{cid}").json()["numberOfFeatures"]
        done = subprocess.run(["ogrinfo", "-ro", "-so", str(path), cid], capture_output=True,
                              text=True, check=True)
        assert f"Feature Count: {count}" in done.stdout, cid


def test_name_and_NAME_both_reach_the_geopackage(gpkgs: dict[str, Path]) -> None:
    fields = ogr_fields(gpkgs["protected_areas"])
    assert fields["name"] == "String" and fields["NAME_2"] == "String"
    with sqlite3.connect(gpkgs["protected_areas"]) as db:
        names = db.execute("SELECT name, NAME_2 FROM protected_areas ORDER BY id").fetchall()
        title = db.execute("SELECT title FROM gpkg_data_columns WHERE column_name = 'NAME_2'"
                           ).fetchone()[0]
    assert ("Darién National Park", "Darién National Park") in names
    assert title == "Name (WDPA)"


def geojson(client: TestClient, cid: str) -> dict[str, Any]:
    response = client.get(f"/collections/{cid}/download", params={"f": "geojson"})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def csv_rows(client: TestClient, cid: str) -> list[list[str]]:
    response = client.get(f"/collections/{cid}/download", params={"f": "csv"})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.text, newline="")))


PYTHON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool}


def test_one_type_per_property_in_every_format(client: TestClient, collections: list[str],
                                               gpkgs: dict[str, Path]) -> None:
    date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
    for cid in collections:
        body = geojson(client, cid)
        schema = body["schema"]["properties"]
        fields = ogr_fields(gpkgs[cid])
        header, *rows = csv_rows(client, cid)
        for name, prop in schema.items():
            kind = {"date": "date", "date-time": "datetime"}.get(prop.get("format", ""),
                                                                 prop.get("type", "other"))
            column = header.index("'" + name if name.startswith(FORMULA) else name)
            gpkg_name = name if name in fields else f"{name}_2"
            if kind in OGR_TYPES:
                assert fields[gpkg_name] == OGR_TYPES[kind], (cid, name)
            values = [f["properties"][name] for f in body["features"]]
            cells = [row[column] for row in rows]
            for value, cell in zip(values, cells, strict=True):
                if value is None:
                    assert cell == "", (cid, name)
                    continue
                if kind in PYTHON_TYPES:
                    assert isinstance(value, PYTHON_TYPES[kind]), (cid, name, value)
                if kind == "integer":
                    assert not isinstance(value, bool) and cell == str(value), (cid, name)
                elif kind == "number":
                    assert float(cell) == value, (cid, name)
                elif kind == "date":
                    assert date.match(value) and cell == value, (cid, name)
                elif kind == "datetime":
                    assert stamp.match(value) and cell == value, (cid, name)


def test_dates_counts_and_timestamps_have_their_types(client: TestClient,
                                                      gpkgs: dict[str, Path]) -> None:
    assert ogr_fields(gpkgs["incidents"])["date"] == "Date"
    assert ogr_fields(gpkgs["displacement_events"])["start_date"] == "Date"
    assert ogr_fields(gpkgs["protected_areas"])["as_of"] == "DateTime"
    crossings = ogr_fields(gpkgs["crossings"])
    assert crossings["total"] == crossings["nationality_VEN"] == "Integer64"
    first = geojson(client, "incidents")["features"][0]["properties"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first["date"])


def test_numbers_are_rounded_as_in_areas(client: TestClient) -> None:
    features = geojson(client, "protected_areas")["features"]
    for feature in features:
        props = feature["properties"]
        card = client.get(f"/areas/{feature['id']}").json()
        assert props["risk"] == card["risk"]
        assert props["dim_H"] == card["dimensions"]["H"]
        for name, value in props.items():
            if isinstance(value, float):
                assert value == round(value, 4), (name, value)
    park = next(f["properties"] for f in features if f["properties"]["name"].startswith("Dar"))
    assert park["area_km2"] == round(park["area_km2"], 3)


def test_csv_never_starts_a_cell_or_header_with_a_formula(client: TestClient,
                                                          collections: list[str]) -> None:
    for cid in collections:
        header, *rows = csv_rows(client, cid)
        assert not [h for h in header if h.startswith(FORMULA)], cid
        for row in rows:
            assert not [c for c in row if c.startswith(FORMULA)
                        and not _is_number(c)], (cid, row)
    header, *rows = csv_rows(client, "hostile")
    assert "'=cmd" in header
    labels = [row[header.index("label")] for row in rows]
    assert sorted(labels) == sorted("'" + text for text in HOSTILE)
    # Numbers stay numbers: a longitude of -77.8 is written as the number.
    assert {row[header.index("longitude")] for row in rows} == {"-77.8"}
    assert [row[header.index("count")] for row in rows] == [str(i) for i in range(6)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_geojson_and_queryables_describe_every_property(client: TestClient,
                                                        collections: list[str]) -> None:
    for cid in collections:
        body = geojson(client, cid)
        names = set().union(*(f["properties"] for f in body["features"])) \
            if body["features"] else set()
        schema = body["schema"]["properties"]
        assert names <= set(schema), cid
        for prop in schema.values():
            assert prop["title"] and set(prop["x-titles"]) == {"en", "es", "pt"}
        queryables = client.get(f"/collections/{cid}/queryables").json()["properties"]
        assert all(q["title"] for q in queryables.values())
    risk = geojson(client, "protected_areas")["schema"]["properties"]
    assert risk["risk"]["x-ogc-unit"] == "score 0-10"
    assert risk["ind_flood"]["x-titles"] == {
        "en": "Indicator: River flood (ThinkHazard! level)",
        "es": "Indicador: Inundación fluvial (nivel ThinkHazard!)",
        "pt": "Indicador: Inundação fluvial (nível ThinkHazard!)"}
    # Each indicator's drop when neutralised (the drivers), described as the indicators are.
    assert risk["drop_station_load"]["x-ogc-unit"] == "score 0-10"
    assert risk["drop_flood"]["x-titles"] == {
        "en": "Drop when neutralised: River flood (ThinkHazard! level)",
        "es": "Descenso al neutralizar: Inundación fluvial (nivel ThinkHazard!)",
        "pt": "Queda ao neutralizar: Inundação fluvial (nível ThinkHazard!)"}
    assert "least severe value" in risk["drop_flood"]["description"]
    queryables = client.get("/collections/protected_areas/queryables").json()["properties"]
    assert queryables["drop_flood"]["title"] == risk["drop_flood"]["title"]
    assert risk["share_very_high"]["x-titles"]["es"] == "Proporción del área en la clase Muy alto"
    assert risk["share_very_high"]["x-titles"]["pt"] == "Proporção da área na classe Muito alto"


@pytest.fixture
def own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


def test_downloads_leave_no_temporary_files(client: TestClient, own_tmp: Path) -> None:
    for f in ("gpkg", "geojson", "csv"):
        assert client.get("/collections/planning_units/download", params={"f": f}
                          ).status_code == 200
        assert client.head("/collections/planning_units/download", params={"f": f}
                           ).status_code == 200
        with client.stream("GET", "/collections/planning_units/download",
                           params={"f": f}) as response:
            next(response.iter_bytes())  # the client goes away after the first bytes
    assert list(own_tmp.iterdir()) == []


def test_head_on_downloads(client: TestClient) -> None:
    response = client.head("/collections/incidents/download", params={"f": "gpkg"})
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    assert 'filename="incidents.gpkg"' in response.headers["content-disposition"]
    assert client.head("/collections/nope/download").status_code == 404
    assert client.head("/collections/incidents/download", params={"f": "xls"}
                       ).status_code == 400
    api = client.get("/api").json()
    assert "head" not in api["paths"]["/collections/{collectionId}/download"]


def test_downloads_name_the_collection_in_json(client: TestClient) -> None:
    body = geojson(client, "hostile")
    assert body["name"] == "hostile"
    assert json.dumps(body["schema"]["properties"]["longitude"]["x-titles"]) \
        == json.dumps({"en": "Longitude", "es": "Longitud", "pt": "Longitude"})
