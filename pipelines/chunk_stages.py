"""The stages of a run, window by window (see `pipelines.chunks` for the machinery).

Each stage is a `*_block` function computing one window (run by a worker thread, or by a
dask.distributed worker: it gets the window's arrays and the run's `Context`, never a file of
the run) and a driver that feeds it the windows and writes its results into the scratch files
in window order. The names of the scratch layers: `layer-<input or surface>`,
`ind-<indicator>`, `score-<output>` and `risk_class`.

The area stages do not rescore the grid: each window gives the coverage of its cells by the
areas and the scores and indicators of the cells some area covers (`area_block`); the run's
own process gathers them into a `Gathered` table of those cells only, on which
`pipelines.areas.score_areas` and `pipelines.sensitivity` compute exactly what they compute
on whole-grid arrays (same cells, same order). The sensitivity audit then reads the raster
inputs and surfaces at its few representative cells, window by window (`sensitivity_block`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from pipelines.areas import CoverageTable, coverage_table
from pipelines.chunks import (
    Runner,
    Scratch,
    Window,
    halo_cells,
    halo_window_edge,
    read_aligned,
    window_grid,
    windows,
    write_cog_from,
)
from pipelines.config import RegionConfig
from pipelines.grid import Grid
from pipelines.indicators import ValueRange, build_indicator, check_indicator_ranges
from pipelines.inputs import read_input
from pipelines.outputs import OutputLayer
from pipelines.publish import Written, raster_tags
from pipelines.score import CLASS_NODATA, OUTPUTS, classify_cells, score_cells
from pipelines.surfaces import compute_surface, surface_halo_m

CLASS_LAYER = "risk_class"


def layer_key(name: str) -> str:
    """Scratch name of an aligned input or a surface."""
    return f"layer-{name}"


def indicator_key(name: str) -> str:
    """Scratch name of an indicator."""
    return f"ind-{name}"


def score_key(name: str) -> str:
    """Scratch name of a score."""
    return f"score-{name}"


@dataclass(frozen=True)
class Context:
    """What every window of a run needs, sent once to each worker."""

    config: RegionConfig
    grid: Grid
    paths: Mapping[str, Path]
    vectors: Mapping[str, gpd.GeoDataFrame]
    areas: gpd.GeoDataFrame | None = None
    """The areas of every area set in the grid's CRS (areas and sensitivity stages)."""
    cells: np.ndarray | None = None
    """Flattened grid indices (sorted) the sensitivity stage reads layers at."""


# --- one window each (run on workers) ---------------------------------------------------------

def align_block(window: Window, context: Context) -> dict[str, np.ndarray]:
    """Every raster input warped onto one window of the grid; a file that cannot be read fails
    the run naming the input (`UnreadableInput`)."""
    return {name: read_input(name, context.paths[name], partial(
                read_aligned, grid=context.grid, window=window, resampling=spec.resampling))
            for name, spec in context.config.inputs.items() if spec.kind == "raster"}


def surface_halo(context: Context, name: str) -> int:
    """How many cells surface `name` reaches beyond a cell (0 for most; 3 sigma + 1 for a
    Gaussian kernel)."""
    surface = context.config.surfaces[name]
    halo = halo_cells(context.grid, surface_halo_m(surface.function, surface.parameters))
    return halo + 1 if halo else 0


def surface_items(context: Context) -> list[tuple[str, Window]]:
    """(surface, window) pairs: every surface over windows of its own edge (wider for a
    kernel of many cells, `pipelines.chunks.halo_window_edge`)."""
    return [(name, window) for name in context.config.surfaces
            for window in windows(context.grid,
                                  halo_window_edge(context.grid, surface_halo(context, name)))]


def surface_block(item: tuple[str, Window], context: Context) -> np.ndarray:
    """One surface over one window: computed on the window grown by the surface's halo
    (clipped to the grid), then cropped."""
    name, window = item
    surface = context.config.surfaces[name]
    frames = {role: context.vectors[source] for role, source in surface.inputs.items()}
    grown = window.grown(surface_halo(context, name), context.grid)
    values = compute_surface(surface.function, window_grid(context.grid, grown), frames,
                             surface.parameters)
    return np.ascontiguousarray(values[window.within(grown)])


def indicator_block(item: tuple[Window, dict[str, np.ndarray]], context: Context
                    ) -> dict[str, np.ndarray]:
    """Every indicator over one window from its layers; NaN off land."""
    _, layers = item
    config = context.config
    land = ~np.isnan(layers[config.land_input()])
    out = {}
    for name, spec in config.indicators.items():
        values = build_indicator(spec, layers)
        values[~land] = np.nan
        out[name] = values
    return out


def score_block(item: tuple[Window, dict[str, np.ndarray]], context: Context
                ) -> dict[str, np.ndarray]:
    """Every score and the class raster (not exposed included) over one window."""
    _, indicators = item
    scores = score_cells(indicators, context.config)
    scores[CLASS_LAYER] = classify_cells(scores["risk"], scores["exposure"],
                                         context.config.class_breaks())
    return scores


