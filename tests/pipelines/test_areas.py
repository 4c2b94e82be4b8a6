"""`pipelines.areas` against grids worked out by hand: exposed share, the ranking statistic,
`not_exposed` areas without a rank, ties at the average rank, and drivers by neutralisation."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipelines import area_record as col
from pipelines.areas import CoverageTable, driver_drops, rank_desc, score_areas, top_drivers
from pipelines.config import IndicatorSpec, parse_region
from pipelines.score import score_cells
from pipelines.sensitivity import audit
from tests.pipelines.test_score_golden import small_config

NAN = np.nan

# --- a 3×3 grid with unexposed cells ---------------------------------------------------------
#
#   risk (x = not exposed: exposure 0, so risk 0)      areas (whole cells, coverage 1)
#     2   4   x                                          left   = column 0: 2, 6, 8
#     6   x   x                                          middle = column 1: 4, x, 4
#     8   4   x                                          right  = column 2: x, x, x
#                                                        square = top-left 2×2: 2, 4, 6, x

RISK = np.array([[2, 4, 0], [6, 0, 0], [8, 4, 0]], dtype="float32")
EXPOSURE = np.array([[5, 5, 0], [5, 0, 0], [5, 5, 0]], dtype="float32")
CELLS = {"left": [0, 3, 6], "middle": [1, 4, 7], "right": [2, 5, 8], "square": [0, 1, 3, 4]}


def _table() -> CoverageTable:
    area = np.concatenate([[i] * len(c) for i, c in enumerate(CELLS.values())])
    cell = np.concatenate(list(CELLS.values()))
    return CoverageTable(area, cell, np.ones(len(cell)), len(CELLS))


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {col.ID: list(CELLS), col.NAME: list(CELLS), col.KIND: "unit", col.AREA_SET: "units"},
        geometry=[shapely.box(-78, 8, -77.99, 8.01)] * len(CELLS), crs="EPSG:4326")


def _indicators() -> dict[str, np.ndarray]:
    # Every indicator of a cell at its risk value makes H_nat = exposure = V = C = that value,
    # so its risk is that value; transit 0 where not exposed.
    flat = RISK.ravel().astype("float32")
    return {"flood": flat, "heat": flat, "transit": EXPOSURE.ravel() * (flat > 0),
            "children": flat, "distance": flat, "forest": flat}


def _scored(statistic: str = "mean_exposed") -> gpd.GeoDataFrame:
    config = parse_region(small_config(ranking={"statistic": statistic}))
    zeros = np.zeros((3, 3), dtype="float32")
    scores = {"risk": RISK, "exposure": EXPOSURE, "H": RISK, "V": RISK, "C": RISK, "E": zeros,
              "H_nat": RISK, "environmental_pressure": zeros}
    return score_areas(_frame(), _table(), scores, _indicators(), config).set_index(col.ID)


def test_exposed_share_and_the_statistics_of_each_area() -> None:
    scored = _scored()
    assert scored[col.EXPOSED_SHARE].to_dict() == {
        "left": 1.0, "middle": 2 / 3, "right": 0.0, "square": 3 / 4}
    assert scored[col.RISK_MEAN_EXPOSED].to_dict() == pytest.approx(
        {"left": (2 + 6 + 8) / 3, "middle": (4 + 4) / 2, "right": NAN, "square": (2 + 4 + 6) / 3},
        nan_ok=True)
    assert scored[col.RISK].to_dict() == pytest.approx(
        {"left": 16 / 3, "middle": 8 / 3, "right": 0.0, "square": 12 / 4})
    assert scored[col.RISK_MAX].to_dict() == {"left": 8, "middle": 4, "right": 0, "square": 6}
    # p90 of (2, 6, 8): the first value whose cumulative weight reaches 0.9 · 3 = 2.7 → 8.
    assert scored[col.RISK_P90].to_dict() == {"left": 8, "middle": 4, "right": 0, "square": 6}
    assert set(scored[col.RANKING_STATISTIC]) == {"mean_exposed"}


def test_not_exposed_areas_have_no_class_and_no_rank_and_ties_share_the_average_rank() -> None:
    scored = _scored()
    # Classes [0, 2) [2, 3.5) [3.5, 5) [5, 6.5) [6.5, 10] of the mean over exposed cells.
    assert scored[col.RISK_CLASS].to_dict() == {
        "left": "high", "middle": "medium", "right": col.NOT_EXPOSED, "square": "medium"}
    # left 5.33 first; middle and square tie at 4.0 for places 2 and 3: both 2.5.
    assert scored[col.RANK].to_dict() == pytest.approx(
        {"left": 1.0, "middle": 2.5, "right": NAN, "square": 2.5}, nan_ok=True)
    assert scored[col.TOP_INDICATOR].isna().to_dict() == {
        "left": False, "middle": False, "right": True, "square": False}
    assert math.isnan(scored.loc["right", col.RANKING_VALUE])
    # The class shares count exposed cells only: square's 2 is "low", 4 "medium", 6 "high",
    # and its fourth cell, not exposed, is in no class.
    square = scored.loc["square"]
    assert [square[f"share_{c}"] for c in ("very_low", "low", "medium", "high", "very_high")
            ] == [0.0, 0.25, 0.25, 0.25, 0.0]


def test_the_ranking_statistic_is_config() -> None:
    p90 = _scored("p90")
    assert p90[col.RANKING_VALUE].to_dict() == pytest.approx(
        {"left": 8.0, "middle": 4.0, "right": NAN, "square": 6.0}, nan_ok=True)
    assert p90[col.RANK].to_dict() == pytest.approx(
        {"left": 1.0, "middle": 3.0, "right": NAN, "square": 2.0}, nan_ok=True)
    assert p90[col.RISK_CLASS].to_dict() == {
        "left": "very_high", "middle": "medium", "right": col.NOT_EXPOSED, "square": "high"}
    mean = _scored("mean")  # the diluted mean over all cells: middle 8/3 falls to "low"
    assert mean.loc["middle", col.RISK_CLASS] == "low"
    assert mean[col.RANK].to_dict() == pytest.approx(
        {"left": 1.0, "middle": 3.0, "right": NAN, "square": 2.0}, nan_ok=True)


def test_rank_desc_averages_ties_and_leaves_nan_unranked() -> None:
    ranks = rank_desc(np.array([3.0, 5.0, 3.0, NAN, 1.0]))
    np.testing.assert_array_equal(ranks, [2.5, 1.0, 2.5, NAN, 4.0])


def _raw(spec: IndicatorSpec, values: np.ndarray) -> np.ndarray:
    """The input values that normalise to `values` (0–10) between the spec's bounds."""
    low, high = float(spec.min or 0), float(spec.max or 0)
    if spec.log:
        return 10 ** (np.log10(low) + values / 10 * (np.log10(high) - np.log10(low)))
    return low + values / 10 * (high - low)


