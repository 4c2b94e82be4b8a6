"""The PostGIS feature store against a real PostgreSQL 15 + PostGIS 3 (tests/postgis.py).

Both stores answer every features, downloads and areas request on the same data dir byte for
byte alike (only `timeStamp` differs), for the default region and under a region's prefix
(the corridor at 5 km, with the user layers beside it); a load is one transaction: readers
see the old version until it commits, and a load that fails or whose process is killed
half-way leaves the old version served; `cmrisk run REGION`, `cmrisk ingest vector` and
`cmrisk runs rollback` publish to the database before anything becomes current, and a region's
run loads that region only. An ingest (or an inputs rollback) of a user layer loads it before
anything is recorded or its folder switches: a failed or killed load leaves the database, the
layer folder and the version store as they were. Kills land at named load events (SIGSTOP,
then SIGKILL), never after a delay.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from data_catalog.ingest import (
    FileVersionStore,
    IngestOptions,
    InputVersion,
    LayerPublisher,
    dispatch,
    ingest,
    version_store,
)
from data_catalog.paths import DataDir
from geo_service.app import create_app
from geo_service.features.postgis_load import LoadError, publish_layers, publish_user_layer
from geo_service.settings import Settings
from tests.conftest import CORRIDOR_5KM
from tests.faults import killed_when_stopped
from tests.ingesting import ingest_vector
from tests.postgis import Cluster

LONG_NAME = "a_property_name_longer_than_the_sixty_three_bytes_postgresql_keeps_x"
ODD_NAME = 'it\'s "odd"'


def mixed_frame(n: int = 240, *, version: int = 1) -> gpd.GeoDataFrame:
    """Points of every property kind, with gaps, odd names and time; some across the
    antimeridian. `version` changes the values (a new version of the layer)."""
    rng = np.random.default_rng(version)
    lon = np.concatenate([rng.uniform(-79, -77, n - 40), rng.uniform(179, 180, 20),
                          rng.uniform(-180, -179, 20)])
    lat = rng.uniform(7, 9, n)
    count = pd.array(rng.integers(0, 6, n), dtype="Int64")
    count[::7] = pd.NA
    share = np.round(rng.random(n), 3)
    share[::5] = np.nan
    label = np.asarray(rng.choice(["x", "y", "zé"], n), dtype=object)
    label[::9] = None
    seen = pd.Series(pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, n),
                                                                      unit="D"))
    seen[::11] = pd.NaT
    ids = [f"f-{i:03d}" for i in range(n)]
    ids[1] = "ü-1"
    return gpd.GeoDataFrame({
        "id": ids,
        "count": count,
        "share": share,
        "ok": rng.random(n) < 0.5,
        "label": label,
        "seen": seen,
        "tags": [[int(i), 2 * int(i)] if i % 3 else None for i in range(n)],
        "meta": [{"k": f"v{i}", "w": 0.5 * i} for i in range(n)],
        "month": [f"2023-{m:02d}" for m in rng.integers(1, 13, n)],
        "geom": rng.choice(["not", "the", "geometry"], n),
        "fid": np.arange(n) * 10 + version,
        "_row": np.arange(n) * version,
        LONG_NAME: np.arange(n) % 4,
        ODD_NAME: rng.choice(["a", "b"], n),
    }, geometry=shapely.points(lon, lat), crs="EPSG:4326")


@pytest.fixture(scope="module")
def data_root(two_regions: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Darién and corridor runs plus user layers: points of every kind, polygons."""
    import shutil

    root = tmp_path_factory.mktemp("pg") / "data"
    shutil.copytree(two_regions, root, symlinks=True)
    folder = tmp_path_factory.mktemp("pg-sources")
    mixed_frame().to_parquet(folder / "mixed.parquet")
    ingest_vector(DataDir(root), folder / "mixed.parquet", layer_id="mixed", title="Mixed",
                  value_type="count")
    gpd.GeoDataFrame({"name": ["cw", "ccw", "hole"], "risk": [1.5, None, 3.0]},
                     geometry=[shapely.Polygon([(-78, 8), (-78, 8.2), (-77.8, 8.2),
                                                (-77.8, 8)]),
                               shapely.box(-77.5, 7.5, -77.2, 7.9),
                               shapely.box(-77, 8, -76.5, 8.5).difference(
                                   shapely.box(-76.9, 8.1, -76.6, 8.4))],
                     crs="EPSG:4326").to_file(folder / "shapes.geojson")
    ingest_vector(DataDir(root), folder / "shapes.geojson", layer_id="shapes", title="Shapes")
    return root


