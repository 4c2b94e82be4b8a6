"""Rank and class sensitivity as a JRC-style uncertainty audit (METHOD.md, "Sensitivity audit").

Each draw varies, within the ranges of the region file's `sensitivity:` (`SensitivitySpec`):
the weights (Dirichlet around the configured ones), the normalisation bounds, the kernel width
of the listed surfaces, the flow year, the risk aggregation and the ranking statistic. For each
area, the audit reports the median rank, its 5–95 % interval and the share of draws in which the
area's class changes, for the composite risk and for the environmental pressure.

Speed: the grid is never rescored per draw. Each area is summarised once by a few
*representative cells* per stratum (exposed / not exposed): the cells at the coverage-weighted
quantiles of the configured risk, each carrying an equal share of its stratum's surface, plus
its highest cell (for the maximum). An area with no more cells in a stratum than
`cells_per_area` keeps them all with their coverage, so its statistics are exact. Every draw
then normalises and scores only those cells (`pipelines.indicators.normalise`,
`pipelines.score.score_cells`: the run's own code) and reduces them to area statistics as
matrix operations over all draws at once. The surfaces of the alternative kernel widths and
flow years are computed once each, on the run's grid, and read at those cells only.

Areas with no exposed cell are left out (no rank, no class change), as in the run's ranks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from pipelines import area_record as col
from pipelines.areas import CoverageTable
from pipelines.config import IndicatorSpec, RegionConfig
from pipelines.grid import Grid
from pipelines.indicators import normalise
from pipelines.score import Weights, classify, score_cells
from pipelines.surfaces import compute_surface

QUANTILE = 0.9
"""The quantile of the `p90` ranking statistic."""
INTERVAL = (5.0, 95.0)
"""Percentiles of the reported rank interval."""
FACTORS = ("weights", "bounds", "kernels", "years", "aggregation", "statistic")
"""The factors a draw varies; each has its own random stream (turning one off leaves the
others' draws unchanged)."""

VariantKey = tuple[float | None, int | None]
"""(kernel width km, flow year) of a surface variant; None where the surface has no such
parameter."""


@dataclass(frozen=True)
class Representatives:
    """Representative cells of each area, padded to one width `S`.

    Attributes:
        cells: (A, S) flattened grid index of each representative cell (0 in padding).
        weight: (A, S) share (0–1) of the area's scored surface each stands for; the weights
            of an area sum to 1 (0 in padding and for the added highest cell).
        exposed: (A, S) whether the cell is exposed (exposure > 0 in the configured run).
        present: (A, S) whether the slot holds a cell.
        ranked: (A,) whether the area has an exposed cell (it is ranked).
    """

    cells: np.ndarray
    weight: np.ndarray
    exposed: np.ndarray
    present: np.ndarray
    ranked: np.ndarray


def representatives(table: CoverageTable, risk: np.ndarray, exposure: np.ndarray,
                    per_stratum: int) -> Representatives:
    """Pick each area's representative cells (see the module docstring).

    Args:
        table: coverage of the grid's cells by each area.
        risk: flattened configured risk (NaN where not scored).
        exposure: flattened configured exposure (0 where nobody passes).
        per_stratum: cells kept per area and stratum (exposed, not exposed).
    """
    values = risk[table.cell]
    keep = np.isfinite(values) & (table.coverage > 0)
    area, cell = table.area[keep], table.cell[keep]
    weight, values = table.coverage[keep], values[keep]
    exposed = np.nan_to_num(exposure[cell]) > 0
    group = area * 2 + (~exposed).astype("int64")
    order = np.lexsort((values, group))
    area, cell, weight, exposed, group = (a[order] for a in (area, cell, weight, exposed, group))
    _, starts, counts = np.unique(group, return_index=True, return_counts=True)
    # Cumulative weights within each stratum (summed in that stratum only, so an area's cells
    # are picked the same whatever other areas the table holds: blocks of areas pick as the
    # whole table does, `pipelines.chunk_areas`).
    cumulative = pd.Series(weight).groupby(group, sort=False).cumsum().to_numpy()
    totals = cumulative[starts + counts - 1] if len(starts) else np.empty(0)

    small = counts <= per_stratum
    # Groups kept whole: every entry with its coverage.
    whole = np.concatenate([np.arange(s, s + n) for s, n in zip(starts[small], counts[small],
                                                                  strict=True)] or [np.empty(0,
                                                                                    "int64")])
    # Larger groups: the cells at the weighted quantiles (k + ½)/K, each 1/K of the stratum,
    # and the highest cell with no weight (it only serves the maximum).
    big = np.flatnonzero(~small)
    steps = (np.arange(per_stratum) + 0.5) / per_stratum
    picks = np.concatenate([
        start + np.minimum(np.searchsorted(cumulative[start:start + count], steps * total,
                                           side="left"), count - 1)
        for start, count, total in zip(starts[big], counts[big], totals[big], strict=True)]
        or [np.empty(0, "int64")])
    tops = starts[big] + counts[big] - 1

    index = np.concatenate([whole, picks, tops]).astype("int64")
    shares = np.concatenate([weight[whole], np.repeat(totals[big] / per_stratum, per_stratum),
                             np.zeros(len(tops))])
    owner = area[index]
    order = np.argsort(owner, kind="stable")
    index, shares, owner = index[order], shares[order], owner[order]
    n_areas = table.n_areas
    sizes = np.bincount(owner, minlength=n_areas)
    width = max(1, int(sizes.max()) if len(sizes) else 1)
    slot = np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    cells = np.zeros((n_areas, width), "int64")
    shape_weight = np.zeros((n_areas, width))
    is_exposed = np.zeros((n_areas, width), bool)
    present = np.zeros((n_areas, width), bool)
    cells[owner, slot] = cell[index]
    shape_weight[owner, slot] = shares
    is_exposed[owner, slot] = exposed[index]
    present[owner, slot] = True
    area_total = shape_weight.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shape_weight = np.where(area_total > 0, shape_weight / area_total, 0.0)
    ranked = np.asarray((is_exposed & present).any(axis=1))
    return Representatives(cells, shape_weight, is_exposed, present, ranked)


def stack_representatives(parts: Sequence[Representatives]) -> Representatives:
    """The representatives of consecutive blocks of areas as those of all of them (rows in
    block order, padded to the widest block)."""
    width = max((p.cells.shape[1] for p in parts), default=1)

    def stacked(name: str, fill: Any) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        return np.concatenate([np.pad(a, ((0, 0), (0, width - a.shape[1])),
                                      constant_values=fill) for a in arrays]
                              or [np.zeros((0, width), type(fill))])

    return Representatives(stacked("cells", 0), stacked("weight", 0.0),
                           stacked("exposed", False), stacked("present", False),
                           np.concatenate([p.ranked for p in parts] or [np.zeros(0, bool)]))


def area_statistic(values: np.ndarray, reps: Representatives, name: str) -> np.ndarray:
    """An area statistic of cell values (..., A, S) at the representatives → (..., A).

    `mean`: weighted mean over every scored cell; `mean_exposed`: over the exposed cells;
    `p90`: weighted 90th percentile (the first value whose cumulative weight reaches 90 % of
    the total, as `pipelines.areas.weighted_quantile`); `max`: the highest cell.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        if name in ("mean", "mean_exposed"):
            weight = reps.weight * reps.exposed if name == "mean_exposed" else reps.weight
            total = weight.sum(axis=-1)
            summed = np.einsum("...as,as->...a", np.nan_to_num(values), weight)
            return np.where(total > 0, summed / total, np.nan)
        if name == "max":
            return np.where(reps.present, values, -np.inf).max(axis=-1)
        if name == "p90":
            sortable = np.where(reps.present, values, np.inf)
            order = np.argsort(sortable, axis=-1)
            ordered = np.take_along_axis(sortable, order, axis=-1)
            areas = np.arange(reps.weight.shape[0])[:, None]
            cumulative = np.cumsum(reps.weight[areas, order], axis=-1)
            reached = cumulative >= QUANTILE * cumulative[..., -1:]
            first = np.argmax(reached, axis=-1)[..., None]
            result = np.take_along_axis(ordered, first, axis=-1)[..., 0]
            return np.where(reps.present.any(axis=-1), result, np.nan)
    raise ValueError(f"unknown ranking statistic {name!r}")


@dataclass(frozen=True)
class Draws:
    """The factors of every draw (index d)."""

    weights: list[Weights]
    bounds: list[dict[str, tuple[float, float]]]
    kernels: list[dict[str, float]]
    years: list[int | None]
    aggregation: list[str]
    statistic: list[str]


def balanced(rng: np.random.Generator, options: Sequence[Any], n: int) -> list[Any]:
    """`n` choices among `options`, each as often as possible (±1), in a random order."""
    picks = np.resize(np.arange(len(options)), n)
    return [options[int(i)] for i in rng.permutation(picks)]


def configured_statistic(config: RegionConfig) -> str:
    """The ranking statistic of the run (the region file's `ranking.statistic`)."""
    return str(config.ranking.statistic)


def draw_factors(config: RegionConfig) -> Draws:
    """Every draw's weights, bounds, kernel widths, flow year, aggregation and statistic."""
    spec = config.sensitivity
    n = spec.draws
    streams = dict(zip(FACTORS, (np.random.default_rng(s) for s in
                                 np.random.SeedSequence(spec.seed).spawn(len(FACTORS))),
                       strict=True))
    base = Weights.from_config(config)
    vary = spec.vary

    weights = []
    for _ in range(n):
        drawn = {}
        for dimension, members in base.by_dimension.items():
            names = list(members)
            centre = np.array([members[k] for k in names])
            if vary and spec.alpha is not None and len(names) > 1:
                sample = streams["weights"].dirichlet(spec.alpha * centre)
            else:
                sample = centre
            drawn[dimension] = dict(zip(names, sample.tolist(), strict=True))
        weights.append(Weights(drawn))

    share = spec.bounds_share if vary else 0.0
    varied = [name for name, s in config.indicators.items() if s.levels is None]
    shifts = streams["bounds"].uniform(-1.0, 1.0, size=(n, len(varied), 2))
    bounds = []
    for d in range(n):
        drawn_bounds = {}
        for i, name in enumerate(varied):
            lower, upper = _scale(config.indicators[name])
            span = upper - lower
            low = lower + share * span * shifts[d, i, 0]
            high = upper + share * span * shifts[d, i, 1]
            drawn_bounds[name] = _unscale(config.indicators[name], low, high)
        bounds.append(drawn_bounds)

    kernel_choices = {name: balanced(streams["kernels"], widths, n)
                      for name, widths in spec.kernels_km.items() if vary and widths}
    kernels = [{name: float(choices[d]) for name, choices in kernel_choices.items()}
               for d in range(n)]
    years: list[int | None] = (balanced(streams["years"], spec.years, n) if vary and spec.years
                               else [None] * n)
    aggregation = (balanced(streams["aggregation"], spec.aggregations, n)
                   if vary and spec.aggregations else [config.aggregation.risk] * n)
    statistic = (balanced(streams["statistic"], spec.statistics, n)
                 if vary and spec.statistics else [configured_statistic(config)] * n)
    return Draws(weights, bounds, kernels, years, aggregation, statistic)


def _scale(spec: IndicatorSpec) -> tuple[float, float]:
    lower, upper = float(spec.min or 0.0), float(spec.max or 0.0)
    return (float(np.log10(lower)), float(np.log10(upper))) if spec.log else (lower, upper)


def _unscale(spec: IndicatorSpec, low: float, high: float) -> tuple[float, float]:
    return (float(10 ** low), float(10 ** high)) if spec.log else (low, high)


def audit_cells(reps: Representatives) -> np.ndarray:
    """The distinct grid cells (flattened indices, sorted) the draws score."""
    return np.unique(reps.cells)


def surface_variants(config: RegionConfig, grid: Grid, vectors: Mapping[str, gpd.GeoDataFrame],
                     layers: Mapping[str, np.ndarray], cells: np.ndarray,
                     layer_index: np.ndarray | None = None
                     ) -> dict[str, dict[VariantKey, np.ndarray]]:
    """Each varied surface at `cells` (`audit_cells`, flattened grid indices) for every
    combination of the kernel widths and flow years it takes, each computed once; the
    configured combination is the run's own surface, read from `layers` at `layer_index`
    (default `cells`: whole-grid layers; the chunked run passes the layers at `cells` only)."""
    where = cells if layer_index is None else layer_index
    spec = config.sensitivity
    result: dict[str, dict[VariantKey, np.ndarray]] = {}
    if not spec.vary:
        return result
    rows, cols = np.unravel_index(cells, grid.shape)
    at = (np.asarray(rows), np.asarray(cols))
    for name, surface in config.surfaces.items():
        parameters = surface.parameters
        kernels = spec.kernels_km.get(name) if "kernel_km" in parameters else None
        years = spec.years if "year" in parameters else None
        if not kernels and not years:
            continue
        frames = {role: vectors[source] for role, source in surface.inputs.items()}
        kernel_values: list[float | None] = (list(kernels) if kernels
                                             else [parameters.get("kernel_km")])
        year_values: list[int | None] = list(years) if years else [parameters.get("year")]
        variants: dict[VariantKey, np.ndarray] = {}
        for kernel, year in itertools.product(kernel_values, year_values):
            drawn = dict(parameters)
            if kernel is not None:
                drawn["kernel_km"] = kernel
            if year is not None:
                drawn["year"] = year
            if drawn == dict(parameters):
                values = np.asarray(layers[name], "float64").ravel()[where]
            else:
                values = compute_surface(surface.function, grid, frames, drawn, at)
            variants[(kernel, year)] = np.asarray(values, "float64")
        result[name] = variants
    return result


def audit(config: RegionConfig, table: CoverageTable | None, kinds: np.ndarray,
          layers: Mapping[str, np.ndarray], indicators: Mapping[str, np.ndarray],
          scores: Mapping[str, np.ndarray] | None, *,
          variants: Mapping[str, Mapping[VariantKey, np.ndarray]] | None = None,
          reps: Representatives | None = None, ranked: np.ndarray | None = None,
          combine_pressure: Callable[[np.ndarray], np.ndarray] | None = None
          ) -> pd.DataFrame:
    """Median rank, 5–95 % interval and class-change share of every area, for the risk and the
    environmental pressure, under the draws of `draw_factors`.

    Args:
        table: coverage of the grid's cells by each area (only read to pick `reps` when they
            are not given).
        kinds: the kind of each area (ranks are within kind).
        layers: flattened raster inputs and surfaces by name (the run's).
        indicators: flattened 0–10 indicators by name (the run's; only those of hazard levels,
            which the draws take as they are, are read).
        scores: flattened scores of the run (`risk`, `exposure`; only read to pick `reps`).
        variants: the varied surfaces at `audit_cells(reps)` (`surface_variants`).
        reps: the representative cells (`representatives`, computed when not given).
        ranked: whether the run ranks each area (`not_exposed` areas are not): the audit
            leaves out the others too (by default, the areas without an exposed cell).
        combine_pressure: how the run makes an area's environmental pressure from its cells'
            (`pressure.pressure_combiner`: with the carrying-capacity and waste figures, which
            the draws leave as they are); by default the cells' statistic is the pressure.

    Returns:
        One row per area: `rank_median`, `rank_p05`, `rank_p95`, `class_change_share` and the
        same four prefixed `pressure_`; NaN for areas with no exposed cell.
    """
    spec = config.sensitivity
    if reps is None:
        if table is None or scores is None:
            raise ValueError("the audit needs its representative cells, or the table and "
                             "scores to pick them")
        reps = representatives(table, np.asarray(scores["risk"], "float64").ravel(),
                               np.asarray(scores["exposure"], "float64").ravel(),
                               spec.cells_per_area)
    if ranked is not None:
        reps = replace(reps, ranked=reps.ranked & np.asarray(ranked, bool))
    unique, inverse = np.unique(reps.cells, return_inverse=True)
    inverse = inverse.reshape(reps.cells.shape)
    draws = draw_factors(config)
    base = {name: np.asarray(layers[s.source], "float64").ravel()[unique]
            for name, s in config.indicators.items() if s.levels is None}
    fixed = {name: np.asarray(indicators[name], "float32").ravel()[unique]
             for name, s in config.indicators.items() if s.levels is not None}
    configs = {agg: config.model_copy(update={"aggregation": config.aggregation.model_copy(
        update={"risk": agg})}) for agg in ("geometric", "arithmetic")}
    variant_at = _variant_reader(config, variants or {})

    n = spec.draws
    risk = np.empty((n + 1, len(unique)), "float32")
    pressure = np.empty((n + 1, len(unique)), "float32")
    reference = Draws([Weights.from_config(config)], [{}], [{}], [None],
                      [config.aggregation.risk], [configured_statistic(config)])
    plan = [(reference, 0)] + [(draws, d) for d in range(n)]
    for row, (factors, d) in enumerate(plan):
        normalised = dict(fixed)
        for name, raw in base.items():
            indicator = config.indicators[name]
            raw = variant_at(indicator.source, factors.kernels[d], factors.years[d], raw)
            low_high = factors.bounds[d].get(name)
            if low_high is not None:
                indicator = indicator.model_copy(update={"min": low_high[0], "max": low_high[1]})
            normalised[name] = normalise(raw, indicator)
        scored = score_cells(normalised, configs[factors.aggregation[d]], factors.weights[d])
        risk[row], pressure[row] = scored["risk"], scored["environmental_pressure"]

    statistics = [configured_statistic(config), *draws.statistic]
    frame = {}
    for prefix, values in (("", risk), ("pressure_", pressure)):
        per_cell = values[:, inverse]                          # (draws + 1, A, S)
        area_values = np.full(per_cell.shape[:2], np.nan)
        for name in set(statistics):
            rows = np.array([s == name for s in statistics])
            area_values[rows] = area_statistic(per_cell[rows], reps, name)
        if prefix and combine_pressure is not None:
            area_values = combine_pressure(area_values)
        area_values[:, ~reps.ranked] = np.nan
        frame.update(_summaries(area_values, kinds, reps.ranked, config, prefix))
    return pd.DataFrame(frame)


def _variant_reader(config: RegionConfig,
                    variants: Mapping[str, Mapping[VariantKey, np.ndarray]]) -> Any:
    """A function (surface, drawn kernels, drawn year, configured values) → the values of the
    drawn variant at the audit's cells (the configured values when the surface is not varied)."""

    def read(surface: str, kernels: Mapping[str, float], year: int | None,
             configured: np.ndarray) -> np.ndarray:
        options = variants.get(surface)
        if not options:
            return configured
        parameters = config.surfaces[surface].parameters
        kernel = kernels.get(surface, parameters.get("kernel_km"))
        drawn_year = year if year is not None else parameters.get("year")
        return options[(kernel if "kernel_km" in parameters else None,
                        drawn_year if "year" in parameters else None)]
    return read


def _summaries(values: np.ndarray, kinds: np.ndarray, ranked: np.ndarray, config: RegionConfig,
               prefix: str) -> dict[str, np.ndarray]:
    """Median rank, interval and class-change share from (reference + draws, A) area values."""
    n_areas = values.shape[1]
    ranks = np.full((values.shape[0] - 1, n_areas), np.nan)
    for kind in np.unique(kinds):
        members = (kinds == kind) & ranked
        if members.any():
            ranks[:, members] = pd.DataFrame(values[1:, members]).rank(
                axis=1, ascending=False, method="average").to_numpy()
    classes = classify(values, config.class_breaks())
    changed = (classes[1:] != classes[:1]).mean(axis=0)
    return {
        f"{prefix}{col.RANK_MEDIAN}": _percentile(ranks, 50.0),
        f"{prefix}{col.RANK_P05}": _percentile(ranks, INTERVAL[0]),
        f"{prefix}{col.RANK_P95}": _percentile(ranks, INTERVAL[1]),
        f"{prefix}{col.CLASS_CHANGE_SHARE}": np.where(ranked, changed, np.nan),
    }


def _percentile(ranks: np.ndarray, q: float) -> np.ndarray:
    """Percentile `q` of each area's ranks over the draws (NaN for areas never ranked)."""
    result = np.full(ranks.shape[1], np.nan)
    some = ~np.isnan(ranks).any(axis=0)      # a ranked area has a rank in every draw
    if some.any():
        result[some] = np.percentile(ranks[:, some], q, axis=0)
    return result