def test_not_exposed_areas_are_left_out_of_the_rank_intervals() -> None:
    config = parse_region(small_config())
    ranked = np.array([True, True, False, True])
    indicators = _indicators()
    layers = {spec.source: _raw(spec, indicators[name].astype("float64"))
              for name, spec in config.indicators.items()}
    intervals = audit(config, _table(), np.array(["u"] * 4), layers, indicators,
                      score_cells(indicators, config), ranked=ranked)
    assert intervals.loc[2].isna().all()
    assert intervals.loc[[0, 1, 3], "rank_p95"].max() <= 3  # three ranked areas, not four


# --- drivers: golden cases ---------------------------------------------------------------------


def _driver_config(**extra: Any) -> Any:
    data = small_config(**extra)
    data["inputs"].update({n: {"path": f"{n}.tif", "kind": "raster"}
                           for n in ("disp", "dead", "load_raw")})
    data["indicators"].update({
        "displacement": {"from": "disp", "dimension": "exposure", "min": 0, "max": 10},
        "deaths": {"from": "dead", "dimension": "V", "min": 0, "max": 10},
        "load": {"from": "load_raw", "dimension": "C", "min": 0, "max": 10}})
    data["weights"].update({"exposure": {"transit": 0.75, "displacement": 0.25},
                            "V": {"children": 0.5, "deaths": 0.5},
                            "C": {"distance": 0.5, "load": 0.5}})
    return parse_region(data)


