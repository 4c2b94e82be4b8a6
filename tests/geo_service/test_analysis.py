"""`POST /analysis` and the stats block of `/areas/{id}` on a real demo run.

An area drawn by a user is scored with the pipeline's own reductions: analysing the outline of
a stored area must give exactly the scores the pipeline stored for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from tests.conftest import FeatureBackend

PROBLEM = "application/problem+json"
BOX = {"type": "Polygon", "coordinates": [[[-78.2, 7.8], [-77.3, 7.8], [-77.3, 8.7],
                                           [-78.2, 8.7], [-78.2, 7.8]]]}


@pytest.fixture(scope="module")
def client(demo_run: Path, feature_backend: FeatureBackend) -> TestClient:
    """The service on the embedded store, then on PostGIS (every test runs on both)."""
    return feature_backend.client(demo_run)


@pytest.fixture(scope="module")
def run_folder(demo_run: Path) -> Path:
    return (demo_run / "current").resolve()


def analyse(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/analysis", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_stored_areas_are_reproduced_exactly(client: TestClient, run_folder: Path) -> None:
    areas = gpd.read_parquet(run_folder / "protected_areas.parquet")
    units = gpd.read_parquet(run_folder / "planning_units.parquet")
    sample = [*areas.itertuples(), *units.sample(15, random_state=1).itertuples()]
    for area in sample:
        geometry = json.loads(shapely.to_geojson(area.geometry))
        stats = analyse(client, {"geometry": {"type": "Feature", "geometry": geometry,
                                              "properties": {}},
                                 "layers": ["risk"]})["layers"]["risk"]
        for mine, theirs in (("mean", "risk"), ("max", "risk_max"), ("p90", "risk_p90")):
            if np.isnan(getattr(area, theirs)):
                assert stats[mine] is None
            else:
                assert stats[mine] == pytest.approx(getattr(area, theirs), abs=1e-3), area.id
        for klass, share in stats["class_shares"].items():
            stored = getattr(area, f"share_{klass}")
            if not np.isnan(stored):
                assert share == pytest.approx(stored, abs=1e-3)


def test_area_card_carries_the_same_stats(client: TestClient, run_folder: Path) -> None:
    area = gpd.read_parquet(run_folder / "protected_areas.parquet").iloc[0]
    card = client.get(f"/areas/{area['id']}").json()
    drawn = analyse(client, {"geometry": json.loads(shapely.to_geojson(area.geometry)),
                             "layers": ["risk", "hazard", "vulnerability", "coping",
                                        "environment", "environmental_pressure"]})
    assert card["stats"] == drawn["layers"]
    assert card["stats"]["risk"]["mean"] == pytest.approx(card["risk"], abs=1e-3)


def test_stats_shape_for_scores_classes_and_counts(client: TestClient,
                                                   run_folder: Path) -> None:
    body = analyse(client, {"geometry": BOX, "layers": ["risk", "risk_class", "incidents",
                                                        "route_segments", "crossings"]})
    assert body["area_km2"] == pytest.approx(9870, rel=0.01)
    assert [c["name"] for c in body["classes"]] == ["very_low", "low", "medium", "high",
                                                    "very_high"]
    risk = body["layers"]["risk"]
    assert risk["min"] <= risk["mean"] <= risk["max"] and risk["p50"] <= risk["p90"]
    # Cells where no one is exposed are in no class: the classes and "not exposed" add up.
    assert 0 < risk["not_exposed_share"] < 1
    assert sum(risk["class_shares"].values()) + risk["not_exposed_share"] == pytest.approx(
        1.0, abs=1e-3)
    assert body["layers"]["risk_class"]["class_shares"] == risk["class_shares"]
    assert body["layers"]["risk_class"]["not_exposed_share"] == risk["not_exposed_share"]
    incidents = gpd.read_parquet(run_folder / "incidents.parquet")
    inside = incidents[incidents.intersects(shapely.geometry.shape(BOX))]
    stats = body["layers"]["incidents"]
    assert stats["features"] == len(inside)
    assert stats["total"] == pytest.approx(inside["total_dead_missing"].sum())
    assert body["layers"]["route_segments"]["features"] > 0
    assert body["layers"]["crossings"]["total"] > 0


def test_datetime_restricts_count_layers(client: TestClient, run_folder: Path) -> None:
    incidents = gpd.read_parquet(run_folder / "incidents.parquet")
    dates = incidents["date"].astype(str).str.slice(0, 4)
    inside = incidents[incidents.intersects(shapely.geometry.shape(BOX)) & (dates == "2023")]
    body = analyse(client, {"geometry": BOX, "layers": ["incidents", "stations"],
                            "datetime": "2023-01-01/2023-12-31"})
    assert body["layers"]["incidents"]["features"] == len(inside)
    assert body["layers"]["incidents"]["datetime_applied"] is True
    assert body["layers"]["stations"]["datetime_applied"] is False


def test_an_area_outside_the_rasters(client: TestClient) -> None:
    far = {"type": "Polygon", "coordinates": [[[10, 10], [10.1, 10], [10.1, 10.1], [10, 10]]]}
    stats = analyse(client, {"geometry": far, "layers": ["risk", "incidents"]})["layers"]
    assert stats["risk"]["mean"] is None and stats["risk"]["cells"] == 0
    assert stats["incidents"]["features"] == 0 and stats["incidents"]["total"] == 0


def test_a_bow_tie_is_repaired(client: TestClient) -> None:
    bow = {"type": "Polygon", "coordinates": [[[-78, 8], [-77.5, 8.5], [-77.5, 8], [-78, 8.5],
                                               [-78, 8]]]}
    body = analyse(client, {"geometry": bow})
    assert body["repaired"] is True and body["area_km2"] > 0


def ring(n: int, radius: float = 0.1) -> list[list[float]]:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = [[-77.5 + radius * np.cos(a), 8.2 + radius * np.sin(a)] for a in angles]
    return [*points, points[0]]


@pytest.mark.parametrize(("body", "status", "parameter"), [
    ({"geometry": {"type": "Point", "coordinates": [-77, 8]}}, 400, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[-77, 8], [-76, 8], [-76, 9]]]}},
     400, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": "nope"}}, 400, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": [[["a", 8], [-76, 8], [-76, 9],
                                                       ["a", 8]]]}}, 400, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[-77, 95], [-76, 95], [-76, 96],
                                                       [-77, 95]]]}}, 400, "geometry"),
    ({"geometry": {"type": "Feature", "geometry": None}}, 400, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}},
     400, "geometry"),
    ({"layers": ["risk"]}, 400, "geometry"),
    ({"geometry": BOX, "layers": ["nope"]}, 400, "layers"),
    ({"geometry": BOX, "layers": []}, 400, "layers"),
    ({"geometry": BOX, "datetime": "soon"}, 400, "datetime"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[-100, -40], [-40, -40], [-40, 20],
                                                       [-100, 20], [-100, -40]]]}},
     422, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": [ring(100_001, 0.05)]}}, 422, "geometry"),
])
def test_bad_analysis_requests_are_named_problems(client: TestClient, body: dict[str, Any],
                                                  status: int, parameter: str) -> None:
    response = client.post("/analysis", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["parameter"] == parameter


def test_body_limits(client: TestClient) -> None:
    response = client.post("/analysis", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["parameter"] == "body"
    big = b'{"geometry": ' + b" " * (6 * 1024 * 1024) + b"}"
    response = client.post("/analysis", content=big)
    assert response.status_code == 413 and response.headers["content-type"] == PROBLEM

    def chunks() -> Any:  # no Content-Length: the limit still holds while reading
        for _ in range(7):
            yield b" " * (1024 * 1024)

    response = client.post("/analysis", content=chunks())
    assert response.status_code == 413


def star(vertices: int, radius: float = 0.2) -> list[list[float]]:
    """A self-intersecting star: vertex i at angle i·k·2π/n with k ≈ n/2, so nearly every
    edge crosses every other (repair is quadratic or worse in n)."""
    step = vertices // 2
    points = [[-77.8 + radius * np.cos(2 * np.pi * step * i / vertices),
               8.3 + radius * np.sin(2 * np.pi * step * i / vertices)]
              for i in range(vertices)]
    return [*points, points[0]]


@pytest.mark.parametrize("vertices", [201, 1_001, 9_999])
def test_invalid_polygons_over_the_repair_limit_are_refused_unrepaired(
        client: TestClient, vertices: int) -> None:
    # 201: checked before the work pool; 9,999: validated inside it (over 5,000 vertices).
    response = client.post("/analysis", json={"geometry": {
        "type": "Polygon", "coordinates": [star(vertices)]}})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["parameter"] == "geometry"
    assert f"has {vertices + 1} vertices" in body["detail"]  # the ring closes: one more
    assert "repaired up to 200 vertices" in body["detail"]


def test_invalid_polygons_within_the_repair_limit_are_repaired(client: TestClient) -> None:
    body = analyse(client, {"geometry": {"type": "Polygon", "coordinates": [star(151)]}})
    assert body["repaired"] is True and body["vertices"] == 152
    # The star's repaired outline is its 151-point star shape: smaller than the circle it
    # spans (radius 0.2°), and not empty.
    circle_km2 = np.pi * (0.2 * 111.32) ** 2 * np.cos(np.radians(8.3))
    assert 0 < body["area_km2"] < circle_km2


def test_deeply_nested_json_is_a_400_not_a_crash(client: TestClient) -> None:
    for body in (b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000,
                 b'{"geometry": ' + b"[" * 50 + b"]" * 50 + b"}"):
        response = client.post("/analysis", content=body,
                               headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text[:200]
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["parameter"] == "body"


def test_statistics_state_their_resolution(client: TestClient, run_folder: Path) -> None:
    import rasterio

    with rasterio.open(run_folder / "risk.tif") as src:
        cell = abs(src.transform.a)
    stats = analyse(client, {"geometry": BOX, "layers": ["risk"]})["layers"]["risk"]
    assert stats["resolution"] == {"x": cell, "y": cell, "units": "metre",
                                   "overview_factor": 1}


def test_many_crossings_are_found_before_the_work_pool() -> None:
    from geo_service.features.zonal import crossing_found

    assert crossing_found(shapely.Polygon(star(99_997)))
    assert not crossing_found(shapely.Point(-77.8, 8.3).buffer(0.2, quad_segs=5_000))
    # One crossing between the sampled edges is not found here...
    circle = ring(10_000)
    circle[80], circle[81] = circle[81], circle[80]
    assert not crossing_found(shapely.Polygon(circle))


def test_a_crossing_the_samples_miss_is_still_refused(client: TestClient) -> None:
    circle = ring(10_000)
    circle[80], circle[81] = circle[81], circle[80]  # a tiny bow tie in a 10,000-gon
    response = client.post("/analysis", json={"geometry": {"type": "Polygon",
                                                           "coordinates": [circle]}})
    assert response.status_code == 422  # ...but by the validity check in the work pool
    assert "has 10001 vertices" in response.json()["detail"]