@pytest.fixture(scope="module")
def database(postgis: Cluster) -> Iterator[str]:
    with postgis.database() as url:
        yield url


def make_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    try:
        yield TestClient(app)
    finally:
        app.state.regions.close()


@pytest.fixture(scope="module")
def embedded(data_root: Path) -> Iterator[TestClient]:
    yield from make_client(Settings(data_dir=data_root))


@pytest.fixture(scope="module")
def stored(data_root: Path, database: str) -> Iterator[TestClient]:
    publish_layers(database, DataDir(data_root))
    yield from make_client(Settings(data_dir=data_root, database_url=database))


def without_timestamp(text: str) -> str:
    return re.sub(r'"timeStamp":"[^"]*"', '"timeStamp":"-"', text)


AREA = {"type": "Polygon", "coordinates": [[[-78.2, 7.8], [-77.3, 7.8], [-77.3, 8.7],
                                            [-78.2, 8.7], [-78.2, 7.8]]]}
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("/collections", {}),
    ("/collections/mixed", {}),
    ("/collections/mixed/queryables", {}),
    ("/collections/mixed/items", {}),
    ("/collections/mixed/items", {"limit": 7, "offset": 3}),
    ("/collections/mixed/items", {"limit": 50, "offset": 230}),
    ("/collections/mixed/items", {"offset": 5000}),
    ("/collections/mixed/items", {"bbox": "-78.5,7.5,-77.5,8.5", "limit": 1000}),
    ("/collections/mixed/items", {"bbox": "179.5,7,-179.5,9", "limit": 1000}),
    ("/collections/mixed/items", {"datetime": "2023-02-10"}),
    ("/collections/mixed/items", {"datetime": "2023-03-01/2023-05-31", "limit": 1000}),
    ("/collections/mixed/items", {"datetime": "../2023-01-31T12:00:00Z", "ok": "true"}),
    ("/collections/mixed/items", {"label": "zé", "ok": "0", "limit": 1000}),
    ("/collections/mixed/items", {"count": "3", "limit": 1000}),
    ("/collections/mixed/items", {"count": " +3 "}),
    ("/collections/mixed/items", {"count": "99999999999999999999999"}),
    ("/collections/mixed/items", {"share": "0.5"}),
    ("/collections/mixed/items", {"_row": "12", "geom": "the"}),
    ("/collections/mixed/items", {LONG_NAME: "2", ODD_NAME: "a", "limit": 1000}),
    ("/collections/mixed/items", {"count": "many"}),
    ("/collections/mixed/items", {"tags": "1"}),
    ("/collections/mixed/items/ü-1", {}),
    ("/collections/mixed/items/f-007", {}),
    ("/collections/mixed/items/nope", {}),
    ("/collections/mixed/download", {"f": "geojson", "label": "x"}),
    ("/collections/mixed/download", {"f": "csv"}),
    ("/collections/mixed/download", {"f": "csv", "bbox": "0,0,1,1"}),
    ("/collections/shapes/items", {}),
    ("/collections/shapes/items", {"bbox": "-76.8,8.2,-76.7,8.3"}),
    ("/collections/shapes/items", {"bbox": "-77.95,8.05,-77.9,8.1"}),
    ("/collections/shapes/items", {"datetime": "2023-01-01"}),
    ("/collections/planning_units/items", {"limit": 500, "offset": 700}),
    ("/collections/route_segments/items", {"bbox": "-77.8,8.3,-77.3,8.7"}),
    ("/collections/crossings/items", {"datetime": "2023-01-01/2023-03-31", "limit": 1000}),
    ("/collections/crossings/download", {"f": "geojson"}),
    ("/collections/incidents/download", {"f": "csv", "bbox": "-78,7.5,-77,8.5"}),
    ("/collections/nope/items", {}),
    ("/areas", {}),
    ("/areas", {"kind": "planning_unit", "limit": 2000}),
    ("/areas", {"q": "darién"}),
    ("/areas", {"kind": "volcano"}),
    ("/regions/corridor/collections", {}),
    ("/regions/corridor/collections/protected_areas", {}),
    ("/regions/corridor/collections/protected_areas/items", {}),
    ("/regions/corridor/collections/planning_units/items", {"limit": 300, "offset": 1600}),
    ("/regions/corridor/collections/route_segments/items", {"bbox": "-84,9,-80,12"}),
    ("/regions/corridor/collections/crossings/items",
     {"datetime": "2023-01-01/2023-03-31", "limit": 1000}),
    ("/regions/corridor/collections/incidents/download", {"f": "csv"}),
    ("/regions/corridor/collections/crossings/download", {"f": "geojson"}),
    ("/regions/corridor/collections/mixed/items", {"bbox": "-78.5,7.5,-77.5,8.5"}),
    ("/regions/corridor/collections/shapes/items/2", {}),
    ("/regions/corridor/collections/nope/items", {}),
    ("/regions/corridor/areas", {}),
    ("/regions/corridor/areas", {"kind": "planning_unit", "limit": 2000}),
    ("/regions/darien/collections/protected_areas/items", {}),
]


