"""Hazard levels of areas from real GeoTIFFs written here, and the roll-up from ADM2 to ADM1,
against levels worked out by hand."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from pipelines import area_record as col
from pipelines.admin_units import parents_of, roll_up, roll_up_levels
from pipelines.config import HazardLevelSpec, load_region
from pipelines.hazard_levels import (
    flood_levels,
    hazard_level,
    threshold_levels,
)

CRS = "EPSG:32618"
WEST, NORTH, CELL = 500_000.0, 1_002_000.0, 100.0
"""A 20 × 20 raster of 100 m cells; each quadrant (10 × 10 = 100 cells) is one toy area."""


def _quadrant(col0: int, row0: int, cols: int = 10, rows: int = 10) -> shapely.Polygon:
    x0, y0 = WEST + col0 * CELL, NORTH - row0 * CELL
    return shapely.box(x0, y0 - rows * CELL, x0 + cols * CELL, y0)


A, B = _quadrant(0, 0), _quadrant(0, 10)      # top left, bottom left
C, D = _quadrant(10, 0), _quadrant(10, 10)    # top right, bottom right
LEFT = _quadrant(0, 0, rows=20)               # A ∪ B: 200 cells


def _write(path: Path, values: np.ndarray) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=1,
                       dtype="float32", crs=CRS, transform=from_origin(WEST, NORTH, CELL, CELL),
                       nodata=-9999.0) as dst:
        dst.write(np.where(np.isnan(values), -9999.0, values).astype("float32"), 1)
    return path


@pytest.fixture
def depths(tmp_path: Path) -> dict[str, Path]:
    """Depths (m) by return period: A floods at RP10 (1 cell), B at RP50 (2 cells), C only at
    RP500 (2 cells), D never reaches 0.5 m and half of it is sea (nodata)."""
    rp10 = np.zeros((20, 20))
    rp10[0, 0] = 0.6                       # A: 1 of 100 cells ≥ 0.5 m
    rp10[15, 5] = 0.49                     # B: below the threshold
    rp50 = rp10.copy()
    rp50[12, 2] = rp50[12, 3] = 0.7        # B: 2 of 100
    rp50[1, 1] = rp50[1, 2] = 0.8          # A: 3 of 100 with (0, 0)
    rp500 = rp50.copy()
    rp500[5, 15] = rp500[6, 15] = 1.2      # C: 2 of 100
    for grid in (rp10, rp50, rp500):
        grid[10:15, 10:20] = np.nan        # D: 50 cells of sea
        grid[16, 16] = 0.45                # D: below the threshold
    return {"rp10": _write(tmp_path / "rp10.tif", rp10),
            "rp50": _write(tmp_path / "rp50.tif", rp50),
            "rp500": _write(tmp_path / "rp500.tif", rp500)}


FLOOD = HazardLevelSpec(method="flood_share", threshold=0.5, min_share=0.01,
                        inputs={"high": "rp10", "medium": "rp50", "low": "rp500"})


def test_flood_levels_of_a_toy_raster_at_each_return_period(depths: dict[str, Path]) -> None:
    areas = gpd.GeoSeries([A, B, C, D, LEFT], crs=CRS)
    levels, shares = hazard_level(FLOOD, areas, depths)
    # Shares flooded ≥ 0.5 m, of each area's cells with data:
    #   A: RP10 1/100, RP50 3/100, RP500 3/100          → high
    #   B: RP10 0/100, RP50 2/100, RP500 2/100          → medium
    #   C: RP10 0,     RP50 0,     RP500 2/100          → low
    #   D: nothing ≥ 0.5 m over its 50 land cells        → very low
    #   A ∪ B: RP10 1/200 = 0.5 % < 1 %, RP50 5/200      → medium
    assert shares["high"] == pytest.approx([0.01, 0.0, 0.0, 0.0, 0.005])
    assert shares["medium"] == pytest.approx([0.03, 0.02, 0.0, 0.0, 0.025])
    assert shares["low"] == pytest.approx([0.03, 0.02, 0.02, 0.0, 0.025])
    assert levels == ["high", "medium", "low", "very_low", "medium"]


def test_partly_covered_cells_count_by_their_covered_fraction(
        depths: dict[str, Path]) -> None:
    # The top row of A only, cut through the middle of its cells: 10 half cells, the
    # flooded (0, 0) among them → share 0.5 / 5 = 10 %.
    strip = shapely.box(WEST, NORTH - 50, WEST + 1000, NORTH)
    _, shares = hazard_level(FLOOD, gpd.GeoSeries([strip], crs=CRS), depths)
    assert shares["high"][0] == pytest.approx(0.1)


def test_an_area_without_data_has_no_level() -> None:
    assert flood_levels({"high": np.array([np.nan]), "low": np.array([np.nan])}, 0.01) == [None]


def test_threshold_levels_take_the_highest_level_reached() -> None:
    levels = threshold_levels(np.array([0.1, 0.3, 0.55, 0.7, np.nan]),
                              {"high": 0.7, "medium": 0.5, "low": 0.3})
    assert levels == ["very_low", "low", "medium", "high", None]


def test_threshold_level_of_a_raster_statistic(depths: dict[str, Path]) -> None:
    spec = HazardLevelSpec(method="threshold", input="rp500", statistic="max",
                           thresholds={"high": 1.0, "medium": 0.65, "low": 0.5})
    levels, _ = hazard_level(spec, gpd.GeoSeries([A, B, C, D], crs=CRS),
                             {"rp500": depths["rp500"]})
    # max depth: A 0.8, B 0.7, C 1.2, D 0.45 (float32: compare with margins)
    assert levels == ["medium", "medium", "high", "very_low"]


def test_roll_up_takes_the_highest_level_of_the_units_inside() -> None:
    # Two provinces: P0 holds districts d0 (low), d1 (high), d2 (no data); P1 holds d3
    # (very low); P2 holds none and keeps its own level.
    provinces = gpd.GeoSeries([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10),
                               shapely.box(20, 0, 30, 10)], crs="EPSG:4326")
    districts = gpd.GeoSeries([shapely.box(0, 0, 5, 5), shapely.box(5, 5, 10, 10),
                               shapely.box(0, 5, 5, 10),
                               # overhangs P0 a little; its representative point is in P1
                               shapely.box(9, 0, 20, 10)], crs="EPSG:4326")
    mapping = parents_of(districts, provinces)
    assert mapping.tolist() == [0, 0, 0, 1]
    levels = roll_up(["very_low", "high", "medium"], ["low", "high", None, "very_low"], mapping)
    assert levels == ["high", "very_low", "medium"]


def test_roll_up_levels_of_scored_areas() -> None:
    config = load_region("darien")
    config = type(config).model_validate({
        **config.model_dump(by_alias=True),
        "areas": {**config.model_dump(by_alias=True)["areas"],
                  "adm2": {"from": "countries", "kind": "adm2"},
                  "adm1": {"from": "countries", "kind": "adm1", "roll_up_from": "adm2"}}})
    frame = gpd.GeoDataFrame({
        col.ID: ["p", "d0", "d1"], col.AREA_SET: ["adm1", "adm2", "adm2"],
        "hazard_level_flood": ["low", "medium", "very_low"],
        "hazard_level_heat": ["high", "low", "low"],
    }, geometry=[shapely.box(0, 0, 2, 2), shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)],
        crs="EPSG:4326")
    out = roll_up_levels(frame, config)
    # The province takes the highest of its districts, even when its own is higher (heat):
    # the roll-up replaces the province's own level whenever it has districts.
    assert out["hazard_level_flood"].tolist() == ["medium", "medium", "very_low"]
    assert out["hazard_level_heat"].tolist() == ["low", "low", "low"]