@dataclass(frozen=True)
class AreaWindow:
    """What one window gives the area stages.

    Attributes:
        area, cell, coverage: the (area, cell) pairs of the window's coverage table, `cell`
            as flattened index of the whole grid.
        cells: the window's cells some area covers (flattened grid index, sorted; the grid's
            first cell is always among them: padding of `sensitivity.Representatives`).
        values: scores and indicators (scratch names) at `cells`.
    """

    area: np.ndarray
    cell: np.ndarray
    coverage: np.ndarray
    cells: np.ndarray
    values: dict[str, np.ndarray]


def _global_cells(window: Window, grid: Grid, local: np.ndarray) -> np.ndarray:
    rows, cols = np.divmod(local, window.width)
    return (rows + window.row) * grid.width + cols + window.col


def area_block(item: tuple[Window, dict[str, np.ndarray]], context: Context) -> AreaWindow:
    """One window's coverage by the areas, and its covered cells' scores and indicators."""
    window, values = item
    assert context.areas is not None
    table = coverage_table(context.areas, window_grid(context.grid, window))
    local = np.unique(table.cell)
    if window.row == 0 and window.col == 0 and (not len(local) or local[0] != 0):
        local = np.concatenate([[0], local]).astype("int64")
    return AreaWindow(
        table.area, _global_cells(window, context.grid, table.cell), table.coverage,
        _global_cells(window, context.grid, local),
        {key: layer.ravel()[local] for key, layer in values.items()})