@pytest.mark.parametrize(("path", "params"), REQUESTS,
                         ids=[f"{p}?{q}" for p, q in REQUESTS])
def test_both_stores_answer_alike(embedded: TestClient, stored: TestClient, path: str,
                                  params: dict[str, Any]) -> None:
    a, b = embedded.get(path, params=params), stored.get(path, params=params)
    assert (b.status_code, b.headers["content-type"]) == \
        (a.status_code, a.headers["content-type"])
    assert without_timestamp(b.text) == without_timestamp(a.text)


def test_the_regions_are_told_apart(stored: TestClient, data_root: Path) -> None:
    """The region-prefixed requests above compare distinct data: each region's planning
    units are its own run's (and the two runs have different numbers of them)."""
    data = DataDir(data_root)
    counts = {}
    for prefix, region in (("", "darien"), ("/regions/corridor", "corridor")):
        run = data.region(region).current_run()
        assert run is not None
        counts[region] = len(gpd.read_parquet(run / "planning_units.parquet"))
        body = stored.get(f"{prefix}/collections/planning_units/items",
                          params={"limit": 1}).json()
        assert body["numberMatched"] == counts[region]
    assert counts["darien"] != counts["corridor"]


CORRIDOR_AREA = {"type": "Polygon", "coordinates": [[[-84, 9], [-80, 9], [-80, 12], [-84, 12],
                                                     [-84, 9]]]}


@pytest.mark.parametrize(("prefix", "area"), [("", AREA), ("/regions/corridor", CORRIDOR_AREA)])
def test_area_cards_and_analysis_alike(embedded: TestClient, stored: TestClient, prefix: str,
                                       area: dict[str, Any]) -> None:
    ids = [a["id"] for a in embedded.get(f"{prefix}/areas", params={"limit": 12}).json()[
        "areas"]]
    assert len(ids) == 12
    for area_id in ids:
        assert stored.get(f"{prefix}/areas/{area_id}").text == \
            embedded.get(f"{prefix}/areas/{area_id}").text
    body = {"geometry": area, "layers": ["risk", "incidents", "crossings", "mixed", "shapes"],
            "datetime": "2022-01-01/2023-06-30"}
    a = embedded.post(f"{prefix}/analysis", json=body)
    b = stored.post(f"{prefix}/analysis", json=body)
    assert a.status_code == 200 and b.text == a.text
    assert a.json()["layers"]["incidents"]["features"] > 0


