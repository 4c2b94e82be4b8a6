"""OGC API - Features on small real GeoParquet layers: conformance, collections, queryables,
items (bbox incl. the antimeridian, datetime, property filters, paging), RFC 7946 output,
downloads, bad input, and the store's cost on a million points."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from data_catalog.paths import DataDir
from geo_service.features import FeatureQuery, GeoParquetFeatureStore, InvalidQuery
from geo_service.features.model import BBox
from geo_service.features.parquet import CollectionSource, LoadedCollection
from geo_service.features.query import parse_bbox, parse_datetime
from tests.conftest import FeatureBackend
from tests.ingesting import ingest_vector

PROBLEM = "application/problem+json"
N_POINTS = 12_000


def points_frame() -> gpd.GeoDataFrame:
    """12,000 points over the Darién and around the antimeridian, with time and categories."""
    rng = np.random.default_rng(42)
    n_local, n_dateline = N_POINTS - 400, 400
    lon = np.concatenate([rng.uniform(-79.5, -76.5, n_local),
                          rng.uniform(178.0, 180.0, n_dateline // 2),
                          rng.uniform(-180.0, -178.0, n_dateline // 2)])
    lat = np.concatenate([rng.uniform(6.8, 9.8, n_local), rng.uniform(-20, -15, n_dateline)])
    lon[:3], lat[:3] = [-78.0, -77.5, -77.123456789], [8.0, 8.5, 8.987654321]
    months = rng.integers(0, 36, N_POINTS)
    return gpd.GeoDataFrame({
        "event_id": [f"ev-{i:05d}" for i in range(N_POINTS)],
        "kind": rng.choice(["flood", "landslide", "storm"], N_POINTS, p=[0.6, 0.3, 0.1]),
        "people": rng.integers(0, 500, N_POINTS),
        "severity": np.round(rng.uniform(0, 10, N_POINTS), 3),
        "verified": rng.random(N_POINTS) < 0.5,
        "date": [f"{2021 + m // 12}-{m % 12 + 1:02d}-{(i % 28) + 1:02d}"
                 for i, m in enumerate(months)],
    }, geometry=shapely.points(lon, lat), crs="EPSG:4326")


def polygons_frame() -> gpd.GeoDataFrame:
    """Squares and a clockwise polygon, in UTM 18N (so ingest reprojects them)."""
    shapes = [shapely.box(-78.0 + 0.2 * i, 7.5, -77.9 + 0.2 * i, 7.6) for i in range(8)]
    clockwise = shapely.Polygon([(-77.0, 8.0), (-77.0, 8.2), (-76.8, 8.2), (-76.8, 8.0)])
    frame = gpd.GeoDataFrame({"name": [f"sq{i}" for i in range(8)] + ["cw"],
                              "risk": np.linspace(0, 8, 9)},
                             geometry=[*shapes, clockwise], crs="EPSG:4326")
    return frame.to_crs("EPSG:32618")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    points = folder / "events.parquet"
    points_frame().to_parquet(points)
    polygons = folder / "squares.gpkg"
    polygons_frame().to_file(polygons, driver="GPKG")
    lines = folder / "lines.geojson"
    gpd.GeoDataFrame({"id": ["a", "b"], "mode": ["walk", "boat"]},
                     geometry=[shapely.LineString([(-78, 7), (-77, 8)]),
                               shapely.LineString([(-77, 9), (-76.6, 9.5)])],
                     crs="EPSG:4326").to_file(lines)
    return {"events": points, "squares": polygons, "lines": lines}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, sources: dict[str, Path]) -> Path:
    root = tmp_path_factory.mktemp("data")
    data = DataDir(root).ensure()
    for layer_id, path in sources.items():
        ingest_vector(data, path, layer_id=layer_id, title=layer_id.title(),
                      value_type="count" if layer_id == "events" else "class")
    return root


@pytest.fixture(scope="module")
def client(data_dir: Path, feature_backend: FeatureBackend) -> TestClient:
    """The service on the embedded store, then on PostGIS (every test runs on both)."""
    return feature_backend.client(data_dir)


@pytest.fixture(scope="module")
def events(data_dir: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(data_dir / "layers" / "events" / "data.parquet")


def items(client: TestClient, collection: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/collections/{collection}/items", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    return response.json()  # type: ignore[no-any-return]


def ids_of(body: dict[str, Any]) -> list[Any]:
    return [f["id"] for f in body["features"]]


def eids(features: list[dict[str, Any]]) -> list[str]:
    """The `event_id` of each feature (ingest assigned the feature ids 1..n)."""
    return [f["properties"]["event_id"] for f in features]


def all_pages(client: TestClient, collection: str, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` links from the first page; returns every feature."""
    body = items(client, collection, **params)
    features = list(body["features"])
    seen = 1
    while nxt := next((link for link in body["links"] if link["rel"] == "next"), None):
        assert nxt["type"] == "application/geo+json"
        response = client.get(nxt["href"])
        assert response.status_code == 200
        body = response.json()
        features += body["features"]
        seen += 1
        assert seen < 500
    return features


