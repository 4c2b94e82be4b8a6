"""Surfaces of `pipelines.mobility` against numbers worked out by hand: the demo's station loads
from its flows file and capacities, and joins that fail, naming their keys, instead of
leaving a silent 0."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from affine import Affine
from pyproj import CRS
from rasterio.transform import rowcol

from data_catalog.paths import DataDir
from pipelines import mobility
from pipelines.config import load_region
from pipelines.errors import UnmatchedKeys
from pipelines.grid import Grid
from pipelines.inputs import check_inputs, provenance, read_vectors

DEMO = Path(__file__).resolve().parents[2] / "data_catalog" / "demo" / "regions" / "darien"


def _demo_vectors(demo_inputs: Path) -> tuple[Grid, dict[str, gpd.GeoDataFrame]]:
    config = load_region("darien")
    data = DataDir(demo_inputs)
    grid = Grid.from_spec(config.grid)
    records = provenance(config, data.inputs, data)
    vectors = read_vectors(config, check_inputs(config, data.inputs), grid.crs, records)
    return grid, vectors


def test_the_three_darien_station_loads_of_2023(demo_inputs: Path) -> None:
    # By hand, from the demo's own files: every northbound person of 2023 walks N3 into Bajo
    # Chiquito, boats N4 into Lajas Blancas and rides N5 into San Vicente (share 1.0 each).
    flows = yaml.safe_load((DEMO / "flows.yaml").read_text(encoding="utf-8"))
    people_2023 = flows["streams"][0]["yearly_totals"][2023]
    assert people_2023 == 520085
    with (DEMO / "stations.csv").open(encoding="utf-8") as handle:
        capacity = {r["station_id"]: int(r["capacity"]) for r in csv.DictReader(handle)
                    if r["capacity"]}
    expected = {station: people_2023 / 365 / places for station, places in capacity.items()}
    assert expected["ERM-BCH"] == pytest.approx(2.85, abs=0.005)
    assert expected["ERM-SV"] == pytest.approx(1.42, abs=0.01)
    assert expected["ERM-LB"] == pytest.approx(0.95, abs=0.005)

    grid, vectors = _demo_vectors(demo_inputs)
    segments, stations = vectors["route_segments"], vectors["stations"]
    people = mobility.segment_people(segments, vectors["crossings"], 2023)
    load = mobility.station_load(grid, stations, segments, people)
    for station_id, value in expected.items():
        point = stations.loc[stations["station_id"] == station_id].geometry.iloc[0]
        row, col = rowcol(grid.transform, point.x, point.y)
        assert load[row, col] == pytest.approx(value, rel=1e-9), station_id


# --- a toy grid: 3 stations on a line, 4 km cells ---------------------------------------------

GRID = Grid(CRS.from_epsg(32618), Affine(4000, 0, 0, 0, -4000, 4000), 1, 3)
"""One row of three cells whose centres are at x = 2, 6 and 10 km."""


def _stations(capacity: tuple[float | None, ...] = (100.0, 50.0, None)) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"station_id": ["ST-A", "ST-B", "HP-C"], "name": ["A", "B", "C"],
         "kind": ["reception_station", "reception_station", "health_post"],
         "capacity": list(capacity)},
        geometry=shapely.points([(2000, 2000), (6000, 2000), (10000, 2000)]),
        crs="EPSG:32618")


def _segments(ends: list[str | None], flow_points: list[str] | None = None
              ) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"segment_id": [f"S{i}" for i in range(len(ends))], "to_station_id": ends,
         "direction": ["northbound"] * len(ends), "share": [1.0] * len(ends),
         "to_place": ["A", "B", "C", "D"][:len(ends)]},
        geometry=[shapely.LineString([(0, 0), (1, 1)])] * len(ends), crs="EPSG:32618")
    if flow_points is not None:
        frame["flow_points"] = flow_points
    return frame


def test_station_load_by_station_id_and_nearest_station() -> None:
    # 36,500 people/year into A (capacity 100): 36500 / 365 / 100 = 1.0 a day per place;
    # 36,500 into B (capacity 50): 36500 / 365 / 50 = 2.0. The third segment ends nowhere.
    segments = _segments(["ST-A", "ST-B", None])
    people = np.array([36500.0, 36500.0, 99999.0])
    load = mobility.station_load(GRID, _stations(), segments, people)
    # The third cell's nearest *reception* station is B (the health post has no capacity).
    np.testing.assert_allclose(load, [[1.0, 2.0, 2.0]])


def test_a_reception_station_no_segment_ends_at_fails_naming_it() -> None:
    segments = _segments(["ST-A", None])
    with pytest.raises(UnmatchedKeys, match=r"reception station\(s\) ST-B have a capacity"):
        mobility.station_load(GRID, _stations(), segments, np.array([1.0, 1.0]))


def test_a_station_without_capacity_need_not_be_matched() -> None:
    segments = _segments(["ST-A", None])
    load = mobility.station_load(GRID, _stations((100.0, None, None)), segments,
                                 np.array([36500.0, 5.0]))
    np.testing.assert_allclose(load, [[1.0, 1.0, 1.0]])


def test_a_segment_naming_an_unknown_station_fails_naming_it() -> None:
    segments = _segments(["ST-A", "ST-B", "ST-ZZ"])
    with pytest.raises(UnmatchedKeys, match="ST-ZZ"):
        mobility.station_load(GRID, _stations(), segments, np.ones(3))


def test_matching_by_place_name_is_gone() -> None:
    # Segments naming only a place (the old join, which matched nothing) now fail outright.
    segments = _segments(["ST-A", "ST-B"]).drop(columns="to_station_id")
    with pytest.raises(UnmatchedKeys, match="to_station_id"):
        mobility.station_load(GRID, _stations(), segments, np.ones(2))


CROSSINGS = pd.DataFrame({
    "point_id": ["PA-A", "PA-B", "CO-C"], "direction": ["northbound", "northbound",
                                                        "southbound"],
    "month": ["2023-01"] * 3, "total": [10.0, 20.0, 5.0]})


def test_every_counted_point_is_carried_by_a_segment() -> None:
    # A northbound segment without flow_points carries PA-A and PA-B; nothing carries CO-C.
    with pytest.raises(UnmatchedKeys, match="CO-C") as caught:
        mobility.check_points_carried(_segments([None]), CROSSINGS)
    assert "PA-A" not in str(caught.value)
    both = _segments([None, None])
    both.loc[1, "direction"] = "southbound"
    mobility.check_points_carried(both, CROSSINGS)


def test_points_listed_by_segments_must_be_counted() -> None:
    segments = _segments([None, None], flow_points=["PA-A PA-B", "CO-C PA-X"])
    with pytest.raises(UnmatchedKeys, match="PA-X"):
        mobility.check_points_carried(segments, CROSSINGS)
    listed_only = _segments([None], flow_points=["PA-A"])
    with pytest.raises(UnmatchedKeys, match="CO-C, PA-B"):
        mobility.check_points_carried(listed_only, CROSSINGS)


def test_a_run_with_an_unmatched_station_fails_naming_it(demo_run: Path,
                                                         copy_data_dir) -> None:
    from pipelines.run import run

    root = copy_data_dir(demo_run)
    data = DataDir(root)
    before = data.current_run()
    config = load_region("darien")
    path = data.inputs / config.inputs["route_segments"].path
    collection = json.loads(path.read_text(encoding="utf-8"))
    for feature in collection["features"]:
        if feature["properties"]["to_station_id"] == "ERM-SV":
            feature["properties"]["to_station_id"] = None
    path.write_text(json.dumps(collection), encoding="utf-8")
    with pytest.raises(UnmatchedKeys, match="ERM-SV"):
        run(config, data)
    assert data.current_run() == before


def test_kernel_density_and_transit_units_by_hand() -> None:
    # One segment in one cell, no spreading wider than the cell: 1,600 people over a 16 km²
    # cell is 100 people/km²/year where the line runs (the kernel spreads within 3 sigma).
    grid = Grid(CRS.from_epsg(32618), Affine(4000, 0, 0, 0, -4000, 4000), 1, 1)
    segments = gpd.GeoDataFrame(geometry=[shapely.LineString([(1000, 2000), (3000, 2000)])],
                                crs="EPSG:32618")
    surface = mobility.transit_pressure(grid, segments, np.array([1600.0]), kernel_km=0.001)
    np.testing.assert_allclose(surface, [[100.0]])
