"""People crossing an area by month and events by year, on toy tables computed by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipelines.area_series import monthly_crossing, transit_inputs, yearly_counts
from pipelines.mobility import segment_people

AREA = shapely.box(0, 0, 10, 10)


def _segments(rows: list[tuple[str, float, int, tuple[float, float, float, float]]],
              flow_points: list[str] | None = None) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({
        "direction": [r[0] for r in rows], "share": [r[1] for r in rows],
        "order": [r[2] for r in rows]},
        geometry=[shapely.LineString([r[3][:2], r[3][2:]]) for r in rows], crs="EPSG:4326")
    if flow_points is not None:
        frame["flow_points"] = flow_points
    return frame


CROSSINGS = pd.DataFrame({
    "month": ["2023-01", "2023-01", "2023-02", "2023-02", "2023-03"],
    "point_id": ["PA-A", "PA-B", "PA-A", "PA-B", "PA-A"],
    "direction": ["northbound", "northbound", "northbound", "northbound", "southbound"],
    "total": [1000, 500, None, 300, 70],
})
"""January: 1,500 northbound; February: A withheld, B 300; March: 70 southbound only."""


def test_branches_of_a_stage_add_up_and_stages_do_not() -> None:
    segments = _segments([
        ("northbound", 0.6, 1, (1, 1, 2, 2)),    # branch a of stage 1, inside
        ("northbound", 0.4, 1, (3, 3, 4, 4)),    # branch b of stage 1, inside
        ("northbound", 1.0, 2, (5, 5, 6, 6)),    # stage 2, inside: the same people again
        ("southbound", 1.0, 1, (20, 20, 21, 21)),  # outside the area
    ])
    people = monthly_crossing(segments, CROSSINGS, AREA)
    # January: max(0.6·1500 + 0.4·1500, 1.0·1500) = 1500; February: 300 (A withheld counts 0);
    # March: nobody northbound; the southbound segment is outside.
    assert people.to_dict() == {"2023-01": 1500.0, "2023-02": 300.0, "2023-03": 0.0}


def test_one_branch_inside_carries_its_share() -> None:
    segments = _segments([("northbound", 0.6, 1, (1, 1, 2, 2)),
                          ("northbound", 0.4, 1, (30, 30, 31, 31))])
    people = monthly_crossing(segments, CROSSINGS, AREA)
    assert people["2023-01"] == pytest.approx(900.0) and people["2023-02"] == pytest.approx(180)


def test_segments_with_flow_points_follow_those_points() -> None:
    segments = _segments([("northbound", 0.5, 1, (1, 1, 2, 2))], flow_points=["PA-B"])
    people = monthly_crossing(segments, CROSSINGS, AREA)
    assert people.to_dict() == {"2023-01": 250.0, "2023-02": 150.0, "2023-03": 0.0}


def test_yearly_sums_follow_the_transit_surface_rule() -> None:
    """Summed over a year, each single segment carries what `segment_people` gives it."""
    segments = _segments([("northbound", 0.6, 1, (1, 1, 2, 2)),
                          ("southbound", 0.25, 1, (3, 3, 4, 4))])
    people = monthly_crossing(segments, CROSSINGS, AREA)
    expected = segment_people(segments, CROSSINGS, 2023).sum()
    assert people.sum() == pytest.approx(expected) == pytest.approx(0.6 * 1800 + 0.25 * 70)


def test_an_area_without_segments_has_zero_in_every_month() -> None:
    segments = _segments([("northbound", 1.0, 1, (50, 50, 51, 51))])
    people = monthly_crossing(segments, CROSSINGS, AREA)
    assert list(people.index) == ["2023-01", "2023-02", "2023-03"] and people.sum() == 0


def test_yearly_counts_inside_the_area() -> None:
    points = gpd.GeoDataFrame({
        "date": ["2021-05-01", "2021-12-31", "2023-01-02", "2023-06-01", "bad"],
        "dead": [2, 1, 4, np.nan, 9]},
        geometry=[shapely.Point(1, 1), shapely.Point(2, 2), shapely.Point(3, 3),
                  shapely.Point(4, 4), shapely.Point(40, 40)], crs="EPSG:4326")
    counts = yearly_counts(points, "dead", "date", AREA)
    assert counts.to_dict() == {2021: 3.0, 2023: 4.0}


def test_transit_inputs_come_from_the_recorded_config() -> None:
    config = {"surfaces": {
        "a": {"function": "kernel_density", "inputs": {"points": "x"}},
        "b": {"function": "transit_pressure", "inputs": {"segments": "roads_of_people",
                                                         "flows": "counts"}}}}
    assert transit_inputs(config) == ("roads_of_people", "counts")
    assert transit_inputs({"surfaces": {}}) is None