def sensitivity_block(item: tuple[Window, dict[str, np.ndarray]], context: Context
                      ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The layers at the sensitivity audit's cells in one window: (positions among
    `context.cells`, values by layer name)."""
    window, layers = item
    assert context.cells is not None
    grid = context.grid
    rows, cols = np.divmod(context.cells, grid.width)
    inside = ((rows >= window.row) & (rows < window.row + window.height)
              & (cols >= window.col) & (cols < window.col + window.width))
    positions = np.flatnonzero(inside)
    local = (rows[inside] - window.row, cols[inside] - window.col)
    return positions, {name: layer[local] for name, layer in layers.items()}


# --- drivers (the run's own process) ----------------------------------------------------------

def _write_all(scratch: Scratch, keyed: Iterator[tuple[Window, dict[str, np.ndarray]]],
               key: Any) -> None:
    for window, results in keyed:
        for name, values in results.items():
            scratch.write(key(name), window, values,
                          nodata=CLASS_NODATA if name == CLASS_LAYER else None)
    scratch.close()


def _with_windows(grid: Grid, results: Iterator[Any]) -> Iterator[tuple[Window, Any]]:
    return zip(windows(grid), results, strict=True)


def _reading(scratch: Scratch, names: list[str], rename: Any = None
             ) -> Iterator[tuple[Window, dict[str, np.ndarray]]]:
    """Windows with the scratch layers `names` read (lazily: one window at a time)."""
    for window in windows(scratch.grid):
        values = scratch.read_many(names, window)
        if rename is not None:
            values = {rename[key]: array for key, array in values.items()}
        yield window, values


def align(runner: Runner, context: Context, scratch: Scratch) -> None:
    """Align every raster input, window by window."""
    grid = context.grid
    _write_all(scratch, _with_windows(grid, runner.map(align_block, windows(grid), context)),
               layer_key)


def surfaces(runner: Runner, context: Context, scratch: Scratch) -> None:
    """Compute every surface, window by window (one surface per task: a kernel's windows
    are wide, so fewer of them are in flight)."""
    items = surface_items(context)
    results = runner.map(surface_block, items, context, ahead=runner.workers + 1)
    for (name, window), values in zip(items, results, strict=True):
        scratch.write(layer_key(name), window, values)
    scratch.close()


def indicator_inputs(config: RegionConfig) -> list[str]:
    """The inputs and surfaces the indicators read (and the land input)."""
    needed = {config.land_input()}
    for spec in config.indicators.values():
        if spec.levels is not None:
            needed.update(spec.levels.inputs[rp] for rp in spec.levels.scores)
        else:
            needed.add(spec.source)
    return sorted(needed)


def indicators(runner: Runner, context: Context, scratch: Scratch) -> dict[str, str]:
    """Build every indicator, window by window, and check none is degenerate
    (`pipelines.indicators.check_indicators`, from each indicator's range over the windows).

    Returns:
        The degenerate indicators marked `constant_ok`, with what is wrong.
    """
    names = indicator_inputs(context.config)
    rename = {layer_key(n): n for n in names}
    items = _reading(scratch, list(rename), rename)
    ranges = {name: ValueRange() for name in context.config.indicators}

    def measured(results: Iterator[dict[str, np.ndarray]]) -> Iterator[dict[str, np.ndarray]]:
        for values in results:
            for name, array in values.items():
                ranges[name].add(array)
            yield values

    _write_all(scratch, _with_windows(context.grid, measured(
        runner.map(indicator_block, items, context))), indicator_key)
    return check_indicator_ranges(ranges, context.config)


def score(runner: Runner, context: Context, scratch: Scratch) -> None:
    """Score every window, and classify its risk."""
    names = list(context.config.indicators)
    rename = {indicator_key(n): n for n in names}
    items = _reading(scratch, list(rename), rename)

    def key(name: str) -> str:
        return CLASS_LAYER if name == CLASS_LAYER else score_key(name)

    _write_all(scratch, _with_windows(context.grid, runner.map(score_block, items, context)), key)


def write_rasters(folder: Path, scratch: Scratch, layers: list[OutputLayer],
                  config: RegionConfig, synthetic: bool) -> Written:
    """Every raster layer as a display-ready COG, copied (streamed) from its scratch file,
    with the tags of `pipelines.publish.write_rasters`."""
    import rasterio

    written: Written = {}
    for layer in layers:
        if layer.kind != "raster":
            continue
        if layer.source_kind == "classes":
            source, resampling = scratch.path(CLASS_LAYER), "nearest"
        elif layer.source_kind == "score":
            source, resampling = scratch.path(score_key(layer.source)), "average"
        else:
            source, resampling = scratch.path(indicator_key(layer.source)), "average"
        with rasterio.open(source, "r+") as dst:
            dst.update_tags(**raster_tags(layer, layers, config, synthetic))
        path = folder / f"{layer.id}.tif"
        write_cog_from(source, path, resampling=resampling)
        written[layer.id] = (layer, path)
    return written


@dataclass(frozen=True)
class Gathered:
    """The cells some area covers, with their scores and indicators, and the coverage table
    over them: `table.cell` indexes `cells` (sorted flattened grid indices), so the functions
    of `pipelines.areas` and `pipelines.sensitivity` work on these arrays as on whole-grid
    ones."""

    cells: np.ndarray
    table: CoverageTable
    scores: dict[str, np.ndarray]
    indicators: dict[str, np.ndarray]


def gather_areas(runner: Runner, context: Context, scratch: Scratch) -> Gathered:
    """The coverage table and covered cells' values, gathered window by window (in window
    order), then put in the order of a whole-grid table (by area, then cell)."""
    assert context.areas is not None
    config = context.config
    keys = [score_key(n) for n in OUTPUTS] + [indicator_key(n) for n in config.indicators]
    # Each window's arrays are kept by name (not as windows), so that each name's pieces can
    # be let go as soon as they are joined: the peak is the gathered arrays plus one name's.
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in
                                           ["area", "cell", "coverage", "cells", *keys]}
    n_windows = 0
    for part in runner.map(area_block, _reading(scratch, keys), context):
        n_windows += 1
        for name, array in (("area", part.area), ("cell", part.cell),
                            ("coverage", part.coverage), ("cells", part.cells),
                            *part.values.items()):
            pieces[name].append(array)

    def joined(name: str, dtype: str | None = None) -> np.ndarray:
        arrays = pieces.pop(name)
        out = np.concatenate(arrays) if arrays else np.empty(0, dtype or "float64")
        arrays.clear()
        return out.astype(dtype, copy=False) if dtype else out

    area, cell = joined("area", "int64"), joined("cell", "int64")
    coverage = joined("coverage", "float64")
    cells = joined("cells", "int64")
    order = np.argsort(cells, kind="stable")
    cells = cells[order]
    values = {key: joined(key)[order] for key in keys}
    if n_windows > 1:  # one window: already in exactextract's order
        by_area = np.lexsort((cell, area))
        area, cell, coverage = area[by_area], cell[by_area], coverage[by_area]
    table = CoverageTable(area, np.searchsorted(cells, cell), coverage, len(context.areas))
    return Gathered(cells, table, {n: values[score_key(n)] for n in OUTPUTS},
                    {n: values[indicator_key(n)] for n in config.indicators})


def audit_layer_names(config: RegionConfig) -> list[str]:
    """The inputs and surfaces the sensitivity audit reads at its cells."""
    names = {s.source for s in config.indicators.values() if s.levels is None}
    names.update(config.surfaces)
    return sorted(n for n in names if n in config.surfaces
                  or (n in config.inputs and config.inputs[n].kind == "raster"))


def layers_at(runner: Runner, context: Context, scratch: Scratch, cells: np.ndarray
              ) -> dict[str, np.ndarray]:
    """The audit's layers at `cells` (sorted flattened grid indices), window by window."""
    names = audit_layer_names(context.config)
    out = {name: np.full(len(cells), np.nan, "float32") for name in names}
    rename = {layer_key(n): n for n in names}
    at = replace(context, cells=cells)
    for positions, values in runner.map(sensitivity_block,
                                        _reading(scratch, list(rename), rename), at):
        for name, picked in values.items():
            if out[name].dtype != picked.dtype:
                out[name] = out[name].astype(picked.dtype)
            out[name][positions] = picked
    return out


def area_context(context: Context, frame: gpd.GeoDataFrame) -> Context:
    """The context of the area stages: the areas in the grid's CRS."""
    projected = frame[["geometry"]].to_crs(context.grid.crs).reset_index(drop=True)
    return replace(context, areas=gpd.GeoDataFrame(projected, crs=context.grid.crs))


__all__ = ["Context", "Gathered", "align", "area_context", "gather_areas", "indicators",
           "layers_at", "score", "surfaces", "write_rasters"]

