"""Dimension and composite scores, and INFORM classes (METHOD.md §3–5).

Every function here works on plain numpy arrays of any shape, so the same code scores a whole
grid, one dask block of it, or a vector of cells drawn for the sensitivity analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.area_record import NOT_EXPOSED_VALUE
from pipelines.config import SCORES, RegionConfig

CLASS_NODATA = 255
"""Value of the uint8 class raster where the risk is missing."""

OUTPUTS = SCORES
"""The score arrays `score_cells` returns, all 0–10 float32."""


def stacked_weighted_mean(stack: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Weighted mean over the first axis of a (k, ...) float32 stack, NaN-aware.

    A missing (NaN) indicator drops out and the weights of the others renormalise; a cell
    where every indicator is missing is NaN. One BLAS product per sum keeps this a few passes
    over the data however many indicators there are.
    """
    w = np.asarray(weights, dtype="float32")
    flat = stack.reshape(stack.shape[0], -1)
    missing = np.isnan(flat)
    if not missing.any():
        return (w @ flat / w.sum()).reshape(stack.shape[1:])
    numerator = w @ np.where(missing, np.float32(0), flat)
    denominator = w @ (~missing).astype("float32")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(denominator > 0, numerator / denominator, np.float32(np.nan))
    return mean.astype("float32", copy=False).reshape(stack.shape[1:])


def weighted_mean(indicators: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted mean of indicators; a missing (NaN) one drops out and the rest renormalise.

    A cell where every indicator is missing is NaN.
    """
    return stacked_weighted_mean(np.stack(indicators).astype("float32", copy=False), weights)


def geometric_complement(
    indicators: Sequence[np.ndarray], weights: Sequence[float], floor: float
) -> np.ndarray:
    """`10 − weighted geometric mean(10 − x)`, with `10 − x` floored at `floor`.

    One severe hazard is not averaged away: a single indicator near 10 pulls the result near 10.
    Missing indicators drop out and the weights of the others renormalise.
    """
    stack = np.stack(indicators).astype("float32", copy=False)
    logs = np.log(np.maximum(np.float32(10) - stack, np.float32(floor)))
    mean_log = stacked_weighted_mean(logs, weights)
    return np.clip(np.float32(10) - np.exp(mean_log), 0.0, 10.0).astype("float32", copy=False)


def geometric_mean(*values: np.ndarray) -> np.ndarray:
    """Unweighted geometric mean of non-negative arrays (NaN where any is NaN)."""
    product = np.maximum(np.asarray(values[0], dtype="float32"), np.float32(0))
    for array in values[1:]:
        product = product * np.maximum(np.asarray(array, dtype="float32"), np.float32(0))
    if len(values) == 2:
        return np.sqrt(product)
    # exp(log(p)/n) is 3× faster than np.cbrt / np.power on float32 (bench/pipeline.py).
    with np.errstate(divide="ignore"):
        return np.exp(np.log(product) / np.float32(len(values)))


@dataclass(frozen=True)
class Weights:
    """Indicator weights of each dimension, in config order."""

    by_dimension: Mapping[str, Mapping[str, float]]

    @classmethod
    def from_config(cls, config: RegionConfig) -> Weights:
        """The configured weights."""
        return cls({dim: dict(w) for dim, w in config.weights.items()})


def score_cells(
    indicators: Mapping[str, np.ndarray], config: RegionConfig, weights: Weights | None = None
) -> dict[str, np.ndarray]:
    """Dimension and composite scores from 0–10 indicators (by indicator name).

    H_nat = 10 − geomean(10 − hazards); exposure = weighted mean; H = sqrt(H_nat · exposure);
    V, C, E = weighted means; risk = (H·V·C)^(1/3) (or their mean, per config);
    environmental pressure = sqrt(transit · E), transit being the indicator the config names
    in `aggregation.pressure_from`.

    Returns:
        {name: float32 array} for every name in `OUTPUTS`.
    """
    weights = weights or Weights.from_config(config)

    def combine(dimension: str) -> np.ndarray:
        names = list(weights.by_dimension[dimension])
        values = [indicators[name] for name in names]
        factors = [weights.by_dimension[dimension][name] for name in names]
        if dimension == "H_nat" and config.aggregation.hazard == "geometric_complement":
            return geometric_complement(values, factors, config.aggregation.hazard_floor)
        return weighted_mean(values, factors)

    scores = {dim: combine(dim) for dim in ("H_nat", "exposure", "V", "C", "E")}
    scores["H"] = geometric_mean(scores["H_nat"], scores["exposure"])
    if config.aggregation.risk == "geometric":
        scores["risk"] = geometric_mean(scores["H"], scores["V"], scores["C"])
    else:
        stacked = np.stack([scores["H"], scores["V"], scores["C"]])
        scores["risk"] = stacked.mean(axis=0).astype("float32")
    transit = indicators[config.aggregation.pressure_from]
    scores["environmental_pressure"] = geometric_mean(transit, scores["E"])
    return {name: scores[name] for name in OUTPUTS}


def classify_cells(risk: np.ndarray, exposure: np.ndarray, breaks: Sequence[float]
                   ) -> np.ndarray:
    """The class raster: `classify` of the risk, and `NOT_EXPOSED_VALUE` (254) where a risk is
    scored but the exposure is 0: nobody on the move is there, which is not a low risk."""
    classes = classify(risk, breaks)
    with np.errstate(invalid="ignore"):
        quiet = np.isfinite(risk) & (exposure <= 0)
    return np.where(quiet, np.uint8(NOT_EXPOSED_VALUE), classes).astype("uint8")


def classify(risk: np.ndarray, breaks: Sequence[float]) -> np.ndarray:
    """INFORM class index (0 = very low … 4 = very high) of each risk value; 255 where NaN.

    Lower bounds are inclusive: a risk of exactly 2.0 is "low".
    """
    classes = np.digitize(np.nan_to_num(risk, nan=0.0), np.asarray(breaks), right=False)
    return np.where(np.isnan(risk), CLASS_NODATA, classes).astype("uint8")
