"""The sensitivity audit (`pipelines.sensitivity`) on toy areas whose numbers are worked out by
hand here: zero ranges give zero-width intervals, wider ranges give intervals at least as
wide, and the class-change share of a toy case."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipelines.areas import CoverageTable, weighted_quantile
from pipelines.config import RegionConfig, parse_region
from pipelines.score import score_cells
from pipelines.sensitivity import area_statistic, audit, balanced, draw_factors, representatives
from tests.pipelines.test_score_golden import small_config

ONE_EACH = {
    "hazard": ("H_nat", "hazard_raw"), "transit": ("exposure", "people"),
    "vulnerable": ("V", "v_raw"), "coping": ("C", "c_raw"), "nature": ("E", "e_raw"),
}
"""A toy region with one indicator per dimension, each 0–10 between bounds 0 and 10."""


def toy_config(**sensitivity: Any) -> RegionConfig:
    raw = small_config()
    raw["inputs"] = {source: {"path": f"{source}.tif", "kind": "raster"}
                     for _, source in ONE_EACH.values()}
    raw["indicators"] = {name: {"from": source, "dimension": dimension, "min": 0, "max": 10}
                         for name, (dimension, source) in ONE_EACH.items()}
    raw["weights"] = {dimension: {name: 1.0} for name, (dimension, _) in ONE_EACH.items()}
    raw["sensitivity"] = {"draws": 10, "seed": 7, **sensitivity}
    return parse_region(raw)


def toy_run(config: RegionConfig, cells: dict[str, list[float]]
            ) -> tuple[CoverageTable, dict[str, np.ndarray], dict[str, np.ndarray],
                       dict[str, np.ndarray]]:
    """One area per cell (coverage 1): layers, indicators and scores of the cells."""
    layers = {source: np.asarray(cells[name], "float64") for name, (_, source) in ONE_EACH.items()}
    indicators = {name: layers[source].astype("float32")
                  for name, (_, source) in ONE_EACH.items()}
    n = len(cells["hazard"])
    table = CoverageTable(np.arange(n), np.arange(n), np.ones(n), n)
    return table, layers, indicators, score_cells(indicators, config)


# Three areas of one cell each. With one indicator per dimension and the hazard floor far
# below: H_nat = hazard, exposure = transit, H = sqrt(hazard · transit).
#   A: H = sqrt(1·1) = 1, V = C = 9 → geometric (1·9·9)^(1/3) = 4.327 (medium),
#                                      arithmetic (1 + 9 + 9)/3 = 6.333 (high)
#   B: H = V = C = 4                 → 4 either way (medium)
#   C: H = V = C = 5                 → 5 either way (high: lower bounds are inclusive)
# Geometric: C > A > B, so A ranks 2nd; arithmetic: A > C > B, so A ranks 1st.
TOY = {"hazard": [1, 4, 5], "transit": [1, 4, 5], "vulnerable": [9, 4, 5],
       "coping": [9, 4, 5], "nature": [4, 1, 9]}
KINDS = np.array(["unit", "unit", "unit"])


def test_class_change_share_and_ranks_by_hand() -> None:
    """Only the aggregation varies; 10 draws split 5/5 between the two (balanced), so A
    changes class (medium → high) in exactly half of them, and its rank is 2 or 1."""
    config = toy_config(aggregations=["geometric", "arithmetic"], statistics=["mean"])
    table, layers, indicators, scores = toy_run(config, TOY)
    assert scores["risk"][0] == pytest.approx(81 ** (1 / 3), rel=1e-5)
    result = audit(config, table, KINDS, layers, indicators, scores)
    assert result["class_change_share"].tolist() == [0.5, 0.0, 0.0]
    assert result["rank_median"].tolist() == [1.5, 3.0, 1.5]
    assert result["rank_p05"].tolist() == [1.0, 3.0, 1.0]
    assert result["rank_p95"].tolist() == [2.0, 3.0, 2.0]
    # Environmental pressure = sqrt(transit · E) does not depend on the risk aggregation:
    # sqrt(1·4) = 2 (low), sqrt(4·1) = 2 (low), sqrt(5·9) = 6.7 (very high); ranks 2.5, 2.5, 1.
    assert result["pressure_class_change_share"].tolist() == [0.0, 0.0, 0.0]
    assert result["pressure_rank_median"].tolist() == [2.5, 2.5, 1.0]
    assert (result["pressure_rank_p05"] == result["pressure_rank_p95"]).all()


FULL_RANGES: dict[str, Any] = {
    "alpha": 5.0, "bounds_share": 0.3, "aggregations": ["geometric", "arithmetic"],
    "statistics": ["mean", "p90"]}


def spread_cells(n: int = 12) -> dict[str, list[float]]:
    """`n` one-cell areas with indicators spread over 0–10 (seeded)."""
    rng = np.random.default_rng(3)
    return {name: rng.uniform(0.5, 9.5, n).round(2).tolist() for name in ONE_EACH}


def test_zero_ranges_give_zero_width_intervals() -> None:
    """`vary: false` turns every range (all set here) to zero: every draw is the run."""
    cells = spread_cells()
    config = toy_config(vary=False, **FULL_RANGES)
    table, layers, indicators, scores = toy_run(config, cells)
    result = audit(config, table, np.array(["unit"] * 12), layers, indicators, scores)
    for prefix in ("", "pressure_"):
        assert (result[f"{prefix}rank_p05"] == result[f"{prefix}rank_p95"]).all()
        assert (result[f"{prefix}rank_median"] == result[f"{prefix}rank_p05"]).all()
        assert (result[f"{prefix}class_change_share"] == 0).all()
    # …and the ranks are the run's own: risk 1st is rank 1.
    order = np.argsort(-scores["risk"])
    assert result["rank_median"].to_numpy()[order].tolist() == list(range(1, 13))


@pytest.mark.parametrize(("narrow", "wide"), [
    ({"bounds_share": 0.0}, {"bounds_share": 0.3}),
    ({"bounds_share": 0.1}, {"bounds_share": 0.3}),
    ({"vary": False, **FULL_RANGES}, FULL_RANGES),
])
def test_wider_ranges_give_intervals_at_least_as_wide(narrow: dict[str, Any],
                                                      wide: dict[str, Any]) -> None:
    """The same seed draws the same uniform shifts, scaled by the share: wider moves of the
    bounds never narrow an area's 5–95 % interval here."""
    cells = spread_cells()
    widths = []
    for ranges in (narrow, wide):
        config = toy_config(**{**ranges, "draws": 200})
        table, layers, indicators, scores = toy_run(config, cells)
        result = audit(config, table, np.array(["unit"] * 12), layers, indicators, scores)
        widths.append((result["rank_p95"] - result["rank_p05"]).to_numpy())
    assert (widths[1] >= widths[0]).all()
    assert widths[1].sum() > widths[0].sum()