def test_geopackage_downloads_alike(embedded: TestClient, stored: TestClient,
                                    tmp_path: Path) -> None:
    for collection in ("mixed", "shapes", "planning_units", "incidents", "crossings"):
        frames = []
        for client in (embedded, stored):
            response = client.get(f"/collections/{collection}/download", params={"f": "gpkg"})
            assert response.status_code == 200, response.text
            path = tmp_path / f"{collection}-{len(frames)}.gpkg"
            path.write_bytes(response.content)
            frames.append(pyogrio.read_dataframe(path))
        pd.testing.assert_frame_equal(pd.DataFrame(frames[1].drop(columns="geometry")),
                                      pd.DataFrame(frames[0].drop(columns="geometry")))
        assert shapely.equals_exact(frames[1].geometry.values, frames[0].geometry.values,
                                    tolerance=0).all()


def test_a_geopackage_keeps_properties_named_like_its_own_columns(
        embedded: TestClient, tmp_path: Path) -> None:
    """`mixed` has properties `geom` (GDAL's geometry column) and an integer `fid` (its key
    column): both stay fields, with their values; the geometry and key take other names."""
    response = embedded.get("/collections/mixed/download", params={"f": "gpkg"})
    assert response.status_code == 200, response.text
    path = tmp_path / "mixed.gpkg"
    path.write_bytes(response.content)
    info = pyogrio.read_info(path)
    queryables = embedded.get("/collections/mixed/queryables").json()["properties"]
    properties = [name for name in embedded.get("/collections/mixed/items", params={
        "limit": 1}).json()["features"][0]["properties"]]
    assert list(info["fields"]) == ["id", *properties]
    assert {"geom", "fid"} <= set(queryables)
    assert info["geometry_name"] == "geom_2"
    frame = pyogrio.read_dataframe(path)
    source = mixed_frame()
    assert frame["fid"].tolist() == source["fid"].tolist()
    assert frame["geom"].tolist() == source["geom"].tolist()
    assert shapely.equals_exact(frame.geometry.values,
                                shapely.set_precision(source.geometry.values, 1e-7),
                                tolerance=1e-7).all()


def test_the_database_holds_what_is_served(stored: TestClient, database: str) -> None:
    """The PostGIS client really reads the database: a row changed there shows up."""
    with psycopg.connect(database, autocommit=True) as conn:
        table, = conn.execute("SELECT table_name FROM cmrisk.collections WHERE id = 'shapes'"
                              ).fetchone()  # type: ignore[misc]
        conn.execute(f'UPDATE cmrisk."{table}" SET name = \'changed\' WHERE _fid = \'1\'')
        try:
            feature = stored.get("/collections/shapes/items/1").json()
            assert feature["properties"]["name"] == "changed"
        finally:
            conn.execute(f'UPDATE cmrisk."{table}" SET name = \'cw\' WHERE _fid = \'1\'')


# --- loads -----------------------------------------------------------------------------------


@pytest.fixture
def versioned(tmp_path: Path, postgis: Cluster,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DataDir, str, Path]]:
    """A data dir with layer `mixed` at version 1, loaded into a fresh database that also
    holds the input versions (`CMRISK_DATABASE_URL` set, as `cmrisk` runs with it); and the
    file of version 2 (more features, other values)."""
    data = DataDir(tmp_path / "data").ensure()
    mixed_frame(60, version=1).to_parquet(tmp_path / "v1.parquet")
    mixed_frame(80, version=2).to_parquet(tmp_path / "v2.parquet")
    with postgis.database() as url:
        monkeypatch.setenv("CMRISK_DATABASE_URL", url)
        ingest_vector(data, tmp_path / "v1.parquet", layer_id="mixed", title="Mixed")
        publish_layers(url, data)
        yield data, url, tmp_path / "v2.parquet"


