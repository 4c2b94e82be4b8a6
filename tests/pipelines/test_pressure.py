"""Capacity ratio, waste load and the area's environmental pressure on a toy area, by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipelines import area_record as col
from pipelines.config import load_region
from pipelines.pressure import (
    apply_pressure,
    capacity_ratio,
    people_crossing,
    pressure_combiner,
    waste_load_t,
)

CRS = "EPSG:32618"
PARK = shapely.box(0, 0, 10_000, 10_000)          # 10 km × 10 km, metres
FIELD = shapely.box(20_000, 0, 30_000, 10_000)    # crossed by the second stage only
EMPTY = shapely.box(50_000, 50_000, 60_000, 60_000)  # crossed by nothing
EDGE = shapely.box(-5_000, 12_000, 0, 14_000)     # a line only touches its edge


def _line(x0: float, y0: float, x1: float, y1: float) -> shapely.LineString:
    return shapely.LineString([(x0, y0), (x1, y1)])


SEGMENTS = gpd.GeoDataFrame({
    "segment_id": ["N1a", "N1b", "N2", "S1", "T"],
    "direction": ["northbound", "northbound", "northbound", "southbound", "northbound"],
    "share": [0.6, 0.4, 1.0, 1.0, 0.0],
    "order": [1, 1, 2, 1, 9],
}, geometry=[
    _line(-1_000, 2_000, 5_000, 2_000),    # stage 1, branch a: enters the park
    _line(-1_000, 8_000, 5_000, 8_000),    # stage 1, branch b: enters the park
    _line(5_000, 5_000, 25_000, 5_000),    # stage 2: through the park and the field
    _line(9_000, -1_000, 9_000, 11_000),   # southbound: through the park
    _line(0, 12_000, 0, 14_000),           # along EDGE's boundary only (no length inside)
], crs=CRS)

CROSSINGS = pd.DataFrame({
    "month": ["2023-01", "2023-02", "2023-06", "2022-06"],
    "point_id": ["A", "A", "B", "A"],
    "direction": ["northbound", "northbound", "southbound", "northbound"],
    "total": [200_000, 165_000, 36_500, 999_999],
})
"""2023: 365,000 northbound, 36,500 southbound (2022 is another year)."""


def test_people_crossing_counts_the_largest_stage_and_adds_directions() -> None:
    people = np.array([0.6 * 365_000, 0.4 * 365_000, 365_000, 36_500, 365_000])
    areas = gpd.GeoSeries([PARK, FIELD, EMPTY, EDGE], crs=CRS)
    crossing = people_crossing(areas, SEGMENTS, people)
    # Park: stage 1 = 219,000 + 146,000 = 365,000; stage 2 = 365,000 → max 365,000;
    # plus 36,500 southbound = 401,500. Field: stage 2 only. Edge: touched, not crossed.
    assert crossing.tolist() == [401_500.0, 365_000.0, 0.0, 0.0]


def test_capacity_ratio_and_waste_load_by_hand() -> None:
    people = np.array([401_500.0, 365_000.0, 0.0])
    ratio = capacity_ratio(people, np.array([100.0, np.nan, 50.0]), 2023)
    # 401,500 / 365 days = 1,100 people/day over 100 people/day.
    assert ratio[0] == pytest.approx(11.0)
    assert np.isnan(ratio[1])
    assert ratio[2] == 0.0
    assert capacity_ratio(np.array([366.0]), np.array([1.0]), 2024)[0] == pytest.approx(1.0)
    # 401,500 people × 9 kg = 3,613.5 t; 365,000 × 9 kg = 3,285 t.
    assert waste_load_t(people, 9.0).tolist() == pytest.approx([3_613.5, 3_285.0, 0.0])


def test_area_pressure_combines_cells_capacity_and_waste_by_weight() -> None:
    base = load_region("darien")
    config = type(base).model_validate({**base.model_dump(by_alias=True), "pressure": {
        "segments": "route_segments", "flows": "crossings", "year": 2023,
        "waste_kg_per_person": 9.0,
        "capacities": {"t:park": {"people_per_day": 100.0, "source": "toy"}},
        "cells_weight": 0.2,
        "capacity_ratio": {"min": 0.0, "max": 20.0, "weight": 0.4},
        "waste_load": {"min": 0.0, "max": 7_227.0, "weight": 0.4},
    }})
    scored = gpd.GeoDataFrame({col.ID: ["t:park", "t:field", "t:empty"],
                               col.PRESSURE: [2.0, 3.0, 1.5]},
                              geometry=[PARK, FIELD, EMPTY], crs=CRS).to_crs("EPSG:4326")
    out = apply_pressure(scored, {"route_segments": SEGMENTS, "crossings": CROSSINGS}, config)
    park, field, empty = (out.iloc[i] for i in range(3))
    assert park[col.PEOPLE_CROSSING] == pytest.approx(401_500.0)
    assert park[col.CAPACITY_RATIO] == pytest.approx(11.0)
    assert park[col.WASTE_LOAD] == pytest.approx(3_613.5)
    # 0–10: ratio 11 of 0–20 → 5.5; waste 3,613.5 of 0–7,227 t → 5.0.
    assert park[col.IND_CAPACITY_RATIO] == pytest.approx(5.5, abs=1e-5)
    assert park[col.IND_WASTE_LOAD] == pytest.approx(5.0, abs=1e-5)
    # (0.2·2.0 + 0.4·5.5 + 0.4·5.0) / 1.0 = 4.6
    assert park[col.PRESSURE] == pytest.approx(4.6, abs=1e-5)
    assert park[col.PRESSURE_CELLS] == 2.0
    # No published capacity: the ratio is missing and drops out with its weight.
    # Waste 3,285 t → 10 · 3,285 / 7,227; (0.2·3.0 + 0.4·4.5455) / 0.6
    assert np.isnan(field[col.CAPACITY_RATIO]) and np.isnan(field[col.CARRYING_CAPACITY])
    assert field[col.PRESSURE] == pytest.approx(
        (0.2 * 3.0 + 0.4 * 10 * 3_285 / 7_227) / 0.6, abs=1e-5)
    assert empty[col.PEOPLE_CROSSING] == 0.0
    assert empty[col.PRESSURE] == pytest.approx(0.2 * 1.5 / 0.6, abs=1e-6)

    # The audit's draws of the cells' pressure are combined with the same figures, as the run
    # combines them: the park's reference row gives its served 4.6; a draw of 7.0 gives
    # (0.2·7.0 + 0.4·5.5 + 0.4·5.0) / 1.0 = 5.6; the field, without a capacity, (0.2·c +
    # 0.4·w) / 0.6 with w = 10 · 3,285 / 7,227.
    combine = pressure_combiner(out, config)
    assert combine is not None
    drawn = combine(np.array([[2.0, 3.0, 1.5], [7.0, 0.0, 0.0]]))
    waste = 10 * 3_285 / 7_227
    assert drawn[0] == pytest.approx(out[col.PRESSURE].to_numpy(), abs=1e-5)
    assert drawn[1] == pytest.approx([5.6, 0.4 * waste / 0.6, 0.0], abs=1e-5)


def test_darien_park_carries_the_ministry_figures() -> None:
    spec = load_region("darien").pressure
    assert spec is not None
    assert spec.capacities["wdpa:900001"].people_per_day == 102
    assert spec.waste_kg_per_person == pytest.approx(9.07, abs=0.01)   # 20 lb


def test_kinds_outside_the_pressure_keep_the_cells_pressure() -> None:
    base = load_region("darien")
    assert base.pressure is not None and base.pressure.kinds is not None
    assert "planning_unit" not in base.pressure.kinds
    scored = gpd.GeoDataFrame({col.ID: ["wdpa:900001", "h3:x"],
                               col.KIND: ["protected_area", "planning_unit"],
                               col.PRESSURE: [2.0, 3.0]},
                              geometry=[PARK, PARK], crs=CRS).to_crs("EPSG:4326")
    segments = SEGMENTS.assign(mode="foot")
    out = apply_pressure(scored, {"route_segments": segments, "crossings": CROSSINGS}, base)
    # The same outline: the park gets the figures, the planning unit keeps its 3.0.
    assert out[col.PEOPLE_CROSSING].iloc[0] == pytest.approx(401_500.0)
    assert out[col.CAPACITY_RATIO].iloc[0] == pytest.approx(401_500 / 365 / 102)
    assert out[col.PRESSURE].iloc[1] == 3.0 and out[col.PRESSURE_CELLS].iloc[1] == 3.0
    assert np.isnan(out[col.PEOPLE_CROSSING].iloc[1])
    assert out[col.ID].tolist() == ["wdpa:900001", "h3:x"]