def test_bounds_move_by_the_configured_share_of_the_span() -> None:
    config = toy_config(bounds_share=0.2, draws=50)
    draws = draw_factors(config)
    lows = np.array([b["hazard"][0] for b in draws.bounds])
    highs = np.array([b["hazard"][1] for b in draws.bounds])
    assert lows.min() >= -2.0 and lows.max() <= 2.0 and highs.min() >= 8.0 and highs.max() <= 12.0
    assert lows.std() > 0


def test_balanced_choices() -> None:
    picks = balanced(np.random.default_rng(0), ["a", "b", "c"], 7)
    assert sorted(picks) == ["a", "a", "a", "b", "b", "c", "c"]


def test_representatives_are_exact_for_small_areas_and_quantiles_for_large() -> None:
    """An area of ≤ K cells per stratum keeps every cell with its coverage; a larger one is
    K cells at the weighted quantiles (k + ½)/K, each 1/K, plus its highest cell."""
    # Area 0: cells 0–2 (coverage 1, 0.5, 0.5). Area 1: cells 3–12, 10 cells of coverage 1.
    area = np.array([0, 0, 0, *[1] * 10])
    cell = np.arange(13)
    coverage = np.array([1.0, 0.5, 0.5, *[1.0] * 10])
    table = CoverageTable(area, cell, coverage, 2)
    risk = np.array([3.0, 1.0, 2.0, *np.arange(10, 0, -1, dtype="float64")])
    exposure = np.ones(13)
    reps = representatives(table, risk, exposure, per_stratum=4)
    mean = area_statistic(risk[reps.cells], reps, "mean")
    # Area 0 exactly: (3·1 + 1·0.5 + 2·0.5) / 2 = 2.25.
    assert mean[0] == pytest.approx(2.25)
    assert area_statistic(risk[reps.cells], reps, "p90")[0] == weighted_quantile(
        table, risk, 0.9)[0]
    # Area 1: risks 1…10; quantiles at 1/8, 3/8, 5/8, 7/8 of the weight 10: the first cells
    # whose cumulative weight reaches 1.25, 3.75, 6.25, 8.75 are 2, 4, 7, 9; their mean is 5.5
    # (as is the mean of 1…10), the highest cell 10.
    assert sorted(risk[reps.cells[1][reps.weight[1] > 0]]) == [2, 4, 7, 9]
    assert mean[1] == pytest.approx(5.5)
    assert area_statistic(risk[reps.cells], reps, "max")[1] == 10.0
    assert reps.ranked.tolist() == [True, True]


def test_areas_without_exposed_cells_are_left_out() -> None:
    config = toy_config(aggregations=["geometric", "arithmetic"])
    cells = {**TOY, "transit": [1, 0, 5]}    # B: nobody passes
    table, layers, indicators, scores = toy_run(config, cells)
    result = audit(config, table, KINDS, layers, indicators, scores)
    assert np.isnan(result["rank_median"][1]) and np.isnan(result["class_change_share"][1])
    assert result["rank_median"][0] == 1.5 and result["rank_median"][2] == 1.5
