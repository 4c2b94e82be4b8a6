"""The area stages of a run: window by window, then block of areas by block of areas.

Pass 1 (`spill_coverage`): each window gives the coverage of its cells by the areas and the
scores and indicators of the cells some area covers (`area_block`, run by a worker); the run's
process writes them to a spill folder beside the scratch layers (`AreaSpill`, .npy files per
window) and keeps only where each area's entries start in each window.

Pass 2 (`score_area_blocks`): the areas are cut into blocks of consecutive areas holding at
most `BLOCK_ENTRIES` (area, cell) pairs (an area with more is a block of its own). Each block's
entries and cells are read back from the spill, put in the order of a whole-grid coverage
table (by area, then cell; one window: the order exactextract gives), scored by
`pipelines.areas.area_statistics`, and its audit representatives picked
(`pipelines.sensitivity.representatives`). Every statistic of an area, the representatives
included, depends on that area's cells only, in that order, so blocks give exactly what the
whole-grid arrays give; ranks, which compare areas, are computed once over all blocks.

Peak memory therefore follows the largest block (at most `BLOCK_ENTRIES` pairs, or the largest
area's cells), not the grid. The audit then reads values at its few representative cells,
window by window (`values_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pipelines import areas as area_stats
from pipelines import sensitivity
from pipelines.areas import CoverageTable, coverage_table
from pipelines.chunk_stages import Context, indicator_key, layer_key, read_windows, score_key
from pipelines.chunks import Runner, Scratch, Window, window_grid, windows
from pipelines.config import RegionConfig
from pipelines.grid import Grid
from pipelines.score import OUTPUTS

BLOCK_ENTRIES = 1_000_000
"""(area, cell) pairs of the coverage table scored at once. The statistics of a block take
about 250 bytes per pair at their peak (its cells' 8 scores and the indicators, float64
temporaries, the drivers' rescoring): ≈ 250 MB."""

SPILL = "areas"
"""The spill folder, inside the scratch folder."""


def area_context(context: Context, frame: gpd.GeoDataFrame) -> Context:
    """The context of the area stages: the areas in the grid's CRS."""
    projected = frame[["geometry"]].to_crs(context.grid.crs).reset_index(drop=True)
    return replace(context, areas=gpd.GeoDataFrame(projected, crs=context.grid.crs))


def value_keys(config: RegionConfig) -> list[str]:
    """The scratch layers the area statistics read: every score and indicator."""
    return [score_key(n) for n in OUTPUTS] + [indicator_key(n) for n in config.indicators]


# --- pass 1: coverage by window, spilled -----------------------------------------------------

@dataclass(frozen=True)
class AreaWindow:
    """What one window gives the area stages.

    Attributes:
        area, cell, coverage: the (area, cell) pairs of the window's coverage table, `cell`
            as flattened index of the whole grid, grouped by area in area order.
        cells: the window's cells some area covers (flattened grid index, sorted).
        values: (cells, keys) scores and indicators at `cells`, in the order of `value_keys`.
    """

    area: np.ndarray
    cell: np.ndarray
    coverage: np.ndarray
    cells: np.ndarray
    values: np.ndarray


def _global_cells(window: Window, grid: Grid, local: np.ndarray) -> np.ndarray:
    rows, cols = np.divmod(local, window.width)
    return (rows + window.row) * grid.width + cols + window.col


def area_block(item: tuple[Window, dict[str, np.ndarray]], context: Context) -> AreaWindow:
    """One window's coverage by the areas, and its covered cells' scores and indicators."""
    window, values = item
    assert context.areas is not None
    table = coverage_table(context.areas, window_grid(context.grid, window))
    local = np.unique(table.cell)
    keys = value_keys(context.config)
    stacked = np.stack([values[key].ravel()[local] for key in keys], axis=1)
    return AreaWindow(table.area.astype("int32"), _global_cells(window, context.grid, table.cell),
                      table.coverage, _global_cells(window, context.grid, local), stacked)


class AreaSpill:
    """The windows' `AreaWindow`s on disk (one .npy per array and window), read back by block
    of areas: only the block's entries and cells are read."""

    FIELDS = ("area", "cell", "coverage", "cells", "values")

    def __init__(self, folder: Path, n_areas: int, keys: list[str]) -> None:
        self.folder = folder
        self.n_areas = n_areas
        self.keys = keys
        self.starts: list[np.ndarray] = []
        """Per window: (n_areas + 1,) index of each area's first entry (and the end)."""
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, window: int, field: str) -> Path:
        return self.folder / f"{window}-{field}.npy"

    def add(self, part: AreaWindow) -> None:
        """Write the next window's part."""
        index = len(self.starts)
        for field in self.FIELDS:
            np.save(self._path(index, field), getattr(part, field))
        self.starts.append(np.searchsorted(part.area, np.arange(self.n_areas + 1)))

    def entries(self) -> np.ndarray:
        """(area, cell) pairs of each area over every window."""
        return sum((np.diff(s) for s in self.starts), np.zeros(self.n_areas, "int64"))

    def read(self, first: int, stop: int, *, by_cell: bool) -> Gathered:
        """The areas `first` … `stop - 1` (numbered from 0 in the result), their coverage
        table and cells' values; with `by_cell`, the table in whole-grid order (by area, then
        cell), else in window order (one window: exactextract's)."""
        pieces: dict[str, list[np.ndarray]] = {f: [] for f in self.FIELDS}
        for window, starts in enumerate(self.starts):
            low, high = int(starts[first]), int(starts[stop])
            if high == low:
                continue
            for field in ("area", "cell", "coverage"):
                pieces[field].append(np.array(np.load(self._path(window, field),
                                                      mmap_mode="r")[low:high]))
            cells = np.unique(pieces["cell"][-1])
            rows = np.searchsorted(np.load(self._path(window, "cells"), mmap_mode="r"), cells)
            pieces["cells"].append(cells)
            pieces["values"].append(np.load(self._path(window, "values"), mmap_mode="r")[rows])

        def joined(field: str, dtype: str, shape: tuple[int, ...] = (0,)) -> np.ndarray:
            arrays = pieces.pop(field)
            return np.concatenate(arrays) if arrays else np.empty(shape, dtype)

        area = joined("area", "int64").astype("int64") - first
        cell, coverage = joined("cell", "int64"), joined("coverage", "float64")
        cells = joined("cells", "int64")
        values = joined("values", "float32", (0, len(self.keys)))
        order = np.argsort(cells, kind="stable")   # windows hold disjoint cells
        cells, values = cells[order], values[order]
        if by_cell:
            by_area = np.lexsort((cell, area))
            area, cell, coverage = area[by_area], cell[by_area], coverage[by_area]
        table = CoverageTable(area, np.searchsorted(cells, cell), coverage, stop - first)
        by_key = {key: np.ascontiguousarray(values[:, i]) for i, key in enumerate(self.keys)}
        return Gathered(cells, table, by_key)


