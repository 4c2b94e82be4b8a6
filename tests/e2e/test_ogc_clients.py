"""Real OGC API - Features clients against a live service on loopback.

GDAL's OAPIF driver (Debian gdal-bin: `ogrinfo`, `ogr2ogr`) reads every collection with the
source's feature count and downloads bbox and attribute subsets equal to what geopandas finds
in the source; OWSLib's Features client lists the collections and pages items. Every test runs
on the embedded store and on PostGIS.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pyogrio
import pytest
import shapely

from data_catalog.paths import DataDir
from geo_service.features.parquet import feature_id_column
from tests.conftest import FeatureBackend
from tests.ingesting import ingest_vector

pytestmark = pytest.mark.e2e

OGRINFO, OGR2OGR = shutil.which("ogrinfo"), shutil.which("ogr2ogr")


@pytest.fixture(scope="module")
def data_root(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e") / "data"
    shutil.copytree(demo_run, root, symlinks=True)
    source = tmp_path_factory.mktemp("user") / "clinics.geojson"
    gpd.GeoDataFrame({"name": ["north", "south", "east"], "beds": [10, 0, 25]},
                     geometry=shapely.points([(-77.9, 8.4), (-77.5, 7.4), (-76.9, 8.1)]),
                     crs="EPSG:4326").to_file(source)
    ingest_vector(DataDir(root), source, layer_id="clinics", title="Clinics")
    return root


@pytest.fixture(scope="module")
def server(data_root: Path, feature_backend: FeatureBackend) -> Iterator[str]:
    """A live service on the embedded store, then on PostGIS (every test runs on both)."""
    with feature_backend.live(data_root) as url:
        yield url


@pytest.fixture(scope="module")
def sources(server: str, data_root: Path) -> dict[str, gpd.GeoDataFrame]:
    """Each collection's source, as geopandas reads it (crossings: the protected table)."""
    run = (data_root / "current").resolve()
    frames = {path.stem: gpd.read_parquet(path) for path in run.glob("*.parquet")}
    frames["clinics"] = gpd.read_parquet(data_root / "layers" / "clinics" / "data.parquet")
    from pipelines.disclosure import crossings_features, protect_flows

    table = pd.read_csv(data_root / "inputs" / "flows" / "crossings_monthly.csv",
                        dtype={"month": str})
    frames["crossings"] = crossings_features(protect_flows(table), frames["crossing_points"])
    return frames


def gdal(*args: str) -> str:
    if OGRINFO is None or OGR2OGR is None:
        pytest.fail("GDAL's command-line tools are missing: apt-get install gdal-bin "
                    "(`make test` installs it)")
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def collection_ids(server: str) -> list[str]:
    body = httpx.get(f"{server}/collections", timeout=30).json()
    return [c["id"] for c in body["collections"]]


def test_every_collection_is_served(server: str, sources: dict[str, gpd.GeoDataFrame]) -> None:
    assert set(collection_ids(server)) == set(sources)


def test_ogrinfo_counts_every_collection(server: str,
                                         sources: dict[str, gpd.GeoDataFrame]) -> None:
    for collection in collection_ids(server):
        out = gdal(OGRINFO or "ogrinfo", "-ro", "-so", f"OAPIF:{server}/collections/{collection}",
                   collection)
        count = int(re.search(r"Feature Count: (\d+)", out).group(1))  # type: ignore[union-attr]
        assert count == len(sources[collection]), collection


def test_ogr2ogr_reads_every_feature(server: str, sources: dict[str, gpd.GeoDataFrame],
                                     tmp_path: Path) -> None:
    for collection in collection_ids(server):
        out = tmp_path / f"{collection}.gpkg"
        gdal(OGR2OGR or "ogr2ogr", "-f", "GPKG", str(out),
             f"OAPIF:{server}/collections/{collection}", collection)
        read = pyogrio.read_dataframe(out)
        assert len(read) == len(sources[collection]), collection
        assert read.crs.to_epsg() == 4326


@pytest.mark.parametrize(("collection", "box"), [
    ("incidents", (-77.7, 8.4, -77.0, 8.6)),
    ("planning_units", (-78.13, 7.71, -77.52, 8.29)),
    ("route_segments", (-77.8, 8.3, -77.3, 8.7)),
    ("crossings", (-77.75, 8.4, -77.6, 8.7)),
    ("clinics", (-78.0, 8.0, -77.0, 9.0)),
])
def test_ogr2ogr_bbox_equals_geopandas(server: str, sources: dict[str, gpd.GeoDataFrame],
                                       tmp_path: Path, collection: str,
                                       box: tuple[float, float, float, float]) -> None:
    out = tmp_path / "subset.gpkg"
    gdal(OGR2OGR or "ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server}/collections/{collection}",
         collection, "-spat", *map(str, box))
    read = pyogrio.read_dataframe(out, fid_as_index=True)
    source = sources[collection].reset_index(drop=True)
    expected = source[source.intersects(shapely.box(*box))]
    assert 0 < len(expected) < len(source), "the box should select a proper subset"
    key = feature_id_column(pd.DataFrame(source.drop(columns="geometry")))
    expected_ids = sorted(str(v) for v in (expected.index + 1 if key is None else expected[key]))
    # GDAL keeps a text id as the `id` field and makes an integer id the feature's FID.
    got = read["id"] if "id" in read.columns else read.index
    assert sorted(str(v) for v in got) == expected_ids


def test_ogr2ogr_attribute_filter(server: str, sources: dict[str, gpd.GeoDataFrame],
                                  tmp_path: Path) -> None:
    out = tmp_path / "stations.gpkg"
    gdal(OGR2OGR or "ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server}/collections/stations",
         "stations", "-where", "kind = 'reception_station'")
    stations = sources["stations"]
    assert len(pyogrio.read_dataframe(out)) == int((stations["kind"] == "reception_station")
                                                   .sum())


def test_owslib_lists_collections_and_pages_items(server: str,
                                                  sources: dict[str, gpd.GeoDataFrame]) -> None:
    from owslib.ogcapi.features import Features

    api = Features(server)
    assert {c["id"] for c in api.collections()["collections"]} == set(sources)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        api.conformance()["conformsTo"]
    first = api.collection_items("planning_units", limit=10)
    second = api.collection_items("planning_units", limit=10, offset=10)
    assert first["numberMatched"] == len(sources["planning_units"])
    assert len(first["features"]) == len(second["features"]) == 10
    ids = [f["id"] for f in first["features"] + second["features"]]
    assert ids == sources["planning_units"]["id"].tolist()[:20]
    queryables = api.collection_queryables("crossings")
    assert "total" in queryables["properties"]
    filtered = api.collection_items("crossings", limit=5, point_id="PA-BCH")
    assert filtered["numberMatched"] == int((sources["crossings"]["point_id"] == "PA-BCH").sum())