# --- landing, conformance, collections -------------------------------------------------------


def test_conformance_lists_exactly_what_holds(client: TestClient) -> None:
    body = client.get("/conformance").json()
    assert sorted(body["conformsTo"]) == sorted([
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
        "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    ])
    assert not any(c.endswith(("/html", "/oas30")) for c in body["conformsTo"])


def test_landing_links_to_collections_and_api(client: TestClient) -> None:
    links = {link["rel"]: link for link in client.get("/", headers={"accept": "application/json"})
             .json()["links"]}
    assert links["data"]["href"].endswith("/collections")
    assert links["conformance"]["href"].endswith("/conformance")
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.1"
    assert client.get("/api").json()["openapi"].startswith("3.1")


def test_collections_describe_extent_time_and_links(client: TestClient,
                                                    events: gpd.GeoDataFrame) -> None:
    body = client.get("/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert {"events", "squares", "lines"} <= set(by_id)
    one = client.get("/collections/events").json()
    assert one == by_id["events"]
    assert one["itemType"] == "feature"
    assert one["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    west, south, east, north = one["extent"]["spatial"]["bbox"][0]
    assert (west, south, east, north) == pytest.approx(tuple(events.total_bounds), abs=1e-7)
    interval = one["extent"]["temporal"]["interval"][0]
    assert interval[0].startswith("2021-01") and interval[1].startswith("2023-12")
    assert "temporal" not in by_id["squares"]["extent"]
    rels = {link["rel"]: link for link in one["links"]}
    assert rels["items"]["type"] == "application/geo+json"
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/queryables"]["href"].endswith(
        "/collections/events/queryables")
    assert {link["href"].rsplit("=", 1)[1] for link in one["links"]
            if link["rel"] == "enclosure"} == {"geojson", "csv", "gpkg"}
    assert "/tmp" not in json.dumps(body) and "parquet" not in json.dumps(body)


def test_queryables_are_a_json_schema(client: TestClient) -> None:
    response = client.get("/collections/events/queryables")
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/collections/events/queryables")
    assert schema["properties"]["kind"] == {"type": "string", "title": "Kind",
                                            "x-titles": {"en": "Kind", "es": "Tipo",
                                                         "pt": "Tipo"}}
    # Properties the field descriptions do not know are titled by their name.
    for name, kind in (("people", "integer"), ("severity", "number"), ("verified", "boolean")):
        assert schema["properties"][name] == {"type": kind, "title": name,
                                              "x-titles": {"en": name, "es": name, "pt": name}}
    assert schema["additionalProperties"] is False


def test_openapi_declares_limits_and_each_collections_filters(client: TestClient) -> None:
    api = client.get("/api").json()
    generic = api["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    limit = next(p for p in generic if p["name"] == "limit")["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == \
        ("integer", 1, 10000, 100)
    own = api["paths"]["/collections/events/items"]["get"]["parameters"]
    declared = {p["name"]: p["schema"] for p in own}
    assert {"bbox", "datetime", "limit", "offset", "kind", "people", "verified"} <= set(declared)
    assert "collectionId" not in declared
    assert declared["people"] == {"type": "integer"}


# --- items -----------------------------------------------------------------------------------


def test_items_default_page_and_rfc7946(client: TestClient, events: gpd.GeoDataFrame) -> None:
    body = items(client, "events")
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == len(events) and body["numberReturned"] == 100
    assert "crs" not in body and body["timeStamp"].endswith("Z")
    first = body["features"][0]
    assert first["id"] == 1 and first["properties"]["event_id"] == "ev-00000"
    assert first["properties"]["kind"] in {"flood", "landslide",
                                                                         "storm"}
    third = items(client, "events", limit=3)["features"][2]
    assert third["geometry"]["coordinates"] == [-77.1234568, 8.9876543]
    text = client.get("/collections/events/items", params={"limit": 500}).text
    geometries = re.findall(r'"coordinates":\[[^\]]*\]', text)
    assert len(geometries) == 500
    assert not any(re.search(r"\.\d{8,}", g) for g in geometries)


def test_f_json_gives_the_same_page(client: TestClient) -> None:
    a, b = items(client, "events", limit=5), items(client, "events", limit=5, f="json")
    assert a["features"] == b["features"] and a["numberMatched"] == b["numberMatched"]


def test_polygons_are_counter_clockwise_and_reprojected(client: TestClient) -> None:
    body = items(client, "squares")
    assert body["numberMatched"] == 9
    for feature in body["features"]:
        polygon = shapely.geometry.shape(feature["geometry"])
        assert polygon.exterior.is_ccw
        assert -79 < polygon.centroid.x < -76 and 7 < polygon.centroid.y < 9
    cw = next(f for f in body["features"] if f["properties"]["name"] == "cw")
    assert shapely.geometry.shape(cw["geometry"]).bounds == pytest.approx(
        (-77.0, 8.0, -76.8, 8.2), abs=1e-6)


def test_paging_keeps_every_parameter_and_covers_all(client: TestClient,
                                                     events: gpd.GeoDataFrame) -> None:
    body = items(client, "events", limit=250, kind="storm", bbox="-79.5,6.8,-76.5,9.8")
    nxt = next(link for link in body["links"] if link["rel"] == "next")
    assert "kind=storm" in nxt["href"] and "limit=250" in nxt["href"]
    assert "bbox=-79.5%2C6.8%2C-76.5%2C9.8" in nxt["href"] and "offset=250" in nxt["href"]
    second = client.get(nxt["href"]).json()
    prev = next(link for link in second["links"] if link["rel"] == "prev")
    assert "offset" not in prev["href"] and "kind=storm" in prev["href"]
    assert client.get(prev["href"]).json()["features"] == body["features"]
    features = all_pages(client, "events", limit=250, kind="storm",
                         bbox="-79.5,6.8,-76.5,9.8")
    inside = events[(events["kind"] == "storm")
                    & events.intersects(shapely.box(-79.5, 6.8, -76.5, 9.8))]
    assert eids(features) == inside["event_id"].tolist()
    assert body["numberMatched"] == len(inside)
    last = client.get("/collections/events/items",
                      params={"limit": 100, "offset": len(events) + 5}).json()
    assert last["numberReturned"] == 0 and last["numberMatched"] == len(events)


def test_large_limit_is_clamped(client: TestClient) -> None:
    body = items(client, "events", limit=20000)
    assert body["numberReturned"] == 10000
    nxt = next(link for link in body["links"] if link["rel"] == "next")
    assert "offset=10000" in nxt["href"]


@pytest.mark.parametrize("box", ["-78.2,7.9,-77.4,8.6", "-76.6,9.7,-76.5,9.8", "0,0,1,1",
                                 "-78,8,-78,8"])
def test_bbox_equals_geopandas(client: TestClient, events: gpd.GeoDataFrame, box: str) -> None:
    west, south, east, north = map(float, box.split(","))
    expected = events[events.intersects(shapely.box(west, south, east, north))]
    features = all_pages(client, "events", bbox=box, limit=1000)
    assert eids(features) == expected["event_id"].tolist()


def test_bbox_across_the_antimeridian(client: TestClient, events: gpd.GeoDataFrame) -> None:
    expected = events[events.intersects(shapely.box(179.0, -20, 180, -15))
                      | events.intersects(shapely.box(-180, -20, -179.0, -15))]
    assert 150 < len(expected) < 250
    features = all_pages(client, "events", bbox="179,-20,-179,-15", limit=1000)
    assert eids(features) == expected["event_id"].tolist()


def test_bbox_on_polygons_and_lines_is_exact(client: TestClient) -> None:
    # The box touches the envelope of the diagonal line "a" but not the line itself.
    assert ids_of(items(client, "lines", bbox="-77.2,7.0,-77.1,7.1")) == []
    assert ids_of(items(client, "lines", bbox="-77.6,7.3,-77.4,7.6")) == ["a"]
    inside = items(client, "squares", bbox="-77.95,7.55,-77.7,7.56")
    assert [f["properties"]["name"] for f in inside["features"]] == ["sq0", "sq1"]


def test_datetime_instant_intervals_and_open_ends(client: TestClient,
                                                  events: gpd.GeoDataFrame) -> None:
    dates = pd.to_datetime(events["date"].astype(str))

    def expect(start: str | None, end: str | None) -> list[str]:
        keep = pd.Series(True, index=events.index)
        if start:
            keep &= dates >= pd.Timestamp(start)
        if end:
            keep &= dates <= pd.Timestamp(end)
        return events.loc[keep, "event_id"].tolist()

    def got(value: str) -> list[str]:
        return eids(all_pages(client, "events", datetime=value, limit=10000))

    assert got("2022-03-05") == expect("2022-03-05", "2022-03-05")
    assert got("2022-03-05T00:00:00Z") == expect("2022-03-05", "2022-03-05")
    assert got("2022-01-01/2022-06-30") == expect("2022-01-01", "2022-06-30")
    assert got("2023-07-01T00:00:00Z/..") == expect("2023-07-01", None)
    assert got("../2021-02-01") == expect(None, "2021-02-01")
    assert got("/2021-02-01") == expect(None, "2021-02-01")
    combined = items(client, "events", datetime="2022-01-01/2022-12-31", kind="flood",
                     limit=10000)
    assert combined["numberMatched"] == len(
        set(expect("2022-01-01", "2022-12-31")) & set(
            events.loc[events["kind"] == "flood", "event_id"]))


def test_property_filters(client: TestClient, events: gpd.GeoDataFrame) -> None:
    assert items(client, "events", kind="storm")["numberMatched"] == \
        int((events["kind"] == "storm").sum())
    assert items(client, "events", people="42")["numberMatched"] == \
        int((events["people"] == 42).sum())
    assert items(client, "events", verified="true", kind="flood")["numberMatched"] == \
        int((events["verified"] & (events["kind"] == "flood")).sum())
    assert items(client, "events", kind="volcano")["numberMatched"] == 0
    one = items(client, "events", event_id="ev-00007")
    assert ids_of(one) == [8] and eids(one["features"]) == ["ev-00007"]


def test_one_feature(client: TestClient) -> None:
    response = client.get("/collections/events/items/3")
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "Feature" and body["id"] == 3
    assert body["properties"]["event_id"] == "ev-00002"
    assert {link["rel"] for link in body["links"]} == {"self", "collection"}
    assert client.get("/collections/squares/items/3").json()["id"] == 3


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "parameter"), [
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "-78,9,-77,8"}, "bbox"),
    ({"bbox": "-78,-91,-77,8"}, "bbox"),
    ({"bbox": "-78,8,-77,91"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "-200,8,-77,9"}, "bbox"),
    ({"datetime": "garbage"}, "datetime"),
    ({"datetime": "2023-13-45"}, "datetime"),
    ({"datetime": "2023-05-01/2023-01-01"}, "datetime"),
    ({"datetime": "2023/2024/2025"}, "datetime"),
    ({"limit": "0"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"offset": "-3"}, "offset"),
    ({"nope": "1"}, "nope"),
    ({"people": "many"}, "people"),
    ({"f": "xml"}, "f"),
])
def test_bad_items_parameters_are_named_problems(client: TestClient, query: dict[str, str],
                                                 parameter: str) -> None:
    response = client.get("/collections/events/items", params=query)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 400 and body["parameter"] == parameter