def spill_coverage(runner: Runner, context: Context, scratch: Scratch) -> AreaSpill:
    """Pass 1: every window's coverage and covered cells' values, into the spill folder."""
    assert context.areas is not None
    keys = value_keys(context.config)
    spill = AreaSpill(scratch.folder / SPILL, len(context.areas), keys)
    for part in runner.map(area_block, read_windows(scratch, keys), context):
        spill.add(part)
    return spill


# --- pass 2: blocks of areas ------------------------------------------------------------------

@dataclass(frozen=True)
class Gathered:
    """The cells some area of a block covers, with their values (by scratch key), and the
    coverage table over them: `table.cell` indexes `cells` (sorted flattened grid indices), so
    the functions of `pipelines.areas` and `pipelines.sensitivity` work on these arrays as on
    whole-grid ones."""

    cells: np.ndarray
    table: CoverageTable
    values: dict[str, np.ndarray]

    def scores(self) -> dict[str, np.ndarray]:
        """Every score, by output name."""
        return {name: self.values[score_key(name)] for name in OUTPUTS}

    def indicators(self, config: RegionConfig) -> dict[str, np.ndarray]:
        """Every indicator, by name."""
        return {name: self.values[indicator_key(name)] for name in config.indicators}


def area_blocks(entries: np.ndarray, budget: int = BLOCK_ENTRIES) -> list[tuple[int, int]]:
    """Consecutive areas, (first, stop), holding at most `budget` (area, cell) pairs each; an
    area with more is a block alone."""
    blocks: list[tuple[int, int]] = []
    first, total = 0, 0
    for area, count in enumerate(entries.tolist()):
        if area > first and total + count > budget:
            blocks.append((first, area))
            first, total = area, 0
        total += count
    if len(entries):
        blocks.append((first, len(entries)))
    return blocks


@dataclass(frozen=True)
class ScoredAreas:
    """What the area stage gives the run: the scored areas (ranked) and each area's
    representative cells for the sensitivity audit (`cells`: flattened grid indices)."""

    areas: gpd.GeoDataFrame
    representatives: sensitivity.Representatives