def served(client: TestClient) -> tuple[int, str]:
    """How many features `mixed` has and the first feature's `_row` property."""
    body = client.get("/collections/mixed/items", params={"limit": 1}).json()
    return body["numberMatched"], body["features"][0]["properties"]["_row"]


def feature_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'cmrisk' "
                            "AND tablename LIKE '%mixed%'").fetchall()
    return {r[0] for r in rows}


def test_readers_see_the_old_version_until_the_load_commits(
        versioned: tuple[DataDir, str, Path]) -> None:
    data, url, v2 = versioned
    ingest_vector(data, v2, layer_id="mixed", title="Mixed")
    reached, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hook(event: str) -> None:
        if event == "switched":
            reached.set()
            go.wait()

    def load() -> None:
        try:
            publish_layers(url, data, hook=hook)
        except BaseException as exc:  # reported below
            errors.append(exc)
            reached.set()

    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)
        loader = threading.Thread(target=load)
        loader.start()
        try:
            reached.wait()
            assert not errors, errors
            # Written and switched, not committed: every reader still gets version 1.
            assert served(client) == (60, 0)
            assert client.get("/collections/mixed").json()["numberOfFeatures"] == 60
        finally:
            go.set()
            loader.join()
        assert not errors, errors
        assert served(client) == (80, 0)
        assert client.get("/collections/mixed/items", params={"offset": 79}).json()[
            "features"][0]["properties"]["_row"] == 79 * 2


def test_a_load_that_fails_half_way_changes_nothing(
        versioned: tuple[DataDir, str, Path]) -> None:
    data, url, v2 = versioned
    before = feature_tables(url)
    ingest_vector(data, v2, layer_id="mixed", title="Mixed")

    def fail(event: str) -> None:
        if event == "written":
            raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError, match="disk is full"):
        publish_layers(url, data, hook=fail)
    assert feature_tables(url) == before  # the half-written table went with the transaction
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)
    publish_layers(url, data)
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (80, 0)


@pytest.mark.parametrize("event", ["written", "switched"])
def test_a_killed_load_leaves_the_old_version_served(
        versioned: tuple[DataDir, str, Path], event: str) -> None:
    data, url, v2 = versioned
    ingest_vector(data, v2, layer_id="mixed", title="Mixed")
    before = feature_tables(url)
    env = {**os.environ, "CMRISK_DATA_DIR": str(data.root), "CMRISK_DATABASE_URL": url}
    killed_when_stopped(["db", "load", "--stop-at", event], env)
    assert feature_tables(url) == before
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)
        # The dead loader's transaction and lock are gone: the next load goes through.
        publish_layers(url, data)
        assert served(client) == (80, 0)


def test_unchanged_collections_are_kept_and_retired_tables_dropped_later(
        versioned: tuple[DataDir, str, Path], tmp_path: Path) -> None:
    data, url, v2 = versioned
    [first] = feature_tables(url)
    again = publish_layers(url, data)
    assert (again.written, again.kept) == ([], ["mixed"])
    assert feature_tables(url) == {first}
    ingest_vector(data, v2, layer_id="mixed", title="Mixed")
    second = publish_layers(url, data)
    assert second.written == ["mixed"] and second.dropped == []
    # The version just replaced stays one more load (a reader may still hold its name) ...
    assert len(feature_tables(url)) == 2
    ingest_vector(data, tmp_path / "v1.parquet", layer_id="mixed", title="Mixed again")
    third = publish_layers(url, data)
    # ... and goes with the next one.
    assert third.dropped == [first] and first not in feature_tables(url)
    assert len(feature_tables(url)) == 2
    (data.layers / "mixed" / "item.json").unlink()
    fourth = publish_layers(url, data)
    assert fourth.removed == ["mixed"]
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert client.get("/collections/mixed").status_code == 404


