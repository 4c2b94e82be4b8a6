"""Golden test: the whole scoring chain on a 3×3 grid, every number computed by hand here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from pipelines.config import parse_region
from pipelines.indicators import normalise
from pipelines.score import classify, score_cells


def small_config(**overrides: Any) -> dict[str, Any]:
    """A region with two hazards, one exposure, and one indicator in V, C and E."""
    config: dict[str, Any] = {
        "id": "golden", "title": {"en": "golden"},
        "grid": {"crs": "EPSG:32618", "resolution_m": 1000,
                 "bounds_lonlat": [-78, 8, -77.98, 8.02]},
        "inputs": {name: {"path": f"{name}.tif", "kind": "raster"} for name in RAW},
        "indicators": {
            "flood": {"from": "flood_raw", "dimension": "H_nat", "min": 0, "max": 100},
            "heat": {"from": "heat_raw", "dimension": "H_nat", "min": 0, "max": 100},
            "transit": {"from": "people", "dimension": "exposure", "min": 1, "max": 10000,
                        "log": True},
            "children": {"from": "child", "dimension": "V", "min": 0, "max": 0.5},
            "distance": {"from": "km", "dimension": "C", "min": 0, "max": 50},
            "forest": {"from": "forest_raw", "dimension": "E", "min": 0, "max": 100},
        },
        "weights": {"H_nat": {"flood": 0.5, "heat": 0.5}, "exposure": {"transit": 1.0},
                    "V": {"children": 1.0}, "C": {"distance": 1.0}, "E": {"forest": 1.0}},
        "aggregation": {"pressure_from": "transit"},
        "classes": [
            {"name": "very_low", "label": "Very low", "label_es": "Muy bajo", "min": 0, "max": 2,
             "color": "#000000"},
            {"name": "low", "label": "Low", "label_es": "Bajo", "min": 2, "max": 3.5,
             "color": "#000000"},
            {"name": "medium", "label": "Medium", "label_es": "Medio", "min": 3.5, "max": 5,
             "color": "#000000"},
            {"name": "high", "label": "High", "label_es": "Alto", "min": 5, "max": 6.5,
             "color": "#000000"},
            {"name": "very_high", "label": "Very high", "label_es": "Muy alto", "min": 6.5,
             "max": 10, "color": "#000000"},
        ],
        "areas": {},
        "sensitivity": {"draws": 10, "alpha": 50, "seed": 1},
    }
    config.update(overrides)
    return config


RAW = {
    # 3×3 inputs in their own units; NaN = missing.
    "flood_raw": np.array([[0, 50, 100], [20, 80, np.nan], [100, 0, 30]], dtype="float32"),
    "heat_raw": np.array([[0, 50, 0], [60, 80, 40], [100, 0, np.nan]], dtype="float32"),
    "people": np.array([[1, 100, 10000], [1000, 10, 100], [10000, 1e6, 0]], dtype="float32"),
    "child": np.array([[0.1, 0.25, 0.5], [np.nan, 0.2, 0.3], [0.5, 0.0, 0.4]], dtype="float32"),
    "km": np.array([[0, 25, 50], [10, 40, 5], [50, 60, 20]], dtype="float32"),
    "forest_raw": np.array([[100, 50, 0], [30, 60, 90], [10, 20, 80]], dtype="float32"),
}

# Indicators by hand: linear ones are raw/10 (or raw/0.05, raw/5); transit is
# 10·log10(clip(p,1,1e4))/4, so 1→0, 10→2.5, 100→5, 1000→7.5, 1e4 (and more)→10, 0→clipped to 1→0.
IND = {
    "flood": [[0, 5, 10], [2, 8, math.nan], [10, 0, 3]],
    "heat": [[0, 5, 0], [6, 8, 4], [10, 0, math.nan]],
    "transit": [[0, 5, 10], [7.5, 2.5, 5], [10, 10, 0]],
    "children": [[2, 5, 10], [math.nan, 4, 6], [10, 0, 8]],
    "distance": [[0, 5, 10], [2, 8, 1], [10, 10, 4]],
    "forest": [[10, 5, 0], [3, 6, 9], [1, 2, 8]],
}


def hand_h_nat(flood: float, heat: float) -> float:
    """10 − weighted geometric mean of (10 − x) floored at 0.1; a missing one drops out."""
    parts = [(0.5, max(10 - x, 0.1)) for x in (flood, heat) if not math.isnan(x)]
    total = sum(w for w, _ in parts)
    return max(0.0, 10 - math.exp(sum(w * math.log(v) for w, v in parts) / total))


def test_indicators_by_hand() -> None:
    config = parse_region(small_config())
    for name, expected in IND.items():
        spec = config.indicators[name]
        got = normalise(RAW[spec.source], spec)
        np.testing.assert_allclose(got, np.array(expected, dtype="float32"), atol=1e-5,
                                   err_msg=name)


def test_scores_by_hand() -> None:
    config = parse_region(small_config())
    indicators = {name: np.array(values, dtype="float32") for name, values in IND.items()}
    scores = score_cells(indicators, config)

    # Cell (0, 1): flood 5, heat 5 → H_nat = 10 − 5 = 5; exposure 5 → H = 5;
    # V = 5, C = 5 → risk = 5; E = 5 → environmental pressure = sqrt(5·5) = 5.
    assert scores["H_nat"][0, 1] == pytest.approx(5.0, abs=1e-5)
    assert scores["risk"][0, 1] == pytest.approx(5.0, abs=1e-5)
    assert scores["environmental_pressure"][0, 1] == pytest.approx(5.0, abs=1e-5)
    # Cell (0, 2): flood 10 (10 − x floored at 0.1), heat 0 → H_nat = 10 − sqrt(0.1·10) = 9;
    # exposure 10 → H = sqrt(90); V = 10, C = 10 → risk = (sqrt(90)·100)^(1/3).
    assert scores["H_nat"][0, 2] == pytest.approx(9.0, abs=1e-5)
    assert scores["risk"][0, 2] == pytest.approx((math.sqrt(90) * 100) ** (1 / 3), abs=1e-4)
    # Cell (0, 0): exposure 0 → H = 0 → risk 0, whatever V and C are.
    assert scores["risk"][0, 0] == 0.0
    # Cell (1, 2): flood missing → H_nat from heat alone: 10 − (10 − 4) = 4; H = sqrt(4·5).
    assert scores["H_nat"][1, 2] == pytest.approx(4.0, abs=1e-5)
    assert scores["H"][1, 2] == pytest.approx(math.sqrt(20), abs=1e-5)
    # Cell (1, 0): children missing → V has no indicator → V and risk are NaN (never zero).
    assert math.isnan(scores["V"][1, 0]) and math.isnan(scores["risk"][1, 0])

    for row in range(3):
        for col in range(3):
            ind = {name: IND[name][row][col] for name in IND}
            h_nat = hand_h_nat(ind["flood"], ind["heat"])
            h = math.sqrt(h_nat * ind["transit"])
            v, c, e = ind["children"], ind["distance"], ind["forest"]
            risk = (h * v * c) ** (1 / 3) if not math.isnan(v) else math.nan
            expected = {"H_nat": h_nat, "H": h, "V": v, "C": c, "E": e, "risk": risk,
                        "environmental_pressure": math.sqrt(ind["transit"] * e)}
            for name, value in expected.items():
                got = float(scores[name][row, col])
                if math.isnan(value):
                    assert math.isnan(got), (name, row, col)
                else:
                    assert got == pytest.approx(value, abs=1e-4), (name, row, col)


def test_classes_by_hand() -> None:
    config = parse_region(small_config())
    risk = np.array([0.0, 1.99, 2.0, 3.49, 3.5, 5.0, 6.49, 6.5, 10.0, np.nan], dtype="float32")
    assert classify(risk, config.class_breaks()).tolist() == [0, 0, 1, 1, 2, 3, 3, 4, 4, 255]


def test_renormalised_weights_by_hand() -> None:
    config = small_config()
    config["weights"]["V"] = {"children": 0.25, "distance_v": 0.75}
    config["indicators"]["distance_v"] = {"from": "km", "dimension": "V", "min": 0, "max": 50}
    region = parse_region(config)
    indicators = {name: np.array(values, dtype="float32") for name, values in IND.items()}
    indicators["distance_v"] = indicators["distance"]
    scores = score_cells(indicators, region)
    # Cell (0, 1): 0.25·5 + 0.75·5 = 5. Cell (1, 0): children missing → distance alone = 2.
    assert scores["V"][0, 1] == pytest.approx(5.0)
    assert scores["V"][1, 0] == pytest.approx(2.0)
    # Cell (2, 0): 0.25·10 + 0.75·10 = 10; (0, 0): 0.25·2 + 0.75·0 = 0.5.
    assert scores["V"][2, 0] == pytest.approx(10.0)
    assert scores["V"][0, 0] == pytest.approx(0.5)
