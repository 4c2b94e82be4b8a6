"""CQL2 filters from real clients against a live service, on both feature stores: GDAL's OAPIF
driver turns `-where` into a server-side `filter` (it finds `cql-text` among `filter-lang`'s
values in the OpenAPI document) and OWSLib passes `filter`; both get what geopandas computes
on the same data."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import geopandas as gpd
import pyogrio
import pytest

from data_catalog.paths import DataDir
from tests.conftest import FeatureBackend
from tests.geo_service.test_cql import crossings_frame
from tests.ingesting import ingest_vector

pytestmark = pytest.mark.e2e

OGR2OGR = shutil.which("ogr2ogr")
WHERE = "total > 1000 AND nationality = 'VEN'"


@pytest.fixture(scope="module")
def frame() -> gpd.GeoDataFrame:
    return crossings_frame()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory, frame: gpd.GeoDataFrame) -> Path:
    root = tmp_path_factory.mktemp("cql-e2e") / "data"
    source = tmp_path_factory.mktemp("cql-e2e-src") / "flows.parquet"
    frame.to_parquet(source)
    ingest_vector(DataDir(root).ensure(), source, layer_id="flows", title="Flows",
                  value_type="count")
    return root


@pytest.fixture(scope="module")
def server(data_root: Path, feature_backend: FeatureBackend) -> Iterator[str]:
    with feature_backend.live(data_root) as url:
        yield url


def expected_records(frame: gpd.GeoDataFrame) -> list[str]:
    mask = ((frame["total"] > 1000) & (frame["nationality"] == "VEN")).fillna(False)
    return sorted(frame.loc[mask.astype(bool), "record"])


def test_ogr2ogr_where_is_sent_to_the_server(server: str, frame: gpd.GeoDataFrame,
                                             tmp_path: Path) -> None:
    if OGR2OGR is None:
        pytest.fail("GDAL's command-line tools are missing: apt-get install gdal-bin")
    out = tmp_path / "subset.gpkg"
    done = subprocess.run(
        [OGR2OGR, "--debug", "on", "-f", "GPKG", str(out), f"OAPIF:{server}/collections/flows",
         "flows", "-where", WHERE], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    read = pyogrio.read_dataframe(out)
    assert sorted(read["record"]) == expected_records(frame)
    # The filter went to the server: the items request carried it as CQL text.
    requests = [unquote_plus(line) for line in done.stderr.splitlines() if "/items" in line]
    assert any("filter=" in line and "filter-lang=cql-text" in line and "total > 1000" in line
               for line in requests), "\n".join(requests[-5:])


def test_owslib_filter_equals_geopandas(server: str, frame: gpd.GeoDataFrame) -> None:
    from owslib.ogcapi.features import Features

    api = Features(server)
    want = expected_records(frame)
    body = api.collection_items("flows", limit=10_000, filter=WHERE)
    assert body["numberMatched"] == len(want)
    assert sorted(f["properties"]["record"] for f in body["features"]) == want
    assert len(body["features"]) < len(frame)  # the server filtered


def test_ogr2ogr_where_with_not_over_and(server: str, frame: gpd.GeoDataFrame,
                                         tmp_path: Path) -> None:
    """GDAL writes `NOT (a AND b)` as `NOT ((a) AND (b))`, which the server parses too."""
    if OGR2OGR is None:
        pytest.fail("GDAL's command-line tools are missing: apt-get install gdal-bin")
    out = tmp_path / "negated.gpkg"
    done = subprocess.run(
        [OGR2OGR, "--debug", "on", "-f", "GPKG", str(out), f"OAPIF:{server}/collections/flows",
         "flows", "-where", f"NOT ({WHERE})"], capture_output=True, text=True, timeout=300,
        check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    mask = ~((frame["total"] > 1000) & (frame["nationality"] == "VEN")).fillna(False)
    assert sorted(pyogrio.read_dataframe(out)["record"]) == sorted(frame.loc[mask, "record"])
    assert any("filter=" in unquote_plus(line) and "NOT" in unquote_plus(line)
               for line in done.stderr.splitlines() if "/items" in line)


def test_ogrinfo_where_counts_what_geopandas_counts(server: str,
                                                    frame: gpd.GeoDataFrame) -> None:
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.fail("GDAL's command-line tools are missing: apt-get install gdal-bin")
    done = subprocess.run([ogrinfo, "-ro", "-so", f"OAPIF:{server}/collections/flows", "flows",
                           "-where", WHERE], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    count = next(line for line in done.stdout.splitlines() if "Feature Count" in line)
    assert int(count.split(":")[1]) == len(expected_records(frame))