def test_the_work_processes_read_the_database(versioned: tuple[DataDir, str, Path]) -> None:
    """Analyses run in a work process; with a database, it reads the features there: with
    the layer's file gone from the data dir, the analysis still finds its points."""
    data, url, _ = versioned
    (data.layers / "mixed" / "data.parquet").unlink()
    body = {"geometry": {"type": "Polygon", "coordinates": [[[-79.5, 6.5], [-76.5, 6.5],
                                                            [-76.5, 9.5], [-79.5, 9.5],
                                                            [-79.5, 6.5]]]},
            "layers": ["mixed"]}
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        response = client.post("/analysis", json=body)
        assert response.status_code == 200, response.text
        # mixed_frame(60): 20 points in lon -79..-77, lat 7..9; 40 by the antimeridian.
        assert response.json()["layers"]["mixed"]["features"] == 20


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    from tests.live import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    data = DataDir(tmp_path / "data").ensure()
    with pytest.raises(LoadError, match="previous collections are still served"):
        publish_layers(url, data)
    settings = Settings(data_dir=data.root, database_url=url, database_timeout_s=0.2)
    for client in make_client(settings):
        response = client.get("/collections")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "127.0.0.1" not in response.text and "postgres" not in response.text


# --- the command line ------------------------------------------------------------------------


def cmrisk(*args: str, data: DataDir, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CMRISK_DATA_DIR": str(data.root), "CMRISK_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "geo_service.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def versions(url: str, scope: str = "darien") -> dict[str, str]:
    """Collection id → served version, of one scope (a region, or `@layers`)."""
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT id, version FROM cmrisk.collections WHERE scope = %s",
                                 (scope,)).fetchall())


def unreachable() -> str:
    from tests.live import free_port

    return f"postgresql://postgres@127.0.0.1:{free_port()}/none"


def test_a_region_run_and_rollback_load_that_region_before_current_moves(
        two_regions: Path, copy_data_dir: Any, postgis: Cluster) -> None:
    data = DataDir(copy_data_dir(two_regions))
    corridor = data.region("corridor")
    first, darien = corridor.current_run(), data.current_run()
    assert first is not None and darien is not None
    with postgis.database() as url:
        publish_layers(url, data)
        assert set(versions(url, "corridor").values()) == {first.name}
        assert set(versions(url, "darien").values()) == {darien.name}
        down = cmrisk("run", str(CORRIDOR_5KM), data=data, url=unreachable())
        assert down.returncode == 2 and "cannot be reached" in down.stderr
        assert "Traceback" not in down.stderr
        # A role that may read, not write: the run goes through, its load fails, nothing moves.
        failed = cmrisk("run", str(CORRIDOR_5KM), data=data, url=postgis.reader(url))
        assert failed.returncode == 2, failed.stderr
        assert "PostGIS load failed" in failed.stderr and "Traceback" not in failed.stderr
        assert corridor.current_run() == first and len(list(corridor.runs.iterdir())) == 1
        done = cmrisk("run", str(CORRIDOR_5KM), data=data, url=url)
        assert done.returncode == 0, done.stderr
        second = corridor.current_run()
        assert second is not None and second != first
        assert set(versions(url, "corridor").values()) == {second.name}
        assert set(versions(url, "darien").values()) == {darien.name}  # untouched
        path = "/regions/corridor/collections/planning_units/items"
        for ours in make_client(Settings(data_dir=data.root)):
            for theirs in make_client(Settings(data_dir=data.root, database_url=url)):
                assert without_timestamp(theirs.get(path).text) == \
                    without_timestamp(ours.get(path).text)
        back = cmrisk("runs", "rollback", first.name, "--region", "corridor", data=data,
                      url=url)
        assert back.returncode == 0, back.stderr
        assert corridor.current_run() == first
        assert set(versions(url, "corridor").values()) == {first.name}
        assert set(versions(url, "darien").values()) == {darien.name}
        again = cmrisk("db", "load", "--region", "corridor", data=data, url=url)
        assert again.returncode == 0, again.stderr
        assert f"0 collections written, {len(versions(url, 'corridor'))} unchanged" in \
            again.stderr
        unknown = cmrisk("db", "load", "--region", "nowhere", data=data, url=url)
        assert unknown.returncode == 2 and "regions with one: darien, corridor" in \
            unknown.stderr


