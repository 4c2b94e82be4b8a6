"""The orchestrator: one `run(config, data_dir)` call from inputs to a served run.

A run is written completely under the region's `runs/<run_id>/`; `run.json` is written last
and marks it complete; the outputs are validated; only then does the region's `current` move
(one atomic symlink switch). A killed run leaves a folder without `run.json` that is never
served and is removed by the next run. The jobs are elsewhere: reading inputs
(`pipelines.inputs`), surfaces (`pipelines.surfaces`), scoring (`pipelines.score_grid`), areas
(`pipelines.areas`), the sensitivity audit (`pipelines.sensitivity`), writing and validating
(`pipelines.publish`), the run store (`data_catalog.runs`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from data_catalog.paths import DataDir, switch_symlink
from data_catalog.runs import (
    RUN_MANIFEST,
    clean_partial_runs,
    complete_runs,
    new_run_id,
    prune_runs,
    write_manifest,
)
from data_catalog.stac import write_catalog
from pipelines import admin_units, hazard_levels, pressure, sensitivity
from pipelines import area_record as col
from pipelines import areas as area_stats
from pipelines.align import align_to_grid
from pipelines.config import RegionConfig
from pipelines.disclosure_audit import audit_flow_layers
from pipelines.grid import Grid
from pipelines.indicators import build_indicator, check_indicators
from pipelines.inputs import (
    check_inputs,
    input_versions,
    provenance,
    read_input,
    read_vectors,
)
from pipelines.outputs import published_layers
from pipelines.publish import (
    layer_items,
    lonlat_bbox,
    validate_run,
    write_rasters,
    write_vectors,
)
from pipelines.score import classify_cells
from pipelines.score_grid import score_grid
from pipelines.surfaces import compute_surface

__all__ = ["CHECKPOINTS", "RUN_MANIFEST", "STAGES", "RunResult", "StageHook", "complete_runs",
           "run", "validate_run"]

STAGES = ("inputs", "align", "surfaces", "indicators", "score", "write", "areas",
          "sensitivity", "catalog", "validate", "manifest", "switch")
"""Stages in order, as reported to progress hooks and timed in run.json.

