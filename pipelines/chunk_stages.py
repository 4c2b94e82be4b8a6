"""The stages of a run, window by window (see `pipelines.chunks` for the machinery).

Each stage is a `*_block` function computing one window (run by a worker thread, or by a
dask.distributed worker: it gets the window's arrays and the run's `Context`, never a file of
the run) and a driver that feeds it the windows and writes its results into the scratch files
in window order. The names of the scratch layers: `layer-<input or surface>`,
`ind-<indicator>`, `score-<output>` and `risk_class`.

The area stages, which read these scratch layers window by window and then score the areas
block by block, are `pipelines.chunk_areas`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

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
from pipelines.score import CLASS_NODATA, classify_cells, score_cells
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


def read_windows(scratch: Scratch, names: list[str], rename: Any = None
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
    items = read_windows(scratch, list(rename), rename)
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
    items = read_windows(scratch, list(rename), rename)

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


__all__ = ["Context", "align", "indicators", "read_windows", "score", "surfaces",
           "write_rasters"]