def test_ingest_vector_publishes_the_layer(tmp_path: Path, postgis: Cluster,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = DataDir(tmp_path / "data").ensure()
    source = tmp_path / "clinics.geojson"
    gpd.GeoDataFrame({"name": ["north", "south"]}, geometry=shapely.points([(-77.9, 8.4),
                                                                            (-77.5, 7.4)]),
                     crs="EPSG:4326").to_file(source)
    with postgis.database() as url:
        done = cmrisk("ingest", "vector", str(source), "--id", "clinics", data=data, url=url)
        assert done.returncode == 0, done.stderr
        assert list(versions(url, "@layers")) == ["clinics"]
        for client in make_client(Settings(data_dir=data.root, database_url=url)):
            body = client.get("/collections/clinics/items").json()
            assert [f["properties"]["name"] for f in body["features"]] == ["north", "south"]
        # A role that may read, not write: the load fails before anything is recorded.
        monkeypatch.setenv("CMRISK_DATABASE_URL", url)  # `snapshot` reads the versions there
        before = snapshot(data)
        assert "versions of layer:clinics" in before
        failed = cmrisk("ingest", "vector", str(source), "--id", "more", data=data,
                        url=postgis.reader(url))
        assert failed.returncode == 2 and "PostGIS load failed" in failed.stderr
        assert "the data dir and the input versions are unchanged" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert snapshot(data) == before and not (data.layers / "more").exists()
        assert list(versions(url, "@layers")) == ["clinics"]
    down = cmrisk("ingest", "vector", str(source), "--id", "more", data=data, url=unreachable())
    assert down.returncode == 2 and "cannot be reached" in down.stderr
    assert "Traceback" not in down.stderr
    assert not (data.layers / "more").exists()


def test_an_unreadable_layer_fails_the_load_by_name(
        versioned: tuple[DataDir, str, Path]) -> None:
    data, url, v2 = versioned
    ingest_vector(data, v2, layer_id="mixed", title="Mixed")
    (data.layers / "mixed" / "data.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(LoadError, match="collection mixed cannot be read"):
        publish_layers(url, data)
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)


# --- ingest: the database first, then the layer folder ---------------------------------------


def snapshot(data: DataDir) -> dict[str, Any]:
    """SHA-256 of every file of the user layers and of the file version store, by path, and
    every version record of the version store in use (a folder, or the database)."""
    import hashlib

    found: dict[str, Any] = {}
    for folder in (data.layers, data.root / "versions"):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                found[path.relative_to(data.root).as_posix()] = \
                    hashlib.sha256(path.read_bytes()).hexdigest()
    store = version_store(data)
    for name in store.inputs():
        found[f"versions of {name}"] = [v.model_dump_json() for v in store.versions(name)]
    return found


def loader(url: str, hook: Any = None) -> LayerPublisher:
    """What `cmrisk ingest` passes the ingest package when a database is configured."""

    def publish(layer_id: str, folder: Path | None) -> None:
        publish_user_layer(url, layer_id, folder, hook=hook)

    return publish


def test_an_ingest_loads_the_layer_before_its_folder_switches(
        versioned: tuple[DataDir, str, Path]) -> None:
    data, url, v2 = versioned
    seen: list[tuple[int, int, int]] = []

    def publish(layer_id: str, folder: Path | None) -> None:
        assert folder is not None
        # Called with the new folder built aside; the data dir still holds version 1 ...
        seen.append((len(gpd.read_parquet(data.layers / layer_id / "data.parquet")),
                     len(gpd.read_parquet(folder / "data.parquet")),
                     len(store.versions("layer:mixed"))))
        publish_user_layer(url, layer_id, folder)
        # ... and the database already serves version 2 when the ingest goes on.
        for client in make_client(Settings(data_dir=data.root, database_url=url)):
            assert client.get("/collections/mixed").json()["numberOfFeatures"] == 80

    store = version_store(data)
    ingest(data, "vector", v2, IngestOptions(layer_id="mixed", publish=publish))
    assert seen == [(60, 80, 2)]  # baseline and version 1 recorded, version 2 not yet
    assert [v.version for v in store.versions("layer:mixed")] == [1, 2, 3]
    assert len(gpd.read_parquet(data.layers / "mixed" / "data.parquet")) == 80


@pytest.mark.parametrize("event", ["begin", "written", "switched"])
def test_a_failed_ingest_load_leaves_the_database_and_the_data_dir_as_they_were(
        versioned: tuple[DataDir, str, Path], event: str) -> None:
    data, url, v2 = versioned
    before, tables = snapshot(data), feature_tables(url)

    def fail(reached: str) -> None:
        if reached == event:
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        ingest(data, "vector", v2, IngestOptions(layer_id="mixed", publish=loader(url, fail)))
    assert snapshot(data) == before and feature_tables(url) == tables
    assert not list((data.root / ".tmp").glob("*"))  # no scratch left behind
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)