def test_datetime_on_a_collection_without_time(client: TestClient) -> None:
    response = client.get("/collections/squares/items", params={"datetime": "2023-01-01"})
    assert response.status_code == 400 and response.json()["parameter"] == "datetime"


@pytest.mark.parametrize("path", ["/collections/nope", "/collections/nope/items",
                                  "/collections/nope/queryables",
                                  "/collections/..%2F..%2Fetc/items",
                                  "/collections/" + "a" * 5000 + "/items"])
def test_unknown_collection(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_unknown_collection_names_the_parameter(client: TestClient) -> None:
    assert client.get("/collections/nope/items").json()["parameter"] == "collectionId"


def test_feature_not_found(client: TestClient) -> None:
    response = client.get("/collections/events/items/99999")
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert response.json()["parameter"] == "featureId"


# --- downloads -------------------------------------------------------------------------------


def test_downloads_stream_the_whole_filtered_result(client: TestClient,
                                                    events: gpd.GeoDataFrame,
                                                    tmp_path: Path) -> None:
    params = {"kind": "flood", "bbox": "-78.5,7.5,-77.0,9.0"}
    expected = events[(events["kind"] == "flood")
                      & events.intersects(shapely.box(-78.5, 7.5, -77.0, 9.0))]
    assert len(expected) > 1000
    geojson = client.get("/collections/events/download", params={**params, "f": "geojson"})
    assert geojson.headers["content-type"] == "application/geo+json"
    assert geojson.headers["content-disposition"] == 'attachment; filename="events.geojson"'
    body = geojson.json()
    assert eids(body["features"]) == expected["event_id"].tolist()
    csv = client.get("/collections/events/download", params={**params, "f": "csv"})
    assert csv.headers["content-disposition"] == 'attachment; filename="events.csv"'
    table = pd.read_csv(io.StringIO(csv.text))
    assert table["event_id"].tolist() == expected["event_id"].tolist()
    assert table["id"].tolist() == expected["id"].tolist()
    assert table["geometry"].str.startswith("POINT").all()
    gpkg = client.get("/collections/events/download", params={**params, "f": "gpkg"})
    assert gpkg.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "events.gpkg"
    path.write_bytes(gpkg.content)
    frame = pyogrio.read_dataframe(path)
    assert frame["event_id"].tolist() == expected["event_id"].tolist()
    assert frame.crs.to_epsg() == 4326
    assert np.allclose(shapely.get_x(frame.geometry.values),
                       shapely.get_x(expected.geometry.values), atol=1e-7)


def test_download_of_an_empty_result_and_bad_input(client: TestClient, tmp_path: Path) -> None:
    empty = client.get("/collections/squares/download", params={"f": "gpkg", "bbox": "0,0,1,1"})
    assert empty.status_code == 200
    (tmp_path / "e.gpkg").write_bytes(empty.content)
    assert len(pyogrio.read_dataframe(tmp_path / "e.gpkg")) == 0
    assert client.get("/collections/squares/download",
                      params={"f": "geojson", "bbox": "0,0,1,1"}).json()["features"] == []
    for query, parameter in (({"f": "shp"}, "f"), ({"bbox": "1,2"}, "bbox"),
                             ({"limit": "5"}, "limit"), ({"nope": "x"}, "nope")):
        response = client.get("/collections/events/download", params=query)
        assert response.status_code == 400 and response.json()["parameter"] == parameter


# --- the store --------------------------------------------------------------------------------


def test_parsers() -> None:
    assert parse_bbox("170,-10,-170,10").crosses_antimeridian
    assert parse_bbox("1,2,0,3,4,10") == BBox(1, 2, 3, 4)
    interval = parse_datetime("2023-05-01")
    assert interval.start is not None and interval.end is not None
    assert (interval.end - interval.start).total_seconds() == pytest.approx(86400, abs=1e-3)
    assert parse_datetime("../..").start is None
    with pytest.raises(InvalidQuery):
        parse_datetime("2023-W01")


def test_store_reloads_when_a_layer_changes(data_dir: Path, tmp_path: Path,
                                            feature_backend: FeatureBackend) -> None:
    client = feature_backend.client(data_dir)
    before = items(client, "lines")["numberMatched"]
    frame = gpd.read_parquet(data_dir / "layers" / "lines" / "data.parquet")
    longer = pd.concat([frame, frame.assign(id=["c", "d"])], ignore_index=True)
    path = tmp_path / f"more-{feature_backend.name}.parquet"
    gpd.GeoDataFrame(longer, crs=frame.crs).to_parquet(path)
    ingest_vector(DataDir(data_dir), path, layer_id="lines2", title="More lines")
    feature_backend.publish(data_dir)  # what `cmrisk ingest` does with a database
    assert items(client, "lines2")["numberMatched"] == before + 2
    assert not list((data_dir / "layers").glob(".*"))


def million_points() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    n = 1_000_000
    return gpd.GeoDataFrame({"kind": rng.choice(["a", "b", "c", "d"], n),
                             "value": rng.random(n)},
                            geometry=shapely.points(rng.uniform(-80, -70, n),
                                                    rng.uniform(0, 10, n)),
                            crs="EPSG:4326")


@pytest.mark.slow
def test_page_cost_grows_with_the_result_not_the_collection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed (timings are in bench/features.py): a bbox page of a million points
    materialises only its own rows and tests no row one by one; the tree finds them."""
    frame = million_points()
    store = GeoParquetFeatureStore(lambda: {
        "big": CollectionSource("big", "Big", "", "v1", lambda: frame)})
    work: list[tuple[str, int]] = []

    def spy(name: str, method: Any) -> Any:
        def counted(self: Any, rows: np.ndarray, *args: Any) -> Any:
            work.append((name, len(rows)))
            return method(self, rows, *args)
        return counted

    monkeypatch.setattr(LoadedCollection, "take", spy("take", LoadedCollection.take))
    monkeypatch.setattr(LoadedCollection, "_in_bbox", spy("in_bbox", LoadedCollection._in_bbox))
    box = shapely.box(-75, 5, -74.8, 5.2)
    query = FeatureQuery(bbox=BBox(-75.0, 5.0, -74.8, 5.2), limit=100)
    page = store.query("big", query)
    inside = frame.intersects(box)
    assert page.number_matched == int(inside.sum()) > 100
    assert work == [("take", 100)]
    # Features without an id column are numbered from 1 in collection order.
    assert set(page.features.ids) <= {int(i) + 1 for i in np.flatnonzero(inside.to_numpy())}
    work.clear()
    filtered = FeatureQuery(bbox=BBox(-75.0, 5.0, -74.8, 5.2), properties={"kind": "a"},
                            limit=100)
    page = store.query("big", filtered)
    assert page.number_matched == int((inside & (frame["kind"] == "a")).sum())
    assert work == [("take", min(100, page.number_matched))]


def test_loaded_collection_keeps_ids_and_types() -> None:
    frame = gpd.GeoDataFrame({"id": [10, 11], "when": pd.to_datetime(["2023-01-01", None]),
                              "tags": [[1, 2], None]},
                             geometry=[shapely.Point(1, 1), None], crs="EPSG:4326")
    loaded = LoadedCollection(CollectionSource("x", "X", "", "1", lambda: frame), frame)
    batch = loaded.take(np.array([0, 1]))
    assert batch.ids == [10, 11]
    assert batch.properties["when"] == ["2023-01-01T00:00:00.000Z", None]
    assert batch.properties["tags"] == [[1, 2], None]
    assert loaded.info.queryables == ()
    assert loaded.info.time_property is None