def score_block(gathered: Gathered, frame: gpd.GeoDataFrame, config: RegionConfig
                ) -> tuple[gpd.GeoDataFrame, sensitivity.Representatives]:
    """One block of areas: its statistics and its representatives (grid cell indices; 0 in
    padding)."""
    scores = gathered.scores()
    statistics = area_stats.area_statistics(frame, gathered.table, scores,
                                            gathered.indicators(config), config)
    reps = sensitivity.representatives(
        gathered.table, scores["risk"].astype("float64"), scores["exposure"].astype("float64"),
        config.sensitivity.cells_per_area)
    grid_cells = gathered.cells[reps.cells] if len(gathered.cells) else reps.cells
    return statistics, replace(reps, cells=np.where(reps.present, grid_cells, 0))


def score_area_blocks(runner: Runner, context: Context, scratch: Scratch,
                      frame: gpd.GeoDataFrame, budget: int = BLOCK_ENTRIES) -> ScoredAreas:
    """Score every area of `frame` (the areas of `context`, same order) block by block."""
    spill = spill_coverage(runner, context, scratch)
    by_cell = len(windows(context.grid)) > 1
    parts, reps = [], []
    for first, stop in area_blocks(spill.entries(), budget):
        gathered = spill.read(first, stop, by_cell=by_cell)
        statistics, block_reps = score_block(gathered, frame.iloc[first:stop], context.config)
        parts.append(statistics)
        reps.append(block_reps)
        del gathered
    # infer_objects: a block whose column holds only None must not make a column of names
    # `object` (its dtype is that of the whole table: str).
    scored = (gpd.GeoDataFrame(pd.concat(parts).infer_objects(), crs=frame.crs)
              if len(parts) > 1 else parts[0])
    return ScoredAreas(area_stats.rank_areas(scored), sensitivity.stack_representatives(reps))


# --- the audit's cells ------------------------------------------------------------------------

def sensitivity_block(item: tuple[Window, dict[str, np.ndarray]], context: Context
                      ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The values at the sensitivity audit's cells in one window: (positions among
    `context.cells`, values by scratch key)."""
    window, layers = item
    assert context.cells is not None
    grid = context.grid
    rows, cols = np.divmod(context.cells, grid.width)
    inside = ((rows >= window.row) & (rows < window.row + window.height)
              & (cols >= window.col) & (cols < window.col + window.width))
    positions = np.flatnonzero(inside)
    local = (rows[inside] - window.row, cols[inside] - window.col)
    return positions, {name: layer[local] for name, layer in layers.items()}


def audit_layer_names(config: RegionConfig) -> list[str]:
    """The inputs and surfaces the sensitivity audit reads at its cells."""
    names = {s.source for s in config.indicators.values() if s.levels is None}
    names.update(config.surfaces)
    return sorted(n for n in names if n in config.surfaces
                  or (n in config.inputs and config.inputs[n].kind == "raster"))


def audit_indicator_names(config: RegionConfig) -> list[str]:
    """The indicators the sensitivity audit takes as they are (those of hazard levels)."""
    return [name for name, spec in config.indicators.items() if spec.levels is not None]


def values_at(runner: Runner, context: Context, scratch: Scratch, cells: np.ndarray,
              keys: list[str]) -> dict[str, np.ndarray]:
    """The scratch layers `keys` at `cells` (sorted flattened grid indices), window by
    window."""
    out = {key: np.full(len(cells), np.nan, "float32") for key in keys}
    at = replace(context, cells=cells)
    for positions, values in runner.map(sensitivity_block, read_windows(scratch, keys), at):
        for key, picked in values.items():
            if out[key].dtype != picked.dtype:
                out[key] = out[key].astype(picked.dtype)
            out[key][positions] = picked
    return out


@dataclass(frozen=True)
class AuditValues:
    """What the sensitivity audit reads at its cells: inputs and surfaces, and the indicators
    it does not vary, by name."""

    layers: dict[str, np.ndarray]
    indicators: dict[str, np.ndarray]


def audit_values(runner: Runner, context: Context, scratch: Scratch, cells: np.ndarray
                 ) -> AuditValues:
    """The audit's layers and fixed indicators at `cells`, in one pass over the windows."""
    config = context.config
    layers = {layer_key(n): n for n in audit_layer_names(config)}
    fixed = {indicator_key(n): n for n in audit_indicator_names(config)}
    values = values_at(runner, context, scratch, cells, [*layers, *fixed])
    return AuditValues({name: values[key] for key, name in layers.items()},
                       {name: values[key] for key, name in fixed.items()})


__all__ = ["AreaSpill", "AuditValues", "Gathered", "ScoredAreas", "area_blocks",
           "area_context", "audit_values", "score_area_blocks", "spill_coverage", "values_at"]