CELL = {"flood": 8.0, "heat": 2.0, "transit": 6.0, "displacement": 2.0, "children": 4.0,
        "deaths": 8.0, "distance": 2.0, "load": 6.0, "forest": 5.0}


def _risk_by_hand(x: dict[str, float]) -> float:
    """The method written out: H_nat = 10 − sqrt((10 − flood)(10 − heat)); exposure, V and C
    weighted means; H = sqrt(H_nat · exposure); risk = (H · V · C)^(1/3)."""
    h_nat = 10 - math.sqrt((10 - x["flood"]) * (10 - x["heat"]))
    exposure = 0.75 * x["transit"] + 0.25 * x["displacement"]
    v = 0.5 * x["children"] + 0.5 * x["deaths"]
    c = 0.5 * x["distance"] + 0.5 * x["load"]
    return (math.sqrt(h_nat * exposure) * v * c) ** (1 / 3)


def test_the_driver_is_the_indicator_whose_neutralisation_lowers_the_score_most() -> None:
    base = _risk_by_hand(CELL)
    drops = {name: base - _risk_by_hand({**CELL, name: 0.0}) for name in CELL}
    # H = sqrt(6 · 5) = 5.48, V = 6, C = 4: risk (131.5)^(1/3) = 5.085. Halving the lowest
    # dimension hurts a geometric mean most: load 0 makes C = 1, risk (32.9)^(1/3) = 3.203.
    assert base == pytest.approx(5.085, abs=1e-3)
    assert drops["load"] == pytest.approx(5.085 - 3.203, abs=1e-3)
    assert max(drops, key=lambda k: drops[k]) == "load"
    # w·x inside the highest dimension (V = 6) would have named deaths (0.5 · 8 = 4).
    assert drops["deaths"] < drops["transit"] < drops["load"]
    assert drops["forest"] == 0.0  # E is not in the risk

    indicators = {name: np.array([value], dtype="float32") for name, value in CELL.items()}
    table = CoverageTable(np.array([0]), np.array([0]), np.array([1.0]), 1)
    assert top_drivers(indicators, _driver_config(), table, np.array([True])) == ["load"]
    # Every drop, as the method written out gives it (float32 scores: 1e-4).
    published = driver_drops(indicators, _driver_config(), table, np.array([True]))
    assert {n: float(v[0]) for n, v in published.items()} == pytest.approx(drops, abs=1e-4)


def test_drivers_over_exposed_cells_and_none_for_an_unexposed_area() -> None:
    # Area 0 holds the golden cell and a cell nobody crosses (transit and displacement 0);
    # the mean over exposed cells is the golden cell's risk alone, so the driver is the same.
    # Area 1 holds only the unexposed cell: no driver.
    quiet = {**CELL, "transit": 0.0, "displacement": 0.0, "load": 10.0}
    indicators = {name: np.array([CELL[name], quiet[name]], dtype="float32") for name in CELL}
    table = CoverageTable(np.array([0, 0, 1]), np.array([0, 1, 1]), np.ones(3), 2)
    assert top_drivers(indicators, _driver_config(), table, np.array([True, False])) == [
        "load", None]
    # Ranked by the mean over all cells, the quiet cell's 0 stays 0 whatever is neutralised:
    # the drops are those of the golden cell halved, the same order.
    mean = _driver_config(ranking={"statistic": "mean"})
    assert top_drivers(indicators, mean, table, np.array([True, False])) == ["load", None]


