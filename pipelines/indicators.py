"""Normalisation of inputs and surfaces to 0–10 indicators (INFORM-style, METHOD.md §2).

Bounds come from the region config, never from the data, so runs are comparable. Missing
values stay missing (NaN), never silently zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pipelines.config import FloodLevels, IndicatorSpec, RegionConfig
from pipelines.errors import DegenerateIndicator


def normalise(values: np.ndarray, spec: IndicatorSpec) -> np.ndarray:
    """Min–max (optionally log10) scaling of `values` onto 0–10 between the spec's bounds.

    Values outside [min, max] are clipped; `invert` turns "higher is better" into "worse".

    Returns:
        float32 array, 0–10, NaN where `values` is NaN.
    """
    if spec.min is None or spec.max is None:
        raise ValueError(f"indicator from {spec.source!r} has no min/max bounds")
    lower, upper = float(spec.min), float(spec.max)
    clipped = np.clip(values.astype("float64"), lower, upper)
    if spec.log:
        scaled = (np.log10(clipped) - np.log10(lower)) / (np.log10(upper) - np.log10(lower))
    else:
        scaled = (clipped - lower) / (upper - lower)
    if spec.invert:
        scaled = 1.0 - scaled
    return (10.0 * scaled).astype("float32")


def flood_level_indicator(depths: Mapping[int, np.ndarray], levels: FloodLevels) -> np.ndarray:
    """ThinkHazard!-style flood level of each cell on 0–10.

    A cell scores `levels.scores[rp]` for the most frequent return period `rp` (years) whose
    water depth (m) reaches `levels.threshold_m`, and 0 when none does. A cell where every
    depth is NaN (sea, no data) is NaN.
    """
    periods = sorted(levels.scores)
    missing = [rp for rp in periods if rp not in depths]
    if missing:
        raise ValueError(f"flood levels need depths for return periods {missing}")
    stacked = np.stack([depths[rp] for rp in periods]).astype("float64")
    result = np.zeros(stacked.shape[1:], dtype="float64")
    # From the rarest to the most frequent, so the most frequent reaching depth wins.
    for index in reversed(range(len(periods))):
        reached = stacked[index] >= levels.threshold_m
        result = np.where(reached, levels.scores[periods[index]], result)
    result[np.all(np.isnan(stacked), axis=0)] = np.nan
    return result.astype("float32")


def build_indicator(spec: IndicatorSpec, layers: Mapping[str, np.ndarray]) -> np.ndarray:
    """The 0–10 indicator of one spec from the aligned inputs and surfaces (by name).

    `layers` holds every aligned raster input and derived surface; flood levels read the
    depth of each return period from the input the spec names for it.
    """
    if spec.levels is not None:
        depths = {rp: layers[spec.levels.inputs[rp]] for rp in spec.levels.scores}
        return flood_level_indicator(depths, spec.levels)
    return normalise(layers[spec.source], spec)


@dataclass
class ValueRange:
    """How many cells of an indicator have a value, and their least and greatest, accumulated
    over windows of the grid (`add`)."""

    count: int = 0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, values: np.ndarray) -> None:
        """Count the cells of `values` (any shape) that have a value."""
        present = values[~np.isnan(values)]
        if present.size:
            self.count += int(present.size)
            self.low = min(self.low, float(present.min()))
            self.high = max(self.high, float(present.max()))


def degenerate_indicators(indicators: Mapping[str, np.ndarray]) -> dict[str, str]:
    """The indicators that cannot tell cells apart, by name, each with what is wrong:
    one value in every cell where it exists, or no value in any cell.
    """
    return degenerate_ranges({name: _range(values) for name, values in indicators.items()})


def degenerate_ranges(ranges: Mapping[str, ValueRange]) -> dict[str, str]:
    """`degenerate_indicators` from each indicator's `ValueRange`."""
    found = {}
    for name, span in ranges.items():
        if span.count == 0:
            found[name] = "has no value in any cell"
        elif span.low == span.high:
            found[name] = (f"is {span.low:g} in each of the {span.count} cells "
                           "where its inputs exist")
    return found


def check_indicators(indicators: Mapping[str, np.ndarray], config: RegionConfig
                     ) -> dict[str, str]:
    """Report the degenerate indicators (`degenerate_indicators`); fail unless each is marked
    `constant_ok` in the region file.

    Returns:
        Every degenerate indicator with what is wrong (those marked `constant_ok` included).

    Raises:
        DegenerateIndicator: naming each degenerate indicator not marked `constant_ok`.
    """
    return check_indicator_ranges({name: _range(values) for name, values in indicators.items()},
                                  config)


def _range(values: np.ndarray) -> ValueRange:
    span = ValueRange()
    span.add(values)
    return span


def check_indicator_ranges(ranges: Mapping[str, ValueRange], config: RegionConfig
                           ) -> dict[str, str]:
    """`check_indicators` from each indicator's `ValueRange` (the chunked run's windows)."""
    found = degenerate_ranges(ranges)
    failing = {n: why for n, why in found.items() if not config.indicators[n].constant_ok}
    if failing:
        listed = "; ".join(f"{name} {why}" for name, why in failing.items())
        raise DegenerateIndicator(
            f"region {config.id}: indicator(s) that tell no cells apart: {listed}. Fix the "
            "inputs or the join that made them, or mark an indicator that is constant on "
            f"purpose `constant_ok: true` in the region file (indicators.<name>)")
    return found