`manifest` writes `run.json` (the run is complete from its end on); `switch` moves `current`
and prunes old runs. A run stopped before `switch` ends leaves `current` where it was; one
stopped after it serves the new run. Fault tests stop runs at these boundaries.
"""

StageHook = Callable[[str, str], None]
"""Called as hook(stage, "start"|"end")."""

CHECKPOINTS = tuple(f"{stage}:{event}" for stage in STAGES for event in ("start", "end"))
"""Every boundary a progress hook sees, as "stage:event" (e.g. "manifest:end")."""


@dataclass
class RunResult:
    """What a finished run produced."""

    run_id: str
    folder: Path
    timings_s: dict[str, float]
    summary: dict[str, Any]
    areas: gpd.GeoDataFrame = field(repr=False)


class _Timer:
    def __init__(self, hook: StageHook | None) -> None:
        self.hook = hook
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.hook:
            self.hook(name, "start")
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 4)
        if self.hook:
            self.hook(name, "end")


def run(config: RegionConfig, data: DataDir, *, scale: int = 1,
        hook: StageHook | None = None, now: datetime | None = None,
        switch: bool = True, publish: Callable[[Path], None] | None = None) -> RunResult:
    """Run the pipeline for one region and make it the region's current run.

    Args:
        config: the region file.
        data: the data dir (the region's inputs read, its run written, as `DataDir.region`
            lays them out).
        scale: multiply the grid's cell count by this (benchmarks).
        hook: progress callback, called at the start and end of each stage in `STAGES`.
        now: the run's time (UTC); defaults to the clock.
        switch: move `current` to the new run when it validates.
        publish: called with the complete run folder just before `current` moves (e.g. to
            load its vectors into PostGIS); if it raises, the run fails and nothing moves.

    Raises:
        PipelineError: a missing input, an invalid config or outputs that fail validation;
        nothing is switched then.
    """
    now = now or datetime.now(UTC)
    timer = _Timer(hook)
    region = data.region(config.id)
    check_inputs(config, region.inputs)  # a missing input fails before anything is written
    data.ensure()
    region.ensure()
    clean_partial_runs(region)
    run_id = new_run_id(now)
    folder = region.runs / run_id
    folder.mkdir(parents=True)
    grid = Grid.from_spec(config.grid, scale)

    try:
        return _run_in(folder, run_id, config, data, grid, scale, timer, now, switch, publish)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves nothing behind
        raise


def _run_in(folder: Path, run_id: str, config: RegionConfig, data: DataDir, grid: Grid,
            scale: int, timer: _Timer, now: datetime, switch: bool,
            publish: Callable[[Path], None] | None) -> RunResult:
    """The stages of `run`, writing into `folder`."""
    region = data.region(config.id)
    layers_out = published_layers(config)
    with timer.stage("inputs"):
        records = provenance(config, region.inputs, data)
        paths = check_inputs(config, region.inputs)
        vectors = read_vectors(config, paths, grid.crs, records)

    with timer.stage("align"):
        layers: dict[str, np.ndarray] = {}
        for name, spec in config.inputs.items():
            if spec.kind == "raster":
                aligned = read_input(name, paths[name], partial(
                    align_to_grid, grid=grid, resampling=spec.resampling))
                layers[name] = np.asarray(aligned.values)

    with timer.stage("surfaces"):
        for name, surface in config.surfaces.items():
            frames = {role: vectors[source] for role, source in surface.inputs.items()}
            layers[name] = compute_surface(surface.function, grid, frames, surface.parameters)

    with timer.stage("indicators"):
        indicators = {name: build_indicator(spec, layers)
                      for name, spec in config.indicators.items()}
        land = ~np.isnan(layers[config.land_input()])
        for values in indicators.values():
            values[~land] = np.nan
        constant = check_indicators(indicators, config)  # fails unless constant_ok

    with timer.stage("score"):
        scores = score_grid(indicators, config, grid)
        risk_class = classify_cells(scores["risk"], scores["exposure"], config.class_breaks())

    synthetic = any(r.synthetic for r in records.values())
    with timer.stage("write"):
        written = write_rasters(folder, grid, layers_out, scores, risk_class, indicators, config,
                                synthetic)

    with timer.stage("areas"):
        area_frame = area_stats.area_sets(config, vectors)
        table = area_stats.coverage_table(area_frame, grid)
        flat = {name: values.ravel() for name, values in indicators.items()}
        scored_areas = area_stats.score_areas(area_frame, table, scores, flat, config)
        scored_areas = hazard_levels.apply_levels(scored_areas, config, paths)
        scored_areas = admin_units.roll_up_levels(scored_areas, config)
        scored_areas = pressure.apply_pressure(scored_areas, vectors, config)

    with timer.stage("sensitivity"):
        reps = sensitivity.representatives(
            table, scores["risk"].ravel().astype("float64"),
            scores["exposure"].ravel().astype("float64"), config.sensitivity.cells_per_area)
        variants = sensitivity.surface_variants(config, grid, vectors, layers,
                                                sensitivity.audit_cells(reps))
        intervals = sensitivity.audit(
            config, table, scored_areas["kind"].to_numpy(), layers, flat,
            {name: values.ravel() for name, values in scores.items()},
            variants=variants, reps=reps, ranked=scored_areas[col.RANK].notna().to_numpy(),
            combine_pressure=pressure.pressure_combiner(scored_areas, config))
        scored_areas = pd.concat([scored_areas.reset_index(drop=True), intervals], axis=1)
        scored_areas["run_id"] = run_id
        scored_areas["as_of"] = now.isoformat()

    with timer.stage("catalog"):
        written.update(write_vectors(folder, layers_out, scored_areas, vectors, config))
        items = layer_items(written, grid, now, run_id, records, config)
        write_catalog(folder, f"cmrisk-run-{run_id}",
                      f"cmrisk run {run_id} of region {config.id}", items)

    with timer.stage("validate"):
        validate_run(folder, written)
        audit_flow_layers(config, written, paths)  # a table that can be attacked is not served

    summary = area_stats.summary(scored_areas, {n: r.synthetic for n, r in records.items()},
                                 config.id)
    with timer.stage("manifest"):
        write_manifest(folder, {
            "run_id": run_id, "region": config.id, "created": now.isoformat(), "scale": scale,
            "grid": {"crs": grid.crs.to_string(), "resolution_m": grid.resolution,
                     "width": grid.width, "height": grid.height,
                     "bounds_lonlat": list(lonlat_bbox(grid))},
            "config": config.model_dump(mode="json", by_alias=True),
            "weights": config.weights, "inputs": [r.as_dict() for r in records.values()],
            "input_versions": input_versions(records),
            "synthetic": synthetic, "timings_s": timer.timings, "summary": summary,
            "constant_indicators": constant,
            "layers": sorted(written),
        })
    with timer.stage("switch"):
        if switch:
            if publish is not None:
                publish(folder)
            switch_symlink(region.current, folder)
            prune_runs(region, config.runs_kept)
    return RunResult(run_id, folder, timer.timings, summary, scored_areas)