def test_a_killed_ingest_leaves_the_database_and_the_data_dir_as_they_were(
        versioned: tuple[DataDir, str, Path]) -> None:
    data, url, v2 = versioned
    before, tables = snapshot(data), feature_tables(url)
    env = {**os.environ, "CMRISK_DATA_DIR": str(data.root), "CMRISK_DATABASE_URL": url}
    killed_when_stopped(["ingest", "vector", str(v2), "--id", "mixed", "--stop-at",
                         "switched"], env)
    assert snapshot(data) == before and feature_tables(url) == tables
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)
    done = cmrisk("ingest", "vector", str(v2), "--id", "mixed", data=data, url=url)
    assert done.returncode == 0, done.stderr
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (80, 0)


class FailingRecords(FileVersionStore):
    """The data dir's version store with a disk that fills up when a version is recorded."""

    def record(self, input_id: str, files: Any, **meta: Any) -> InputVersion:
        raise OSError(28, "No space left on device")


def test_when_recording_fails_after_the_load_the_database_goes_back(
        versioned: tuple[DataDir, str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    data, url, v2 = versioned
    before = snapshot(data)
    monkeypatch.setattr(dispatch, "version_store", FailingRecords)
    with pytest.raises(OSError, match="No space left"):
        ingest(data, "vector", v2, IngestOptions(layer_id="mixed", publish=loader(url)))
    assert snapshot(data) == before
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)  # loaded, then loaded back from the folder in use


def test_inputs_rollback_of_a_layer_loads_it(versioned: tuple[DataDir, str, Path],
                                             postgis: Cluster) -> None:
    data, url, v2 = versioned
    done = cmrisk("ingest", "vector", str(v2), "--id", "mixed", data=data, url=url)
    assert done.returncode == 0, done.stderr
    # Versions of layer:mixed: 1 baseline (no files), 2 the 60 features, 3 the 80.
    back = cmrisk("inputs", "rollback", "layer:mixed", "2", data=data, url=url)
    assert back.returncode == 0, back.stderr
    for client in make_client(Settings(data_dir=data.root, database_url=url)):
        assert served(client) == (60, 0)
    before = snapshot(data)
    refused = cmrisk("inputs", "rollback", "layer:mixed", "3", data=data,
                     url=postgis.reader(url))
    assert refused.returncode == 2 and "PostGIS load failed" in refused.stderr
    assert snapshot(data) == before
    assert len(gpd.read_parquet(data.layers / "mixed" / "data.parquet")) == 60
    gone = cmrisk("inputs", "rollback", "layer:mixed", "1", data=data, url=url)
    assert gone.returncode == 0, gone.stderr
    assert not (data.layers / "mixed").exists() and "mixed" not in versions(url, "@layers")