# --- drops: every indicator's, published per area ----------------------------------------------
#
# A toy area of two cells, a (coverage 1) and b (coverage ½), ranked by the mean over exposed
# cells, with the arithmetic aggregations: H_nat = (flood + heat) / 2, H = sqrt(H_nat · transit),
# V = children, C = distance, risk = (H + V + C) / 3. A third cell, c, nobody crosses (transit 0):
# the area holding only c is not exposed and has no drops.
#
#          flood heat transit children distance │ H_nat  H          V  C  risk
#   a        8    2     5       6        4      │  5     5          6  4  15/3 = 5
#   b        2    2     8       3        9      │  2     sqrt(16)=4 3  9  16/3
#   c        2    2     0       3        9      │  not exposed
#
# Ranking value (5 · 1 + 16/3 · ½) / 1.5 = 5.1111. Neutralised (set to 0):
#   flood    a: H_nat 1, H sqrt 5 = 2.2361, risk 12.2361/3 │ b: H_nat 1, H sqrt 8 = 2.8284,
#            risk 14.8284/3 → mean (4.0787 + 4.9428 · ½) / 1.5 = 4.3667, drop 0.7444
#   heat     a: H_nat 4, H sqrt 20 = 4.4721, risk 14.4721/3 │ b: as for flood → drop 0.2475
#   transit  H 0: a 10/3, b 12/3 → (3.3333 + 2) / 1.5 = 3.5556, drop 1.5556
#   children V 0: a 9/3, b 13/3 → (3 + 2.1667) / 1.5 = 3.4444, drop 1.6667
#   distance C 0: a 11/3, b 7/3 → (3.6667 + 1.1667) / 1.5 = 3.2222, drop 1.8889
#   forest   E is not in the risk: drop 0
# The highest indicators are flood and transit (mean 6); the top driver is distance.

TOY = {"flood": [8, 2, 2], "heat": [2, 2, 2], "transit": [5, 8, 0], "children": [6, 3, 3],
       "distance": [4, 9, 9], "forest": [5, 5, 5]}
TOY_BASE = (5 * 1 + 16 / 3 * 0.5) / 1.5
TOY_DROPS = {
    "flood": TOY_BASE - ((5 ** 0.5 + 10) / 3 + (8 ** 0.5 + 12) / 3 * 0.5) / 1.5,
    "heat": TOY_BASE - ((20 ** 0.5 + 10) / 3 + (8 ** 0.5 + 12) / 3 * 0.5) / 1.5,
    "transit": TOY_BASE - (10 / 3 + 12 / 3 * 0.5) / 1.5,
    "children": TOY_BASE - (9 / 3 + 13 / 3 * 0.5) / 1.5,
    "distance": TOY_BASE - (11 / 3 + 7 / 3 * 0.5) / 1.5,
    "forest": 0.0,
}


def test_every_indicators_drop_is_published_per_area_as_worked_out_by_hand() -> None:
    config = parse_region(small_config(aggregation={
        "hazard": "arithmetic", "risk": "arithmetic", "pressure_from": "transit"}))
    indicators = {name: np.array(values, dtype="float32") for name, values in TOY.items()}
    table = CoverageTable(np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([1.0, 0.5, 1.0]), 2)
    frame = gpd.GeoDataFrame(
        {col.ID: ["toy", "quiet"], col.NAME: ["toy", "quiet"], col.KIND: "unit",
         col.AREA_SET: "units"}, geometry=[shapely.box(-78, 8, -77.99, 8.01)] * 2,
        crs="EPSG:4326")
    scored = score_areas(frame, table, score_cells(indicators, config), indicators,
                         config).set_index(col.ID)
    toy, quiet = scored.loc["toy"], scored.loc["quiet"]
    assert toy[col.RANKING_VALUE] == pytest.approx(5.1111, abs=1e-4)
    assert {n: toy[f"{col.DROP_PREFIX}{n}"] for n in TOY} == pytest.approx(TOY_DROPS, abs=1e-5)
    # The values of the table above, to four decimals.
    assert [round(TOY_DROPS[n], 4) for n in TOY] == [0.7444, 0.2475, 1.5556, 1.6667, 1.8889, 0.0]
    # The top indicator is the largest drop, not the highest indicator (flood and transit, 6).
    assert toy[col.TOP_INDICATOR] == "distance"
    assert toy[f"{col.INDICATOR_PREFIX}flood"] == pytest.approx(6.0)
    assert toy[f"{col.INDICATOR_PREFIX}distance"] == pytest.approx(8.5 / 1.5)
    assert quiet[col.RISK_CLASS] == col.NOT_EXPOSED and pd.isna(quiet[col.TOP_INDICATOR])
    assert all(math.isnan(quiet[f"{col.DROP_PREFIX}{n}"]) for n in TOY)
