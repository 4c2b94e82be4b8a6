"""OGC API - Features Part 3 filtering (CQL2 text and JSON) on both feature stores: the server
applies the filter (fewer features sent, numberMatched what geopandas computes on the same
data), on items and downloads; bad filters are 400 problem+json naming the parameter; the
filter is advertised in conformance, the queryables and the OpenAPI document (with the
`cql-text` value GDAL's OAPIF driver looks for)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from data_catalog.paths import DataDir
from geo_service.features import cql
from geo_service.features.errors import InvalidQuery
from geo_service.features.model import CollectionInfo
from tests.conftest import FeatureBackend
from tests.ingesting import ingest_vector

PROBLEM = "application/problem+json"
N = 3_000


def crossings_frame() -> gpd.GeoDataFrame:
    """Synthetic monthly counts at points, with missing values and mixed-case text."""
    rng = np.random.default_rng(7)
    total = rng.integers(0, 3_000, N).astype("float64")
    total[::97] = np.nan  # missing counts
    nationality = rng.choice(["VEN", "HTI", "ECU", "COL", "CHN", "ven"], N)
    return gpd.GeoDataFrame({
        "record": [f"r{i:05d}" for i in range(N)],
        "nationality": nationality,
        "sex": rng.choice(["F", "M", "U"], N),
        "total": pd.array(np.where(np.isnan(total), None, total), dtype="Int64"),
        "share": np.round(rng.uniform(0, 1, N), 3),
        "verified": rng.random(N) < 0.4,
        "note": rng.choice(["100% checked", "a_b", "Aa", "other"], N),
    }, geometry=shapely.points(rng.uniform(-79, -77, N), rng.uniform(7, 9, N)), crs="EPSG:4326")


@pytest.fixture(scope="module")
def frame() -> gpd.GeoDataFrame:
    return crossings_frame()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, frame: gpd.GeoDataFrame) -> Path:
    root = tmp_path_factory.mktemp("cql-data")
    source = tmp_path_factory.mktemp("cql-src") / "flows.parquet"
    frame.to_parquet(source)
    ingest_vector(DataDir(root).ensure(), source, layer_id="flows", title="Flows",
                  value_type="count")
    return root


@pytest.fixture(scope="module")
def client(data_dir: Path, feature_backend: FeatureBackend) -> TestClient:
    return feature_backend.client(data_dir)


def items(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/collections/flows/items", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def records(body: dict[str, Any]) -> list[str]:
    return [f["properties"]["record"] for f in body["features"]]


def expected(frame: gpd.GeoDataFrame, mask: pd.Series) -> list[str]:
    return frame.loc[mask.fillna(False).astype(bool), "record"].tolist()


CASES: list[tuple[str, Any]] = [
    ("total > 1000 AND nationality = 'VEN'",
     lambda f: (f.total > 1000) & (f.nationality == "VEN")),
    ("total >= 2500 OR sex = 'U'", lambda f: (f.total >= 2500) | (f.sex == "U")),
    ("NOT (total < 1500)", lambda f: ~(f.total < 1500).fillna(False)),
    ("nationality IN ('HTI', 'CHN') AND share BETWEEN 0.2 AND 0.4",
     lambda f: f.nationality.isin(["HTI", "CHN"]) & f.share.between(0.2, 0.4)),
    ("total IS NULL", lambda f: f.total.isna()),
    ("verified = TRUE AND total <> 0", lambda f: f.verified & (f.total != 0)),
    ("note LIKE '100\\%%'", lambda f: f.note.str.startswith("100%")),
    ("note LIKE 'a_b'", lambda f: f.note == "a_b"),
    ("nationality > 'HTI'", lambda f: f.nationality > "HTI"),
    ("1000 < total", lambda f: f.total > 1000),
    ("NOT ((total > 1000) AND (nationality = 'VEN'))",  # as GDAL writes NOT (a AND b)
     lambda f: ~((f.total > 1000) & (f.nationality == "VEN")).fillna(False)),
    ("NOT (NOT (sex = 'F'))", lambda f: f.sex == "F"),
    ("S_INTERSECTS(geometry, BBOX(-78.5, 7.5, -78, 8))",
     lambda f: f.intersects(shapely.box(-78.5, 7.5, -78, 8))),
    ("S_INTERSECTS(geometry, POLYGON((-78 7, -77.5 7, -77.5 8, -78 7))) AND sex = 'F'",
     lambda f: f.intersects(shapely.Polygon([(-78, 7), (-77.5, 7), (-77.5, 8)]))
     & (f.sex == "F")),
]


@pytest.mark.parametrize(("text", "pandas"), CASES, ids=[c[0] for c in CASES])
def test_cql2_text_equals_geopandas(client: TestClient, frame: gpd.GeoDataFrame, text: str,
                                    pandas: Any) -> None:
    want = expected(frame, pandas(frame))
    assert 0 < len(want) < len(frame), "each case should select a proper subset"
    body = items(client, filter=text, limit=10_000)
    assert body["numberMatched"] == len(want)
    assert records(body) == want  # the server filtered: only matching features were sent
    assert len(body["features"]) < len(frame)


def test_cql2_json_and_cql_text_alias(client: TestClient, frame: gpd.GeoDataFrame) -> None:
    want = expected(frame, (frame.total > 1000) & (frame.nationality == "VEN"))
    as_json = {"op": "and", "args": [{"op": ">", "args": [{"property": "total"}, 1000]},
                                     {"op": "=", "args": [{"property": "nationality"}, "VEN"]}]}
    for params in ({"filter": json.dumps(as_json), "filter-lang": "cql2-json"},
                   {"filter": json.dumps(as_json)},
                   {"filter": "(total > 1000) AND (nationality = 'VEN')",
                    "filter-lang": "cql-text"},
                   {"filter": "total > 1000 AND nationality = 'VEN'",
                    "filter-lang": "cql2-text"}):
        assert records(items(client, limit=10_000, **params)) == want, params


def test_filter_pages_and_combines_with_bbox(client: TestClient,
                                             frame: gpd.GeoDataFrame) -> None:
    mask = (frame.total > 1000) & frame.intersects(shapely.box(-78.5, 7, -77, 8.5))
    want = expected(frame, mask)
    first = items(client, filter="total > 1000", bbox="-78.5,7,-77,8.5", limit=50)
    assert first["numberMatched"] == len(want)
    assert records(first) == want[:50]
    nxt = next(link for link in first["links"] if link["rel"] == "next")
    assert "filter=total" in nxt["href"]
    second = client.get(nxt["href"]).json()
    assert records(second) == want[50:100]


def test_download_applies_the_filter(client: TestClient, frame: gpd.GeoDataFrame) -> None:
    want = expected(frame, (frame.total > 1000) & (frame.nationality == "VEN"))
    response = client.get("/collections/flows/download",
                          params={"f": "geojson",
                                  "filter": "total > 1000 AND nationality = 'VEN'"})
    assert response.status_code == 200
    got = [f["properties"]["record"] for f in json.loads(response.content)["features"]]
    assert got == want
    csv = client.get("/collections/flows/download",
                     params={"f": "csv", "filter": "nationality = 'ven'"})
    assert csv.status_code == 200
    assert len(csv.text.strip().splitlines()) == 1 + int((frame.nationality == "ven").sum())


@pytest.mark.parametrize(("params", "parameter"), [
    ({"filter": "total >"}, "filter"),
    ({"filter": "nosuch = 1"}, "filter"),
    ({"filter": "total = 'many'"}, "filter"),
    ({"filter": "nationality > 3"}, "filter"),
    ({"filter": "verified > TRUE"}, "filter"),
    ({"filter": "total LIKE '1%'"}, "filter"),
    ({"filter": "{\"op\": \"and\""}, "filter"),
    ({"filter": "{\"op\": \"frobnicate\", \"args\": []}", "filter-lang": "cql2-json"}, "filter"),
    ({"filter": "S_INTERSECTS(record, BBOX(0, 0, 1, 1))"}, "filter"),
    ({"filter": "   "}, "filter"),
    ({"filter": "total > 1", "filter-lang": "sql"}, "filter-lang"),
    ({"filter-lang": "cql2-text"}, "filter-lang"),
    ({"filter": "total > 1", "filter-crs": "EPSG:3857"}, "filter-crs"),
])
def test_bad_filters_are_400_naming_the_parameter(client: TestClient, params: dict[str, str],
                                                  parameter: str) -> None:
    for path in ("/collections/flows/items", "/collections/flows/download"):
        response = client.get(path, params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["parameter"] == parameter


def test_filter_is_advertised(client: TestClient) -> None:
    conforms = client.get("/conformance").json()["conformsTo"]
    for suffix in ("ogcapi-features-3/1.0/conf/filter",
                   "ogcapi-features-3/1.0/conf/features-filter", "cql2/1.0/conf/cql2-text",
                   "cql2/1.0/conf/cql2-json"):
        assert f"http://www.opengis.net/spec/{suffix}" in conforms
    queryables = client.get("/collections/flows/queryables").json()["properties"]
    assert queryables["total"]["type"] == "integer"
    assert queryables["geometry"]["format"] == "geometry-any"
    api = client.get("/api").json()
    # GDAL's OAPIF driver reads filter-lang's enum on the collection's own items path.
    own = api["paths"]["/collections/flows/items"]["get"]["parameters"]
    lang = next(p for p in own if p["name"] == "filter-lang")
    assert "cql-text" in lang["schema"]["enum"]
    assert any(p["name"] == "filter" for p in own)


def info() -> CollectionInfo:
    return CollectionInfo(
        id="t", title="t", description="", bbox=None, interval=None, time_property=None,
        queryables=(), number_of_features=0, geometry_type="Point", version="1",
        properties=("total", "name", "when"), property_kinds=("integer", "string", "datetime"))


def test_parse_filter_types_and_limits() -> None:
    expr = cql.parse_filter("total > 5 AND name LIKE 'a\\_%'", None, info())
    assert isinstance(expr, cql.Logic)
    like = expr.parts[1]
    assert isinstance(like, cql.Like)
    assert like.sql_pattern() == "a\\_%"
    assert like.regex().fullmatch("a_xyz") and not like.regex().fullmatch("abxyz")
    with pytest.raises(InvalidQuery, match="datetime"):
        cql.parse_filter("when = 'x'", None, info())
    deep = " OR ".join("total = 1" for _ in range(520))  # 520 terms in 6,756 characters
    with pytest.raises(InvalidQuery, match=r"terms|deeply"):
        cql.parse_filter(deep, None, info())
    with pytest.raises(InvalidQuery, match="longer"):
        cql.parse_filter("total = 1 OR " * 1000 + "total = 2", None, info())


# --- random filters: the server agrees with pandas on both stores -----------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ATOMS: list[tuple[str, Any]] = [
    ("total > {i}", lambda f, i: f.total > i),
    ("total <= {i}", lambda f, i: f.total <= i),
    ("total = {i}", lambda f, i: f.total == i),
    ("total <> {i}", lambda f, i: f.total != i),
    ("total BETWEEN {i} AND {j}", lambda f, i, j: f.total.between(i, j)),
    ("share < {x}", lambda f, x: f.share < x),
    ("nationality = '{n}'", lambda f, n: f.nationality == n),
    ("nationality IN ('{n}', 'HTI')", lambda f, n: f.nationality.isin([n, "HTI"])),
    ("nationality >= '{n}'", lambda f, n: f.nationality >= n),
    ("verified = {b}", lambda f, b: f.verified == (b == "TRUE")),
    ("total IS NULL", lambda f: f.total.isna()),
    ("total IS NOT NULL", lambda f: f.total.notna()),
]


def _definite(mask: pd.Series) -> pd.Series:
    """A comparison on a missing value is false (two-valued), as the service evaluates it."""
    return mask.fillna(False).astype(bool)


@st.composite
def filters(draw: Any, depth: int = 0) -> tuple[str, Any]:
    if depth < 2 and draw(st.booleans()):
        op = draw(st.sampled_from(["AND", "OR", "NOT"]))
        left = draw(filters(depth + 1))
        if op == "NOT":
            return f"NOT ({left[0]})", lambda f, m=left[1]: ~m(f)
        right = draw(filters(depth + 1))
        if op == "AND":
            return (f"({left[0]}) AND ({right[0]})",
                    lambda f, a=left[1], b=right[1]: a(f) & b(f))
        return f"({left[0]}) OR ({right[0]})", lambda f, a=left[1], b=right[1]: a(f) | b(f)
    text, compute = draw(st.sampled_from(ATOMS))
    args = {"i": draw(st.integers(-10, 3100)), "j": draw(st.integers(0, 3100)),
            "x": draw(st.floats(0, 1).map(lambda v: round(v, 3))),
            "n": draw(st.sampled_from(["VEN", "ECU", "ven", "ZZZ"])),
            "b": draw(st.sampled_from(["TRUE", "FALSE"]))}
    names = compute.__code__.co_varnames[1:compute.__code__.co_argcount]
    return (text.format(**args),
            lambda f, c=compute, a=tuple(args[n] for n in names): _definite(c(f, *a)))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=filters())
def test_random_filters_equal_pandas(client: TestClient, frame: gpd.GeoDataFrame,
                                     case: tuple[str, Any]) -> None:
    text, compute = case
    want = frame.loc[compute(frame).to_numpy(), "record"].tolist()
    body = items(client, filter=text, limit=10_000)
    assert body["numberMatched"] == len(want), text
    assert records(body) == want, text
